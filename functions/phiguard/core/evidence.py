"""Evidence of every action: one DynamoDB row per fix, notify-only finding, failure, exemption, hold.

Rows are kept for the HIPAA documentation retention period (six years by default) through the
table's TTL attribute `expires_at`; the table itself is KMS-encrypted with point-in-time recovery.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from aws_lambda_powertools import Logger
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from phiguard.core.aws import Clients
from phiguard.core.model import Outcome, Result

logger = Logger()
MAX_STATE_CHARS = 100_000  # a DynamoDB item holds 400 KB: two states, the result and the rest must fit
MAX_LIST_ITEMS = 200

_serializer, _deserializer = TypeSerializer(), TypeDeserializer()


class Evidence(Protocol):
    def record(self, result: Result, kind: str = "finding") -> str | None: ...


def new_evidence_id(now: datetime) -> str:
    """Sortable by time, unique: 20261203T171500123456Z-1a2b3c4d5e6f."""
    return f"{now.strftime('%Y%m%dT%H%M%S%fZ')}-{uuid.uuid4().hex[:12]}"


def evidence_id_for(result: Result, now: datetime) -> str:
    """The same outcome of the same event gets the same id, so a retried write is not a second row.
    Every failed attempt is a row of its own."""
    actor = result.actor
    if actor is None or not actor.event_id or result.outcome is Outcome.FAILED:
        return new_evidence_id(now)
    digits = "".join(c for c in actor.event_time if c.isdigit())[:14].ljust(14, "0")
    key = "|".join((actor.event_id, result.control_id, result.resource.resource_id, str(result.outcome)))
    return f"{digits[:8]}T{digits[8:]}000000Z-{hashlib.sha256(key.encode()).hexdigest()[:12]}"


def _state(value: Any) -> str:
    """Always valid JSON; a state too large for the row is kept as its first characters, marked so."""
    text = json.dumps(value, sort_keys=True, default=str)
    if len(text) <= MAX_STATE_CHARS:
        return text
    return json.dumps({"truncated": True, "first_characters": text[:MAX_STATE_CHARS]})


def _capped(items: list[str]) -> list[str]:
    extra = len(items) - MAX_LIST_ITEMS
    return items if extra <= 0 else [*items[:MAX_LIST_ITEMS], f"... and {extra} more"]


def row(result: Result, evidence_id: str, now: datetime, retention_days: int, kind: str) -> dict[str, Any]:
    actor = result.actor
    item: dict[str, Any] = {
        "evidence_id": evidence_id,
        "kind": kind,  # "finding" (from an event or a sweep) or "revert"
        "recorded_at": now.isoformat(timespec="seconds").replace("+00:00", "Z"),
        "account_id": result.resource.account_id,
        "region": result.resource.region,
        "resource_type": result.resource.resource_type,
        "resource_id": result.resource.resource_id,
        "control_id": result.control_id,
        "hipaa": list(result.hipaa),
        "mode": str(result.mode),
        "outcome": str(result.outcome),
        "event_id": actor.event_id if actor else "",
        "event_name": actor.event_name if actor else "",
        "event_time": actor.event_time if actor else "",
        "actor": actor.display if actor else "",
        "violations": _capped([v.summary for v in result.violations]),
        "changes": _capped(list(result.changes)),
        "state_before": _state(result.state_before),
        "state_after": _state(result.state_after),
        "result": _state({**result.to_json(), "state_before": None, "state_after": None}),  # states: above
        "error": result.error or "",
        "exemption": result.exemption or "",
        "expires_at": int((now + timedelta(days=retention_days)).timestamp()),
    }
    return item


class DynamoEvidence:
    def __init__(self, clients: Clients, table: str, retention_days: int) -> None:
        self.clients = clients
        self.table = table
        self.retention_days = retention_days

    def record(self, result: Result, kind: str = "finding") -> str:
        now = datetime.now(UTC)
        evidence_id = evidence_id_for(result, now) if kind == "finding" else new_evidence_id(now)
        item = row(result, evidence_id, now, self.retention_days, kind)
        dynamodb = self.clients.dynamodb()
        try:
            dynamodb.put_item(
                TableName=self.table,
                Item={k: _serializer.serialize(v) for k, v in item.items()},
                ConditionExpression="attribute_not_exists(evidence_id)",
            )
        except dynamodb.exceptions.ConditionalCheckFailedException:
            logger.info("evidence already recorded by an earlier attempt", evidence_id=evidence_id)
            return evidence_id
        logger.info(
            "evidence recorded", evidence_id=evidence_id, control_id=result.control_id, outcome=str(result.outcome)
        )
        return evidence_id

    def rows(self) -> Iterator[dict[str, Any]]:
        pages = self.clients.dynamodb().get_paginator("scan").paginate(TableName=self.table)
        for page in pages:
            for item in page["Items"]:
                yield {k: _plain(_deserializer.deserialize(v)) for k, v in item.items()}

    def get(self, evidence_id: str) -> dict[str, Any] | None:
        item = (
            self.clients.dynamodb()
            .get_item(TableName=self.table, Key={"evidence_id": {"S": evidence_id}}, ConsistentRead=True)
            .get("Item")
        )
        return None if item is None else {k: _plain(_deserializer.deserialize(v)) for k, v in item.items()}


class NoEvidence:
    """Used where no evidence table is configured (the CLI says so); results are only logged."""

    def record(self, result: Result, kind: str = "finding") -> None:
        logger.info("no evidence table configured; result only logged", result=result.to_json())


def _plain(value: Any) -> Any:
    """DynamoDB numbers come back as Decimal; rows are plain JSON values."""
    from decimal import Decimal

    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


def result_of(row: dict[str, Any]) -> Result:
    """The Result an evidence row recorded, its states included; raises ValueError if a state was truncated."""
    states = {key: json.loads(row[key]) for key in ("state_before", "state_after")}
    for key, state in states.items():
        if isinstance(state, dict) and state.get("truncated") is True:
            raise ValueError(f"the row's {key} was too large to keep whole")
    return Result.from_json({**json.loads(row["result"]), **states, "evidence_id": row["evidence_id"]})
