"""Put an engine together from the settings: the handler, the CLI and the demo all use this."""

from __future__ import annotations

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from phiguard.core.aws import Clients
from phiguard.core.brake import Brake
from phiguard.core.control import Context, all_controls
from phiguard.core.engine import Engine
from phiguard.core.evidence import DynamoEvidence, Evidence, NoEvidence
from phiguard.core.settings import Settings
from phiguard.core.sweep import Sweep, Walker
from phiguard.notify.sns import SnsPublisher


def evidence_store(settings: Settings, clients: Clients) -> Evidence:
    if not settings.evidence_table:
        return NoEvidence()
    return DynamoEvidence(clients, settings.evidence_table, settings.evidence_retention_days)


def build_engine(settings: Settings, clients: Clients | None = None) -> Engine:
    clients = clients or Clients()
    state = settings.state_table
    return Engine(
        Context(settings, clients),
        SnsPublisher(clients, settings.topic_arn),
        evidence=evidence_store(settings, clients),
        brake=Brake(clients, state, settings.brake_max_fixes, settings.brake_window_seconds) if state else None,
        idempotency=DynamoDBPersistenceLayer(table_name=state) if state else None,
    )


def build_sweep(engine: Engine, account_id: str, region: str) -> Sweep:
    """The scheduled sweep over the settings' regions (the function's own region when none are set)."""
    settings = engine.context.settings
    walker = Walker(
        engine.context.clients,
        account_id,
        settings.sweep_regions or (region,),
        all_controls(),
        settings.sweep_concurrency,
    )
    return Sweep(engine, walker, settings.sweep_margin_seconds)
