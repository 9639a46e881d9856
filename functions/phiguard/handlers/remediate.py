"""Lambda entry point for CloudTrail API-call events and AWS Config changes routed by EventBridge."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from phiguard.core.engine import Engine
from phiguard.core.settings import Settings
from phiguard.core.wiring import build_engine

logger = Logger()
tracer = Tracer(patch_modules=["boto3", "botocore"])  # PHI Guard makes no other calls to trace
metrics = Metrics()


@cache
def engine() -> Engine:
    return build_engine(Settings.from_env())


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path=correlation_paths.EVENT_BRIDGE)
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> list[dict[str, Any]]:
    engine().idempotency_config.register_lambda_context(context)
    return [result.to_json() for result in engine().handle_event(event)]
