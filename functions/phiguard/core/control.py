"""The Control base class and the registry every control declares itself into."""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, TypeVar

from phiguard.core.aws import Clients
from phiguard.core.model import Action, ApiCall, Evaluation, ResourceRef, Result, Severity, Trigger
from phiguard.core.settings import Settings


class ResourceGone(Exception):
    """The resource named by the event no longer exists (or never did)."""


class NotRevertible(Exception):
    """Restoring the recorded before-state is not meaningful for this action."""


@dataclass(frozen=True)
class Context:
    settings: Settings
    clients: Clients


class Control(ABC):
    """One desired state of the HIPAA baseline: a read-only evaluation and an idempotent fix."""

    control_id: ClassVar[str]
    title: ClassVar[str]
    resource_type: ClassVar[str]
    hipaa: ClassVar[tuple[str, ...]]
    action: ClassVar[Action]
    permissions: ClassVar[tuple[str, ...]]  # every IAM action evaluate() and remediate() use
    triggers: ClassVar[tuple[Trigger, ...]]
    schedule_only: ClassVar[bool] = False  # drift that no API call causes (time passing): the sweep evaluates it
    sweep_types: ClassVar[tuple[str, ...]] = ()  # what the sweep lists for it, when more than resource_type
    account_wide: ClassVar[bool] = False  # one setting for the whole account: the sweep judges it in one region
    # How urgent its drift is (phiguard.notify.severity has the whole rule): critical for exposure of PHI or of
    # the audit trail, high for missing encryption or access limits, medium for hygiene, low for resilience.
    severity: ClassVar[Severity] = Severity.MEDIUM

    @classmethod
    def swept_types(cls) -> tuple[str, ...]:
        return cls.sweep_types or (cls.resource_type,)

    @classmethod
    def severity_of(cls, result: Result) -> Severity:
        """The drift's severity; a control whose violations differ in urgency overrides this."""
        return cls.severity

    def __init__(self, context: Context) -> None:
        self.context = context
        self.settings = context.settings
        self.clients = context.clients

    def expand(self, ref: ResourceRef) -> list[ResourceRef]:
        """The resources a reference stands for (a call that names no VPC means each VPC of the region)."""
        return [ref]

    def resolve(self, ref: ResourceRef) -> ResourceRef:
        """Turn a reference by name into one by id; raise ResourceGone when nothing matches."""
        return ref

    @abstractmethod
    def evaluate(self, ref: ResourceRef) -> Evaluation:
        """Read live state and judge it; never changes anything."""

    def remediate(self, ref: ResourceRef, evaluation: Evaluation) -> list[str]:
        """Apply the fixable violations' fixes; return what was changed, one line per change."""
        raise NotImplementedError(f"{self.control_id} is notify-only")

    def revert(self, ref: ResourceRef, fixed: Result) -> list[str]:
        """Put back what the recorded fix changed (from its before-state); return what was restored."""
        raise NotRevertible(f"{self.control_id} has no meaningful way back")


C = TypeVar("C", bound=type[Control])

_REGISTRY: dict[str, type[Control]] = {}


def register(cls: C) -> C:
    """Class decorator: add a control to the registry (ids are unique)."""
    if cls.control_id in _REGISTRY and _REGISTRY[cls.control_id] is not cls:
        raise ValueError(f"control id {cls.control_id} registered twice")
    _REGISTRY[cls.control_id] = cls
    return cls


def all_controls() -> list[type[Control]]:
    importlib.import_module("phiguard.controls")
    return sorted(_REGISTRY.values(), key=lambda c: c.control_id)


def get_control(control_id: str) -> type[Control]:
    importlib.import_module("phiguard.controls")
    return _REGISTRY[control_id]


def triggered_by(call: ApiCall) -> list[tuple[type[Control], Trigger]]:
    """Which controls care about this API call, with the trigger that says where the resource is."""
    return [(control, trigger) for control in all_controls() for trigger in control.triggers if trigger.matches(call)]
