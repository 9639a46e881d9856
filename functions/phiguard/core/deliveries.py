"""Which events this function has begun before: one item per event id in the state table.

An event that concerns several controls (five for a security-group rule) would otherwise take an
exactly-once record for each, compliant ones included. With this item, the first delivery of an event
takes records only for the controls it acts on or reports; a retry or a second delivery finds the item and
takes every record as before, so a fix made by an earlier attempt still gets its evidence and message.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from phiguard.core.aws import Clients


class Deliveries:
    def __init__(self, clients: Clients, table: str, keep_seconds: int, clock: Callable[[], float] = time.time) -> None:
        self.clients = clients
        self.table = table
        self.keep_seconds = keep_seconds  # as long as the exactly-once records it stands in for
        self.clock = clock

    def first(self, event_id: str) -> bool:
        """Mark the event begun; True only when no earlier attempt had. When the mark cannot be written the
        error is raised, before any control runs: an unmarked attempt that took records would make the retry
        believe it came first (and the exactly-once records need the same table anyway)."""
        dynamodb = self.clients.dynamodb()
        try:
            dynamodb.put_item(
                TableName=self.table,
                Item={
                    "id": {"S": f"phiguard-event#{event_id}"},
                    "expiration": {"N": str(int(self.clock()) + self.keep_seconds)},
                },
                ConditionExpression="attribute_not_exists(id)",
            )
        except dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True
