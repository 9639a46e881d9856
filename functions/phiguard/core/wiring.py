"""Put an engine together from the settings: the handler, the CLI and the demo all use this."""

from __future__ import annotations

from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

from phiguard.core.aws import Clients
from phiguard.core.brake import Brake
from phiguard.core.control import Context, all_controls
from phiguard.core.deliveries import Deliveries
from phiguard.core.engine import EXACTLY_ONCE_SECONDS, Engine, Notifier
from phiguard.core.evidence import DynamoEvidence, Evidence, NoEvidence
from phiguard.core.settings import Settings, SettingsError
from phiguard.core.sweep import Sweep, Walker
from phiguard.notify.dedup import Deduplicating, DedupStore, Digester
from phiguard.notify.sns import SnsPublisher


def evidence_store(settings: Settings, clients: Clients) -> Evidence:
    if not settings.evidence_table:
        return NoEvidence()
    return DynamoEvidence(clients, settings.evidence_table, settings.evidence_retention_days)


def notifier(settings: Settings, clients: Clients) -> Notifier:
    """The topic's publisher; with a state table, a digest queue and a window, one message per burst."""
    publisher = SnsPublisher(clients, settings.topic_arn)
    if not (settings.state_table and settings.digest_queue_url and settings.dedup_window_seconds):
        return publisher
    store = DedupStore(clients, settings.state_table, settings.dedup_window_seconds)
    return Deduplicating(publisher, store, settings.digest_queue_url)


def build_digester(settings: Settings, clients: Clients | None = None) -> Digester:
    """The digest handler's work: the same table and topic as the engine's notifier."""
    clients = clients or Clients()
    if not settings.state_table:
        raise SettingsError("PHIGUARD_STATE_TABLE is not set: the digest handler has no windows to close")
    store = DedupStore(clients, settings.state_table, settings.dedup_window_seconds)
    return Digester(store, SnsPublisher(clients, settings.topic_arn))


def build_engine(settings: Settings, clients: Clients | None = None) -> Engine:
    clients = clients or Clients()
    state = settings.state_table
    return Engine(
        Context(settings, clients),
        notifier(settings, clients),
        evidence=evidence_store(settings, clients),
        brake=Brake(clients, state, settings.brake_max_fixes, settings.brake_window_seconds) if state else None,
        idempotency=DynamoDBPersistenceLayer(table_name=state) if state else None,
        deliveries=Deliveries(clients, state, EXACTLY_ONCE_SECONDS) if state else None,
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
