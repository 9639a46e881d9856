"""The value types every part of PHI Guard speaks: resources, findings, outcomes."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

JsonDict = dict[str, Any]
REGION_NAME = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$")  # us-east-1, ap-southeast-4, us-gov-west-1


class Mode(StrEnum):
    ENFORCE = "enforce"
    DRY_RUN = "dry-run"


class Action(StrEnum):
    """What the catalogue says a control does about a violation."""

    FIX = "fix"
    NOTIFY = "notify"


class Status(StrEnum):
    COMPLIANT = "compliant"
    NON_COMPLIANT = "non_compliant"
    NOT_APPLICABLE = "not_applicable"


class Outcome(StrEnum):
    """What happened to one (control, resource) pair; every value but two is notified."""

    COMPLIANT = "compliant"
    NOT_APPLICABLE = "not_applicable"
    REMEDIATED = "remediated"
    WOULD_REMEDIATE = "would_remediate"
    NEEDS_ATTENTION = "needs_attention"
    EXEMPT = "exempt"  # non-compliant, left alone by a valid exemption
    HELD = "held"  # fixable, but the blast-radius brake holds fixes for now
    REVERTED = "reverted"  # a person undid a fix with `phiguard revert`
    FAILED = "failed"

    @property
    def notified(self) -> bool:
        return self not in (Outcome.COMPLIANT, Outcome.NOT_APPLICABLE)


class Severity(StrEnum):
    """How urgently a person should look; sent as the `severity` message attribute for subscription filters."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)  # 0 is the most urgent

    def at_least(self, other: Severity) -> Severity:
        return self if self.rank <= other.rank else other


@dataclass(frozen=True)
class ResourceRef:
    """Where to look: the event only names the resource, controls re-read it live."""

    resource_type: str
    resource_id: str
    region: str
    account_id: str
    by_name: bool = False  # resource_id is a name that the control must resolve (groupName)

    def __str__(self) -> str:
        return f"{self.resource_type} {self.resource_id} ({self.account_id}/{self.region})"


@dataclass(frozen=True)
class Actor:
    """Who made the API call that triggered the evaluation."""

    arn: str
    principal_type: str
    session_issuer_arn: str | None
    event_time: str
    event_name: str
    event_id: str
    source_ip: str | None = None

    @property
    def display(self) -> str:
        return self.arn or self.principal_type or "unknown"


@dataclass(frozen=True)
class Violation:
    """One offending part of a resource (one rule, one listener, one setting)."""

    summary: str
    fix: str | None  # the exact change a remediation makes; None when a person must act
    detail: Mapping[str, Any] = field(default_factory=dict)
    manual_steps: tuple[str, ...] = ()

    @property
    def fixable(self) -> bool:
        return self.fix is not None


@dataclass(frozen=True)
class Evaluation:
    status: Status
    state: JsonDict  # the live state the verdict was made on, recorded as evidence
    violations: tuple[Violation, ...] = ()
    reason: str = ""

    @classmethod
    def not_applicable(cls, reason: str) -> Evaluation:
        return cls(Status.NOT_APPLICABLE, {}, (), reason)

    @classmethod
    def of(cls, state: JsonDict, violations: list[Violation] | tuple[Violation, ...]) -> Evaluation:
        status = Status.NON_COMPLIANT if violations else Status.COMPLIANT
        return cls(status, state, tuple(violations))

    @property
    def fixable(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if v.fixable)

    @property
    def manual(self) -> tuple[Violation, ...]:
        return tuple(v for v in self.violations if not v.fixable)


@dataclass(frozen=True)
class ApiCall:
    """A successful or failed CloudTrail-recorded API call, as EventBridge delivered it."""

    source: str  # EventBridge source, e.g. "aws.ec2"
    event_source: str  # CloudTrail's detail.eventSource, e.g. "ec2.amazonaws.com"
    event_name: str
    region: str
    account_id: str
    request: JsonDict  # detail.requestParameters (may be empty)
    response: JsonDict  # detail.responseElements (may be empty)
    actor: Actor
    error_code: str | None = None
    read_only: bool | None = None  # detail.readOnly; None when the event does not say

    def ref(self, resource_type: str, resource_id: str, *, by_name: bool = False) -> ResourceRef:
        return ResourceRef(resource_type, resource_id, self.region, self.account_id, by_name)

    @property
    def writes(self) -> bool:
        """Whether the call may have changed something: CloudTrail's readOnly when the event has it; without it,
        every call but the obviously read-only ones (Describe*, List*, Get*, ...) counts as a write."""
        if self.read_only is not None:
            return not self.read_only
        return not self.event_name.startswith(READ_ONLY_PREFIXES)


# API names that only read, whatever the service: how a call is judged when its event has no readOnly.
READ_ONLY_PREFIXES = ("Describe", "List", "Get", "Head", "Lookup", "Search", "Query", "Scan", "BatchGet")

ANY = "*"  # the source and event name of the wildcard Trigger: any call that writes, to any service


