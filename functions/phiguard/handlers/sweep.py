"""Lambda entry point for the scheduled sweep (and its own hand-offs when an account takes longer)."""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.typing import LambdaContext

from phiguard.core.engine import Engine
from phiguard.core.settings import Settings
from phiguard.core.sweep import invoke_later
from phiguard.core.wiring import build_engine, build_sweep

logger = Logger()
tracer = Tracer(patch_modules=["boto3", "botocore"])  # PHI Guard makes no other calls to trace
metrics = Metrics()


@cache
def engine() -> Engine:
    return build_engine(Settings.from_env())


@metrics.log_metrics
@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    _, _, _, region, account_id, *_ = context.invoked_function_arn.split(":")
    sweep = build_sweep(engine(), account_id, region)
    seconds_left = lambda: context.get_remaining_time_in_millis() / 1000  # noqa: E731
    return sweep.handle(event, seconds_left, invoke_later(engine().context.clients, context.invoked_function_arn))
