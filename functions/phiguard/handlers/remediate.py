"""Lambda entry point for CloudTrail API-call events routed by EventBridge."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from phiguard.core.aws import Clients
from phiguard.core.control import Context
from phiguard.core.engine import Engine
from phiguard.core.settings import Settings
from phiguard.notify.sns import SnsPublisher

logger = Logger()
tracer = Tracer()
metrics = Metrics()


@cache
def engine() -> Engine:
    settings = Settings.from_env()
    clients = Clients()
    return Engine(Context(settings, clients), SnsPublisher(clients, settings.topic_arn))


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> list[dict[str, Any]]:
    return [result.to_json() for result in engine().handle_event(event)]