@dataclass(frozen=True)
class Trigger:
    """A CloudTrail API call that can cause a control's drift, and where its resource is.

    Trigger(ANY, ANY, ...) is the wildcard: every call that writes (ApiCall.writes), to any service, narrowed by
    `concerns` (for example to the services outside a list).
    """

    source: str  # EventBridge source, e.g. "aws.ec2"; ANY in the wildcard
    event_name: str  # ANY in the wildcard
    resources: Callable[[ApiCall], list[ResourceRef]]
    concerns: Callable[[ApiCall], bool] | None = None  # a further condition on the call; None: every such call

    def __post_init__(self) -> None:
        if (self.source == ANY) != (self.event_name == ANY):
            raise ValueError("the wildcard Trigger has ANY as both its source and its event name")

    @property
    def wildcard(self) -> bool:
        return self.source == ANY

    @property
    def event_source(self) -> str:
        """CloudTrail's eventSource for the same service, e.g. "ec2.amazonaws.com" (ANY for the wildcard)."""
        return ANY if self.wildcard else self.source.removeprefix("aws.") + ".amazonaws.com"

    def matches(self, call: ApiCall) -> bool:
        """Whether this trigger concerns the call: its own API call, or (the wildcard) any call that writes."""
        if self.wildcard:
            named = call.writes
        else:
            named = (self.source, self.event_source, self.event_name) == (
                call.source,
                call.event_source,
                call.event_name,
            )
        return named and (self.concerns is None or self.concerns(call))


@dataclass(frozen=True)
class Result:
    """The record of one (control, resource) evaluation: what was wrong, what changed."""

    control_id: str
    title: str
    hipaa: tuple[str, ...]
    resource: ResourceRef
    outcome: Outcome
    mode: Mode
    actor: Actor | None
    violations: tuple[Violation, ...] = ()
    changes: tuple[str, ...] = ()
    remaining: tuple[Violation, ...] = ()
    state_before: JsonDict = field(default_factory=dict)
    state_after: JsonDict | None = None
    error: str | None = None
    reason: str = ""
    bookkeeping_error: str | None = None
    exemption: str | None = None  # why an exemption was honoured, expired or refused
    evidence_id: str | None = None

    def to_json(self) -> JsonDict:
        return {
            "evidence_id": self.evidence_id,
            "control_id": self.control_id,
            "title": self.title,
            "hipaa": list(self.hipaa),
            "outcome": str(self.outcome),
            "mode": str(self.mode),
            "resource": {
                "type": self.resource.resource_type,
                "id": self.resource.resource_id,
                "region": self.resource.region,
                "account_id": self.resource.account_id,
            },
            "actor": None
            if self.actor is None
            else {
                "arn": self.actor.arn,
                "type": self.actor.principal_type,
                "session_issuer_arn": self.actor.session_issuer_arn,
                "event_name": self.actor.event_name,
                "event_time": self.actor.event_time,
                "event_id": self.actor.event_id,
                "source_ip": self.actor.source_ip,
            },
            "violations": [_violation_json(v) for v in self.violations],
            "changes": list(self.changes),
            "remaining": [_violation_json(v) for v in self.remaining],
            "state_before": self.state_before,
            "state_after": self.state_after,
            "error": self.error,
            "reason": self.reason,
            "exemption": self.exemption,
            "bookkeeping_error": self.bookkeeping_error,
        }

    @classmethod
    def from_json(cls, data: JsonDict) -> Result:
        """The inverse of to_json (idempotency stores results as JSON)."""
        resource, actor = data["resource"], data.get("actor")
        return cls(
            control_id=data["control_id"],
            title=data["title"],
            hipaa=tuple(data["hipaa"]),
            resource=ResourceRef(resource["type"], resource["id"], resource["region"], resource["account_id"]),
            outcome=Outcome(data["outcome"]),
            mode=Mode(data["mode"]),
            actor=None
            if actor is None
            else Actor(
                arn=actor["arn"],
                principal_type=actor["type"],
                session_issuer_arn=actor.get("session_issuer_arn"),
                event_time=actor["event_time"],
                event_name=actor["event_name"],
                event_id=actor["event_id"],
                source_ip=actor.get("source_ip"),
            ),
            violations=tuple(_violation_from(v) for v in data.get("violations", [])),
            changes=tuple(data.get("changes", [])),
            remaining=tuple(_violation_from(v) for v in data.get("remaining", [])),
            state_before=data.get("state_before") or {},
            state_after=data.get("state_after"),
            error=data.get("error"),
            reason=data.get("reason", ""),
            bookkeeping_error=data.get("bookkeeping_error"),
            exemption=data.get("exemption"),
            evidence_id=data.get("evidence_id"),
        )


@dataclass(frozen=True)
class Finding:
    """One read-only verdict of a scan: a control on a resource, or why it could not be judged."""

    control_id: str
    title: str
    hipaa: tuple[str, ...]
    action: Action
    resource: ResourceRef
    status: Status | None  # None: the resource could not be evaluated; error says why
    violations: tuple[Violation, ...] = ()
    reason: str = ""
    error: str | None = None
    exemption: str | None = None  # an honoured exemption: non-compliant, left alone on purpose

    def to_json(self) -> JsonDict:
        return {
            "control_id": self.control_id,
            "title": self.title,
            "hipaa": list(self.hipaa),
            "action": str(self.action),
            "resource": {
                "type": self.resource.resource_type,
                "id": self.resource.resource_id,
                "region": self.resource.region,
                "account_id": self.resource.account_id,
            },
            "status": None if self.status is None else str(self.status),
            "violations": [_violation_json(v) for v in self.violations],
            "reason": self.reason,
            "error": self.error,
            "exemption": self.exemption,
        }


def _violation_from(data: JsonDict) -> Violation:
    return Violation(
        data["summary"], data.get("fix"), dict(data.get("detail", {})), tuple(data.get("manual_steps", []))
    )


def _violation_json(violation: Violation) -> JsonDict:
    return {
        "summary": violation.summary,
        "fix": violation.fix,
        "detail": dict(violation.detail),
        "manual_steps": list(violation.manual_steps),
    }
