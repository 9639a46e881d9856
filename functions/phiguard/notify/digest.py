"""The summary of a de-duplication window: how many more messages about one drift were merged into it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from phiguard.core.model import JsonDict, Result, Severity


@dataclass(frozen=True)
class Digest:
    """`count` more results like `first` (same control, resource and outcome) within the window."""

    first: Result  # the message that was sent at once; its states are left out
    severity: Severity
    count: int
    window_seconds: int
    first_at: str  # when the window opened (ISO 8601, UTC)
    last_at: str  # when the last merged result was counted
    last_actor: str  # who made the last change that was counted
    last_evidence_id: str | None

    def to_json(self) -> JsonDict:
        return {
            "kind": "digest",
            "severity": str(self.severity),
            "count": self.count,
            "window_seconds": self.window_seconds,
            "first_at": self.first_at,
            "last_at": self.last_at,
            "last_actor": self.last_actor,
            "last_evidence_id": self.last_evidence_id,
            "first": self.first.to_json(),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Digest:
        return cls(
            first=Result.from_json(data["first"]),
            severity=Severity(data["severity"]),
            count=int(data["count"]),
            window_seconds=int(data["window_seconds"]),
            first_at=str(data["first_at"]),
            last_at=str(data["last_at"]),
            last_actor=str(data["last_actor"]),
            last_evidence_id=data.get("last_evidence_id"),
        )
