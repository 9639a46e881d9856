"""Lambda entry point subscribed to the notification topic: every message becomes a Slack message.

A failed delivery raises: Lambda retries the invocation twice, then the on-failure destination (an SQS
queue) keeps the SNS event, so no message is silently dropped. SNS invokes with one record at a time.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger, Metrics, Tracer
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.data_classes import SNSEvent
from aws_lambda_powertools.utilities.typing import LambdaContext

from phiguard.core.settings import Settings, SettingsError
from phiguard.notify import slack

logger = Logger()
# Only the AWS SDK is traced: a patched http.client would put the webhook URL (a secret) in X-Ray.
tracer = Tracer(patch_modules=["boto3", "botocore"])
metrics = Metrics()

TIMEOUT_SECONDS = 10
SECRET_MAX_AGE_SECONDS = 300


@cache
def settings() -> Settings:
    return Settings.from_env()


def webhook_url() -> str:
    """The webhook URL from Secrets Manager (cached by Powertools for five minutes); never logged."""
    arn = settings().slack_webhook_secret_arn
    if not arn:
        raise SettingsError("PHIGUARD_SLACK_WEBHOOK_SECRET_ARN is not set: there is no webhook to post to")
    return slack.webhook_url(parameters.get_secret(arn, max_age=SECRET_MAX_AGE_SECONDS))


@metrics.log_metrics
@logger.inject_lambda_context(correlation_id_path="Records[0].Sns.MessageId")
@tracer.capture_lambda_handler
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, int]:
    records = list(SNSEvent(event).records)
    for record in records:
        message = slack.render(record.sns.message)
        slack.post(webhook_url(), message, TIMEOUT_SECONDS, allow_loopback=settings().allow_loopback_webhook)
        metrics.add_metric(name="SlackMessagesPosted", unit=MetricUnit.Count, value=1)
        logger.info("posted to slack", message_id=record.sns.message_id)
    return {"posted": len(records)}
