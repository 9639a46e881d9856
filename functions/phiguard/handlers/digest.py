"""Lambda entry point for the digest queue: a de-duplication window has closed, tell what it counted.

Each SQS message was sent, delayed by the window, when the window's first message was published
(phiguard.notify.dedup). A record that fails is reported back alone (ReportBatchItemFailures), so SQS retries
it and, after its retries, keeps it on the digest dead-letter queue.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from phiguard.core.settings import Settings
from phiguard.core.wiring import build_digester
from phiguard.notify.dedup import Digester

logger = Logger()
tracer = Tracer(patch_modules=["boto3", "botocore"])  # PHI Guard makes no other calls to trace
metrics = Metrics()
processor = BatchProcessor(event_type=EventType.SQS)


@cache
def digester() -> Digester:
    return build_digester(Settings.from_env())


def record_handler(record: SQSRecord) -> None:
    digester()(json.loads(record.body))


@metrics.log_metrics
@logger.inject_lambda_context
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> PartialItemFailureResponse:
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
