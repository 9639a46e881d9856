"""The blast-radius brake: more fixes per account in a window than a normal day makes -> notify-only.

One counter item per account and window in the state table, incremented atomically before each fix.
The fix that would exceed the limit is held, the first hold of a window sends one critical alert,
and the next window starts counting afresh: the brake releases by itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from aws_lambda_powertools import Logger

from phiguard.core.aws import Clients

logger = Logger()


@dataclass(frozen=True)
class BrakeDecision:
    allowed: bool
    just_engaged: bool  # this is the first hold of the window: alert once
    count: int
    limit: int
    window_end: datetime


class Brake:
    def __init__(
        self,
        clients: Clients,
        table: str | None,
        limit: int,
        window_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.clients = clients
        self.table = table
        self.limit = limit
        self.window_seconds = window_seconds
        self.clock = clock

    def reserve(self, account_id: str) -> BrakeDecision:
        """Count one fix against the account's window; refuse it when the window is full."""
        now = self.clock()
        start = int(now // self.window_seconds) * self.window_seconds
        end = datetime.fromtimestamp(start + self.window_seconds, UTC)
        if not self.table:
            return BrakeDecision(True, False, 0, self.limit, end)
        key = {"id": {"S": f"phiguard-brake#{account_id}#{start}"}}
        expiration = {":exp": {"N": str(start + 2 * self.window_seconds)}}
        dynamodb = self.clients.dynamodb()
        try:
            response = dynamodb.update_item(
                TableName=self.table,
                Key=key,
                UpdateExpression="ADD fixes :one SET expiration = :exp",
                ConditionExpression="attribute_not_exists(fixes) OR fixes < :limit",
                ExpressionAttributeValues={":one": {"N": "1"}, ":limit": {"N": str(self.limit)}, **expiration},
                ReturnValues="UPDATED_NEW",
            )
            return BrakeDecision(True, False, int(response["Attributes"]["fixes"]["N"]), self.limit, end)
        except dynamodb.exceptions.ConditionalCheckFailedException:
            pass
        try:
            dynamodb.update_item(
                TableName=self.table,
                Key=key,
                UpdateExpression="SET alerted = :yes",
                ConditionExpression="attribute_not_exists(alerted)",
                ExpressionAttributeValues={":yes": {"BOOL": True}},
            )
            just_engaged = True
        except dynamodb.exceptions.ConditionalCheckFailedException:
            just_engaged = False
        logger.warning(
            "blast-radius brake engaged: fix held", account_id=account_id, limit=self.limit, window_end=end.isoformat()
        )
        return BrakeDecision(False, just_engaged, self.limit, self.limit, end)

    def release(self, account_id: str) -> None:
        """Give back a reservation whose fix failed (best effort: a lost release only tightens the brake)."""
        if not self.table:
            return
        start = int(self.clock() // self.window_seconds) * self.window_seconds
        try:
            self.clients.dynamodb().update_item(
                TableName=self.table,
                Key={"id": {"S": f"phiguard-brake#{account_id}#{start}"}},
                UpdateExpression="ADD fixes :minus_one",
                ConditionExpression="fixes > :zero",
                ExpressionAttributeValues={":minus_one": {"N": "-1"}, ":zero": {"N": "0"}},
            )
        except Exception:  # noqa: BLE001 - best effort, logged
            logger.warning("brake reservation not released", account_id=account_id)
