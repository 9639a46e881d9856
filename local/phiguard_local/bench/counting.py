"""Counting the HTTP requests botocore sends from this process, by service and operation.

Standard library and botocore only: the Custodian driver imports this file too, in Custodian's own
interpreter. Every client made after `install()` carries a `before-send` hook (one per request sent,
retries and pages included); the count runs only inside `window()`, so setting up a drift is not
counted against the tool that fixes it.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import botocore.session

# The remediated resource's service for each compared control (botocore's hyphenated service id).
SERVICES = {
    "s3-default-encryption-kms": "s3",
    "vpc-sg-restricted-ports": "ec2",
    "db-no-bastion-access": "ec2",
    "alb-http-to-https-redirection-check": "elastic-load-balancing-v2",
}
BOOKKEEPING = frozenset({"dynamodb", "sns"})  # evidence, idempotency, brake; notification


class RequestCounter:
    def __init__(self) -> None:
        self.counts: Counter[tuple[str, str]] = Counter()
        self.by_label: Counter[tuple[str, str]] = Counter()  # (label, service): whose requests they were
        self.label: str | None = None  # set by the caller around one part of the work (one control's run)
        self.active = False
        self._lock = threading.Lock()

    def install(self) -> None:
        """Hook every botocore client this process makes from now on (boto3's included)."""
        original = botocore.session.Session.create_client
        counter = self

        def create_client(session: Any, *args: Any, **kwargs: Any) -> Any:
            client = original(session, *args, **kwargs)
            client.meta.events.register("before-send", counter.on_send)
            return client

        botocore.session.Session.create_client = create_client  # type: ignore[method-assign]

    def on_send(self, event_name: str = "", **_: Any) -> None:
        if not self.active:
            return
        _, service, operation = [*event_name.split(".", 2), "?", "?"][:3]
        with self._lock:
            self.counts[(service, operation)] += 1
            if self.label:
                self.by_label[(self.label, service)] += 1

    @contextmanager
    def window(self) -> Iterator[Counter[tuple[str, str]]]:
        """Count the requests sent inside the block; yields the counter of that block alone."""
        with self._lock:
            self.counts = Counter()
            self.by_label = Counter()
        self.active = True
        try:
            yield self.counts
        finally:
            self.active = False


def split(
    counts: Counter[tuple[str, str]], service: str, by_label: Counter[tuple[str, str]] | None = None
) -> dict[str, Any]:
    """One event's requests: to the remediated service, bookkeeping, anything else; by operation; and, when
    the work was labelled, by label (PHI Guard: by control, as one event concerns several)."""
    labels = sorted({label for label, _ in by_label or {}})
    return {
        "service": sum(n for (s, _), n in counts.items() if s == service),
        "bookkeeping": sum(n for (s, _), n in counts.items() if s in BOOKKEEPING),
        "other": sum(n for (s, _), n in counts.items() if s != service and s not in BOOKKEEPING),
        "operations": {f"{s}.{o}": n for (s, o), n in sorted(counts.items())},
        "by_control": {
            label: {
                "service": sum(n for (lb, s), n in (by_label or {}).items() if lb == label and s == service),
                "bookkeeping": sum(n for (lb, s), n in (by_label or {}).items() if lb == label and s in BOOKKEEPING),
                "other": sum(
                    n
                    for (lb, s), n in (by_label or {}).items()
                    if lb == label and s != service and s not in BOOKKEEPING
                ),
            }
            for label in labels
        },
    }
