"""Alert storms: one message per burst about the same drift, and one summary when the burst's window closes.

A burst (a script re-applying a bad rule, a retried event, a flapping resource) must not send fifty messages.
The key is (account, region, control, resource, outcome): the same story merges, a different one (a fix that
now fails) is told at once.

- The first result of a key opens a window in the state table (PHI Guard's own table, with TTL): its message
  is published at once, and the window's summary request is put on the digest queue with DelaySeconds = the
  window (SQS delays up to 900 s), so it comes back when the window closes, with or without later events.
- A result of the same key while the window is open (or closed but not yet summarized, up to GRACE_SECONDS
  after) is only counted: its evidence row is written as always; no message.
- When the summary request comes back, the digest handler closes the window atomically, reads the count and,
  when it is above zero, publishes ONE summary: "N more ... within W seconds". A window whose summary never came
  (the digest queue was down for longer than the grace) is told by the next first result of its key.

Failing open: when the store cannot be read or written, the message is sent (and the error logged); when the
summary cannot be scheduled, the window is given up so that later results are sent one by one; when the first
message cannot be published, the window is given up too, so that the retry sends it instead of counting it.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools import Logger

from phiguard.core.aws import Clients
from phiguard.core.model import Result, Severity
from phiguard.notify.digest import Digest
from phiguard.notify.severity import severity_of
from phiguard.notify.sns import SnsPublisher

logger = Logger()

GRACE_SECONDS = 900  # after its window, how long a window waits for its summary before a new one may open
KEEP_SECONDS = 86_400  # how long a window's item stays after that (TTL), for whoever looks into the table
DIGEST_KIND = "phiguard-digest"
MAX_DELAY_SECONDS = 900  # SQS DelaySeconds
_QUEUE_REGION = re.compile(r"^https://sqs\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/")


@dataclass(frozen=True)
class Claim:
    """What the store said about one result: the first of a window (send it) or one more of an open one."""

    key: str
    first: bool
    window_start: int = 0
    leftover: Closed | None = None  # an earlier window of the key whose summary never came


@dataclass(frozen=True)
class Closed:
    """A window, closed: how many results were counted in it, and the last of them."""

    window_start: int
    count: int
    last_at: str
    last_actor: str
    last_evidence_id: str | None


def dedup_key(result: Result) -> str:
    res = result.resource
    parts = [res.account_id, res.region, result.control_id, res.resource_type, res.resource_id, str(result.outcome)]
    return "phiguard-dedup#" + hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:40]


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class DedupStore:
    """The windows, one item per key in the state table (the `expiration` TTL attribute removes them)."""

    def __init__(
        self, clients: Clients, table: str, window_seconds: int, clock: Callable[[], float] = time.time
    ) -> None:
        self.clients = clients
        self.table = table
        self.window_seconds = window_seconds
        self.clock = clock

    def claim(self, result: Result) -> Claim:
        """Count the result into its key's open window, or open a new window with it."""
        key = dedup_key(result)
        for _ in range(2):  # a window another invocation opens between the two steps: count into it
            if self._count(key, result):
                return Claim(key, first=False)
            opened = self._open(key)
            if opened is not None:
                return opened
        raise RuntimeError("the de-duplication window of this key changed twice while it was being claimed")

    def _count(self, key: str, result: Result) -> bool:
        now = int(self.clock())
        dynamodb = self.clients.dynamodb()
        actor = result.actor.display if result.actor else "unknown"
        try:
            dynamodb.update_item(
                TableName=self.table,
                Key={"id": {"S": key}},
                UpdateExpression="ADD suppressed :one SET last_at = :now, last_actor = :actor, last_evidence = :ev",
                ConditionExpression="attribute_exists(id) AND attribute_not_exists(digested) AND window_until > :stale",
                ExpressionAttributeValues={
                    ":one": {"N": "1"},
                    ":now": {"N": str(now)},
                    ":actor": {"S": actor},
                    ":ev": {"S": result.evidence_id or "-"},
                    ":stale": {"N": str(now - GRACE_SECONDS)},
                },
            )
        except dynamodb.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def _open(self, key: str) -> Claim | None:
        now = int(self.clock())
        dynamodb = self.clients.dynamodb()
        until = now + self.window_seconds
        try:
            response = dynamodb.put_item(
                TableName=self.table,
                Item={
                    "id": {"S": key},
                    "window_start": {"N": str(now)},
                    "window_until": {"N": str(until)},
                    "suppressed": {"N": "0"},
                    "expiration": {"N": str(until + GRACE_SECONDS + KEEP_SECONDS)},
                },
                ConditionExpression=(
                    "attribute_not_exists(id) OR attribute_exists(summary_sent) OR window_until <= :stale"
                ),
                ExpressionAttributeValues={":stale": {"N": str(now - GRACE_SECONDS)}},
                ReturnValues="ALL_OLD",
            )
        except dynamodb.exceptions.ConditionalCheckFailedException:
            return None
        old = response.get("Attributes") or {}
        leftover = None
        if old and "summary_sent" not in old and int(old.get("suppressed", {}).get("N", "0")) > 0:
            leftover = _closed(old)
            logger.warning("a window's summary never came: it is sent now", key=key, count=leftover.count)
        return Claim(key, first=True, window_start=now, leftover=leftover)

    def give_up(self, key: str, window_start: int) -> None:
        """Forget a window whose first message or summary did not go out: the next result is sent again."""
        try:
            self.clients.dynamodb().delete_item(
                TableName=self.table,
                Key={"id": {"S": key}},
                ConditionExpression="window_start = :ws AND suppressed = :zero",
                ExpressionAttributeValues={":ws": {"N": str(window_start)}, ":zero": {"N": "0"}},
            )
        except Exception:  # best effort, logged: at worst later results are counted until the grace ends
            logger.exception("a de-duplication window could not be given up", key=key, window_start=window_start)

    def close(self, key: str, window_start: int) -> Closed | None:
        """Close the window (later results open a new one) and read its count; None when already summarized or
        replaced. A window closed before whose summary was not sent is closed again: the retry sends it."""
        dynamodb = self.clients.dynamodb()
        try:
            response = dynamodb.update_item(
                TableName=self.table,
                Key={"id": {"S": key}},
                UpdateExpression="SET digested = :yes",
                ConditionExpression="window_start = :ws AND attribute_not_exists(summary_sent)",
                ExpressionAttributeValues={":yes": {"BOOL": True}, ":ws": {"N": str(window_start)}},
                ReturnValues="ALL_NEW",
            )
        except dynamodb.exceptions.ConditionalCheckFailedException:
            return None
        closed = _closed(response["Attributes"])
        if closed.count == 0:
            self.summarized(key, window_start)
        return closed

    def summarized(self, key: str, window_start: int) -> None:
        dynamodb = self.clients.dynamodb()
        try:
            dynamodb.update_item(
                TableName=self.table,
                Key={"id": {"S": key}},
                UpdateExpression="SET summary_sent = :yes",
                ConditionExpression="window_start = :ws",
                ExpressionAttributeValues={":yes": {"BOOL": True}, ":ws": {"N": str(window_start)}},
            )
        except dynamodb.exceptions.ConditionalCheckFailedException:
            logger.info("the window was replaced before its summary was marked sent", key=key)


