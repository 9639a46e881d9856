"""Publish one SNS message per outcome, with attributes that subscription filters can use.

Every message carries `severity` (critical, high, medium or low: phiguard.notify.severity), `outcome` and
`control_id`; results also `resource_type`. An e-mail subscription that only wants the urgent ones filters on
them, for example {"severity": ["critical"]}.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from phiguard.core.aws import Clients
from phiguard.core.model import Result, Severity
from phiguard.notify.digest import Digest
from phiguard.notify.render import alert_message, digest_message, digest_subject, fit_subject, sns_message, subject
from phiguard.notify.severity import named, severity_of

if TYPE_CHECKING:
    from mypy_boto3_sns.type_defs import MessageAttributeValueTypeDef

logger = Logger()


class SnsPublisher:
    def __init__(self, clients: Clients, topic_arn: str | None) -> None:
        self.clients = clients
        self.topic_arn = topic_arn

    def __call__(self, result: Result) -> None:
        if not self.topic_arn:
            logger.warning("no topic configured; notification only logged", result=result.to_json())
            return
        severity = severity_of(result)
        response = self._publish(
            self.topic_arn,
            subject(result, severity),
            sns_message(result, severity),
            _attributes(result.control_id, str(result.outcome), severity, result.resource.resource_type),
        )
        logger.info(
            "notified",
            control_id=result.control_id,
            outcome=str(result.outcome),
            severity=str(severity),
            message_id=response.get("MessageId"),
        )

    def alert(self, subject: str, text: str, severity: str) -> None:
        """An alert about PHI Guard itself (the brake), not about one resource."""
        level = named(severity)
        if not self.topic_arn:
            logger.warning("no topic configured; alert only logged", subject=subject, text=text)
            return
        message = alert_message(subject, text, level)
        self._publish(self.topic_arn, fit_subject(subject), message, _attributes("phiguard", "alert", level))
        logger.warning("alert sent", subject=subject, severity=str(level))

    def digest(self, digest: Digest) -> None:
        """The summary of a de-duplication window: how many more results like the first one were merged."""
        first = digest.first
        if not self.topic_arn:
            logger.warning("no topic configured; summary only logged", digest=digest.to_json())
            return
        response = self._publish(
            self.topic_arn,
            digest_subject(digest),
            digest_message(digest),
            _attributes(first.control_id, str(first.outcome), digest.severity, first.resource.resource_type),
        )
        logger.info(
            "summary notified",
            control_id=first.control_id,
            resource_id=first.resource.resource_id,
            count=digest.count,
            message_id=response.get("MessageId"),
        )

    def _publish(
        self, topic_arn: str, subject: str, message: str, attributes: dict[str, MessageAttributeValueTypeDef]
    ) -> dict[str, str]:
        response = self.clients.sns(topic_arn.split(":")[3]).publish(
            TopicArn=topic_arn,
            Subject=subject,
            Message=message,
            MessageStructure="json",
            MessageAttributes=attributes,
        )
        return {"MessageId": str(response.get("MessageId", ""))}


def _attributes(
    control_id: str, outcome: str, severity: Severity, resource_type: str | None = None
) -> dict[str, MessageAttributeValueTypeDef]:
    attributes: dict[str, MessageAttributeValueTypeDef] = {
        "control_id": {"DataType": "String", "StringValue": control_id},
        "outcome": {"DataType": "String", "StringValue": outcome},
        "severity": {"DataType": "String", "StringValue": str(severity)},
    }
    if resource_type:
        attributes["resource_type"] = {"DataType": "String", "StringValue": resource_type}
    return attributes
