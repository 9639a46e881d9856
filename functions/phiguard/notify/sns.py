"""Publish one SNS message per outcome, with attributes that subscription filters can use."""

from __future__ import annotations

import json

from aws_lambda_powertools import Logger

from phiguard.core.aws import Clients
from phiguard.core.model import Result
from phiguard.notify.render import sns_message, subject

logger = Logger()


class SnsPublisher:
    def __init__(self, clients: Clients, topic_arn: str | None) -> None:
        self.clients = clients
        self.topic_arn = topic_arn

    def __call__(self, result: Result) -> None:
        if not self.topic_arn:
            logger.warning("no topic configured; notification only logged", result=result.to_json())
            return
        region = self.topic_arn.split(":")[3]
        response = self.clients.sns(region).publish(
            TopicArn=self.topic_arn,
            Subject=subject(result),
            Message=sns_message(result),
            MessageStructure="json",
            MessageAttributes={
                "control_id": {"DataType": "String", "StringValue": result.control_id},
                "outcome": {"DataType": "String", "StringValue": str(result.outcome)},
                "resource_type": {"DataType": "String", "StringValue": result.resource.resource_type},
            },
        )
        logger.info(
            "notified",
            control_id=result.control_id,
            outcome=str(result.outcome),
            message_id=response.get("MessageId"),
        )

    def alert(self, subject: str, text: str, severity: str) -> None:
        """An alert about PHI Guard itself (the brake), not about one resource."""
        if not self.topic_arn:
            logger.warning("no topic configured; alert only logged", subject=subject, text=text)
            return
        full = json.dumps({"kind": "alert", "severity": severity, "subject": subject, "text": text})
        self.clients.sns(self.topic_arn.split(":")[3]).publish(
            TopicArn=self.topic_arn,
            Subject=subject[:100],
            Message=json.dumps({"default": text, "email": text, "sqs": full, "lambda": full, "https": full}),
            MessageStructure="json",
            MessageAttributes={
                "control_id": {"DataType": "String", "StringValue": "phiguard"},
                "outcome": {"DataType": "String", "StringValue": "alert"},
                "severity": {"DataType": "String", "StringValue": severity},
            },
        )
        logger.warning("alert sent", subject=subject, severity=severity)
