"""Deliver events through the embedded EventBridge with the template's own patterns.

Lambda cannot run in moto without Docker, so each rule targets an SQS queue (the inbox); what
arrives there is exactly what EventBridge would have passed to the function.
"""

from __future__ import annotations

import json
import time
from typing import Any

import boto3

from phiguard_local.template import event_rules, load_template


class LocalEventBus:
    def __init__(self, function: str = "RemediationFunction", inbox: str = "phiguard-remediation-inbox") -> None:
        self.events = boto3.client("events")
        self.sqs = boto3.client("sqs")
        self.rules = event_rules(load_template(), function)
        self.queue_url = self.sqs.create_queue(QueueName=inbox)["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        for name, pattern in self.rules.items():
            self.events.put_rule(Name=f"phiguard-{name}", EventPattern=json.dumps(pattern))
            self.events.put_targets(Rule=f"phiguard-{name}", Targets=[{"Id": "inbox", "Arn": queue_arn}])

    def publish(self, event: dict[str, Any]) -> None:
        """Put one event on the bus as AWS services do (source, detail-type, detail)."""
        response = self.events.put_events(
            Entries=[
                {
                    "Source": event["source"],
                    "DetailType": event["detail-type"],
                    "Detail": json.dumps(event["detail"]),
                    "Resources": event.get("resources", []),
                }
            ]
        )
        if response["FailedEntryCount"]:
            raise RuntimeError(f"EventBridge refused the event: {response['Entries']}")

    def drain(self, wait_seconds: float = 1.0) -> list[dict[str, Any]]:
        """Every event the rules routed to the function since the last drain."""
        delivered: list[dict[str, Any]] = []
        deadline = time.monotonic() + wait_seconds
        while True:
            messages = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get(
                "Messages", []
            )
            for message in messages:
                delivered.append(json.loads(message["Body"]))
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
            if not messages and (delivered or time.monotonic() > deadline):
                return delivered
            if not messages:
                time.sleep(0.05)

    def route(self, event: dict[str, Any]) -> list[dict[str, Any]]:
        """Publish one event and return what the function would receive (nothing when no rule matches)."""
        self.publish(event)
        return self.drain()
