"""Exemptions: resources people have decided to leave as they are, for a reason and until a date.

On the resource: `phiguard:exempt` (control ids separated by spaces or commas, or `all`; S3 and ELB tag
values allow no commas), `phiguard:exempt-until`
(YYYY-MM-DD, the last day it holds) and `phiguard:exempt-reason`. For what cannot be tagged, the same
three fields in a list (deployment parameter or SSM parameter, JSON). An exemption without a reason
or without a readable date is reported and not honoured; an expired one is reported and ignored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

EXEMPT_TAG = "phiguard:exempt"
UNTIL_TAG = "phiguard:exempt-until"
REASON_TAG = "phiguard:exempt-reason"


@dataclass(frozen=True)
class Exemption:
    source: str  # "tags" or "exemption list"
    controls: frozenset[str]  # control ids, or {"all"}
    until: date | None
    reason: str
    problem: str | None = None  # why it cannot be honoured, when it cannot

    def covers(self, control_id: str) -> bool:
        return "all" in self.controls or control_id in self.controls


@dataclass(frozen=True)
class Verdict:
    honoured: bool
    note: str


def _parse(source: str, controls: Any, until: Any, reason: Any) -> Exemption:
    if isinstance(controls, str):
        controls = [c for c in controls.replace(" ", ",").split(",") if c]
    ids = frozenset(str(c).strip().lower() for c in controls if str(c).strip())
    problems = []
    parsed_until: date | None = None
    if not until:
        problems.append(f"it has no {UNTIL_TAG} date (exemptions must expire)")
    else:
        try:
            parsed_until = date.fromisoformat(str(until).strip())
        except ValueError:
            problems.append(f"its date {until!r} is not a date (YYYY-MM-DD)")
    if not str(reason or "").strip():
        problems.append(f"it gives no reason ({REASON_TAG})")
    return Exemption(source, ids, parsed_until, str(reason or "").strip(), "; ".join(problems) or None)


def from_tags(tags: Mapping[str, str]) -> Exemption | None:
    if EXEMPT_TAG not in tags:
        return None
    return _parse("tags", tags[EXEMPT_TAG], tags.get(UNTIL_TAG), tags.get(REASON_TAG))


def parse_list(text: str) -> list[Mapping[str, Any]]:
    """The exemption list as configured: a JSON array of {resource, controls, until, reason}."""
    if not text.strip():
        return []
    entries = json.loads(text)
    if not isinstance(entries, list) or not all(isinstance(e, dict) and e.get("resource") for e in entries):
        raise ValueError("the exemption list must be a JSON array of objects, each with a 'resource'")
    return entries


def names(resource: str, resource_id: str) -> bool:
    """An entry names the resource by id or by an ARN that ends with it."""
    return resource == resource_id or resource.endswith((f"/{resource_id}", f":{resource_id}"))


def from_list(entries: Iterable[Mapping[str, Any]], resource_id: str) -> list[Exemption]:
    return [
        _parse("exemption list", entry.get("controls", []), entry.get("until"), entry.get("reason"))
        for entry in entries
        if names(str(entry.get("resource", "")), resource_id)
    ]


def judge(exemption: Exemption, today: date) -> Verdict:
    if exemption.problem:
        return Verdict(False, f"exemption ({exemption.source}) not honoured: {exemption.problem}")
    assert exemption.until is not None
    if exemption.until < today:
        return Verdict(False, f"exemption ({exemption.source}) expired on {exemption.until} and is ignored")
    return Verdict(True, f"exempt until {exemption.until} ({exemption.source}): {exemption.reason}")