def _closed(item: Mapping[str, Any]) -> Closed:
    def number(name: str) -> int:
        return int(item.get(name, {}).get("N", "0"))

    def text(name: str) -> str:
        return str(item.get(name, {}).get("S", ""))

    return Closed(
        window_start=number("window_start"),
        count=number("suppressed"),
        last_at=_iso(number("last_at") or number("window_start")),
        last_actor=text("last_actor") or "unknown",
        last_evidence_id=None if text("last_evidence") in ("", "-") else text("last_evidence"),
    )


def _first(result: Result) -> Result:
    """The first result, as the summary request carries it: no states (the evidence row has them)."""
    return replace(result, state_before={}, state_after=None)


def _digest(first: Result, severity: Severity, window_seconds: int, closed: Closed) -> Digest:
    return Digest(
        first=_first(first),
        severity=severity,
        count=closed.count,
        window_seconds=window_seconds,
        first_at=_iso(closed.window_start),
        last_at=closed.last_at,
        last_actor=closed.last_actor,
        last_evidence_id=closed.last_evidence_id,
    )


class Deduplicating:
    """A Notifier: the first message of a burst at once, the rest counted, one summary when the window closes."""

    def __init__(self, inner: SnsPublisher, store: DedupStore, digest_queue_url: str) -> None:
        self.inner = inner
        self.store = store
        self.digest_queue_url = digest_queue_url

    def __call__(self, result: Result) -> None:
        try:
            claim = self.store.claim(result)
        except Exception:
            logger.exception(
                "de-duplication store failed: the message is sent anyway",
                control_id=result.control_id,
                resource_id=result.resource.resource_id,
            )
            self.inner(result)
            return
        if not claim.first:
            logger.info(
                "message counted into its window's summary",
                control_id=result.control_id,
                resource_id=result.resource.resource_id,
                outcome=str(result.outcome),
                evidence_id=result.evidence_id,
            )
            return
        severity = severity_of(result)
        try:
            self._schedule(claim, result, severity)
        except Exception:
            logger.exception("the window's summary could not be scheduled: this burst is sent message by message")
            self.store.give_up(claim.key, claim.window_start)
        try:
            self.inner(result)
        except Exception:
            self.store.give_up(claim.key, claim.window_start)  # the retry sends it, rather than counting it
            raise
        if claim.leftover:
            try:
                self.inner.digest(_digest(result, severity, self.store.window_seconds, claim.leftover))
            except Exception:
                logger.exception("the late summary of an earlier window could not be sent", key=claim.key)

    def alert(self, subject: str, text: str, severity: str) -> None:
        self.inner.alert(subject, text, severity)

    def _schedule(self, claim: Claim, result: Result, severity: Severity) -> None:
        body = {
            "kind": DIGEST_KIND,
            "key": claim.key,
            "window_start": claim.window_start,
            "window_seconds": self.store.window_seconds,
            "severity": str(severity),
            "first": _first(result).to_json(),
        }
        found = _QUEUE_REGION.match(self.digest_queue_url)
        self.store.clients.sqs(found.group(1) if found else None).send_message(
            QueueUrl=self.digest_queue_url,
            MessageBody=json.dumps(body, default=str),
            DelaySeconds=min(self.store.window_seconds, MAX_DELAY_SECONDS),
        )


class Digester:
    """The digest handler's work: close one window, and publish its summary when anything was counted."""

    def __init__(self, store: DedupStore, publisher: SnsPublisher) -> None:
        self.store = store
        self.publisher = publisher

    def __call__(self, request: Mapping[str, Any]) -> Digest | None:
        if request.get("kind") != DIGEST_KIND:
            raise ValueError(f"not a summary request: {str(request)[:200]}")
        key, window_start = str(request["key"]), int(request["window_start"])
        closed = self.store.close(key, window_start)
        if closed is None:
            logger.info("window already summarized or replaced", key=key, window_start=window_start)
            return None
        if closed.count == 0:
            logger.info("window closed: nothing more to tell", key=key)
            return None
        first = Result.from_json(dict(request["first"]))
        digest = _digest(first, Severity(request["severity"]), int(request["window_seconds"]), closed)
        self.publisher.digest(digest)
        self.store.summarized(key, window_start)
        return digest
