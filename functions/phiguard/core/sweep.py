"""Walking an account: every resource of every control's type, in every region asked for, page by page.

`Walker` lists and visits; `phiguard scan` visits read-only (Engine.assess), the scheduled sweep visits
with the engine (Engine.run). A sweep that runs short of time hands its remaining cursors to its next
invocation, so an account of any size is finished in pieces that each fit the Lambda time limit.
"""

from __future__ import annotations

import contextvars
import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from phiguard.core import inventory, roles
from phiguard.core.aws import Clients
from phiguard.core.control import Control
from phiguard.core.engine import DENIED_CODES, Engine, Notifier, permission_for
from phiguard.core.model import Actor, JsonDict, Outcome, ResourceRef, Result

logger = Logger()
T = TypeVar("T")

SWEEP_KEY = "phiguard-sweep"  # the continuation event a sweep sends to its next invocation
# What AWS answers in a region the account has not enabled (opt-in regions).
REGION_DISABLED_CODES = frozenset({"OptInRequired", "AuthFailure", "UnrecognizedClientException"})
MAX_LINES = 50  # failures and findings listed by name in the summary; the rest are counted
MAX_LINE = 300  # characters of each of them (a summary must fit one message and the hand-off)


@dataclass(frozen=True)
class Cursor:
    """Where a walk stands for one resource type in one region: the next page's token (None: the first)."""

    resource_type: str
    region: str
    token: str | None = None

    def to_json(self) -> JsonDict:
        return {"resource_type": self.resource_type, "region": self.region, "token": self.token}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Cursor:
        token, resource_type = data.get("token"), str(data["resource_type"])
        if not inventory.listable(resource_type):
            raise ValueError(f"no way to list {resource_type!r}")
        return cls(resource_type, str(data["region"]), str(token) if token else None)


@dataclass(frozen=True)
class Problem:
    """Something the walk could not list: reported, and the walk goes on with the rest."""

    resource_type: str
    region: str
    error: str
    skipped_region: bool = False  # the region is not enabled for the account: nothing there to judge

    def __str__(self) -> str:
        return f"{self.resource_type} in {self.region}: {self.error}"


class Walker:
    def __init__(
        self,
        clients: Clients,
        account_id: str,
        regions: Iterable[str],
        controls: Iterable[type[Control]],
        concurrency: int = 8,
    ) -> None:
        self.clients = clients
        self.account_id = account_id
        self.regions = list(dict.fromkeys(regions))
        self.controls = [c for c in controls if any(inventory.listable(t) for t in c.swept_types())]
        self.event_only = [c for c in controls if c not in self.controls]  # nothing to list: judged per event
        self.concurrency = concurrency

    @property
    def home_region(self) -> str:
        return self.regions[0]

    def start(self) -> tuple[list[Cursor], list[Problem]]:
        """A cursor per (resource type, region) some control needs; regions not enabled are reported."""
        regions, problems = self._enabled_regions()
        cursors = [
            Cursor(resource_type, region)
            for region in regions
            for resource_type in dict.fromkeys(t for c in self.controls for t in c.swept_types())
            if inventory.listable(resource_type) and self.controls_for(Cursor(resource_type, region))
        ]
        return cursors, problems

    def controls_for(self, cursor: Cursor) -> list[type[Control]]:
        return [
            c
            for c in self.controls
            if cursor.resource_type in c.swept_types() and (not c.account_wide or cursor.region == self.home_region)
        ]

    def step(
        self, cursor: Cursor, visit: Callable[[type[Control], ResourceRef], T], pool: ThreadPoolExecutor
    ) -> tuple[list[T], Cursor | None, Problem | None]:
        """List one page at the cursor and visit each (control, resource) of it, several at once."""
        try:
            ids, token = inventory.list_page(
                self.clients, cursor.resource_type, cursor.region, self.account_id, cursor.token
            )
        except Exception as e:  # noqa: BLE001 - one listing that fails must not stop the others
            problem = _listing_problem(cursor, e)
            logger.warning("could not list", resource_type=cursor.resource_type, region=cursor.region, error=str(e))
            return [], None, problem
        work = [
            (control, ResourceRef(cursor.resource_type, resource_id, cursor.region, self.account_id))
            for resource_id in ids
            for control in self.controls_for(cursor)
        ]
        first_page = cursor.token is None
        with (
            inventory.page_read(
                self.clients, cursor.resource_type, self.account_id, cursor.region, ids, first_page=first_page
            ),
            roles.shared_reads(),
        ):
            # Who plays which role is read once for the page, not once per group and control: each visit runs
            # in a copy of this context, and the copies share the page's reads.
            contexts = [contextvars.copy_context() for _ in work]
            visited = list(pool.map(lambda ctx, pair: ctx.run(visit, *pair), contexts, work))
        return visited, (replace(cursor, token=token) if token else None), None

    def walk(
        self, visit: Callable[[type[Control], ResourceRef], T], on_page: Callable[[int], object] | None = None
    ) -> tuple[list[T], list[Problem]]:
        """The whole account in one go (the CLI): every cursor to its last page."""
        cursors, problems = self.start()
        visited: list[T] = []
        with ThreadPoolExecutor(max_workers=self.concurrency) as pool:
            for first in cursors:
                cursor: Cursor | None = first
                while cursor is not None:
                    page, cursor, problem = self.step(cursor, visit, pool)
                    visited += page
                    problems += [problem] if problem else []
                    if on_page:
                        on_page(len(page))
        return visited, problems

    def _enabled_regions(self) -> tuple[list[str], list[Problem]]:
        try:
            described = self.clients.ec2(self.home_region).describe_regions(AllRegions=True)["Regions"]
        except (ClientError, BotoCoreError) as e:
            logger.warning("could not tell which regions are enabled; trying every one asked for", error=str(e))
            return self.regions, []
        status = {r["RegionName"]: r.get("OptInStatus", "opt-in-not-required") for r in described}
        enabled = [r for r in self.regions if status.get(r, "opt-in-not-required") != "not-opted-in"]
        skipped = [
            Problem("*", r, "the region is not enabled for this account: skipped", skipped_region=True)
            for r in self.regions
            if r not in enabled
        ]
        return enabled, skipped


def _listing_problem(cursor: Cursor, error: Exception) -> Problem:
    code = error.response.get("Error", {}).get("Code", "") if isinstance(error, ClientError) else ""
    if code in REGION_DISABLED_CODES:
        return Problem(cursor.resource_type, cursor.region, f"region not enabled ({code}): skipped", True)
    needed = ""
    if isinstance(error, ClientError) and code in DENIED_CODES:
        action = permission_for(error.operation_name, inventory.PERMISSIONS)
        needed = f" (needs {action})" if action else ""
    return Problem(cursor.resource_type, cursor.region, f"could not list: {error}{needed}")


# --- the scheduled sweep ----------------------------------------------------------------------------------


@dataclass
class Tally:
    """What a sweep did so far; travels with the cursors from one invocation to the next."""

    sweep_id: str
    started_at: str
    part: int = 1
    outcomes: Counter[str] = field(default_factory=Counter)
    lines: list[str] = field(default_factory=list)  # findings and failures worth a person's eye, capped
    problems: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # regions not enabled: nothing there, nothing wrong

    def add(self, result: Result) -> None:
        self.outcomes[str(result.outcome)] += 1
        where = f"{result.control_id} on {result.resource.resource_id} ({result.resource.region})"
        if result.outcome.notified and result.outcome is not Outcome.REMEDIATED:
            self._line(f"{result.outcome}: {where}: {result.error or _summary(result)}")
        if result.bookkeeping_error:
            self.outcomes["bookkeeping_failed"] += 1
            self._line(f"{result.outcome}, but {result.bookkeeping_error}: {where}")

    def _line(self, text: str) -> None:
        if len(self.lines) < MAX_LINES:
            self.lines.append(text if len(text) <= MAX_LINE else text[: MAX_LINE - 3] + "...")

    def to_json(self) -> JsonDict:
        return {
            "sweep_id": self.sweep_id,
            "started_at": self.started_at,
            "part": self.part,
            "outcomes": dict(self.outcomes),
            "lines": self.lines,
            "problems": self.problems,
            "skipped": self.skipped,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Tally:
        return cls(
            sweep_id=str(data["sweep_id"]),
            started_at=str(data["started_at"]),
            part=int(data.get("part", 1)),
            outcomes=Counter({str(k): int(v) for k, v in dict(data.get("outcomes", {})).items()}),
            lines=[str(x) for x in data.get("lines", [])],
            problems=[str(x) for x in data.get("problems", [])],
            skipped=[str(x) for x in data.get("skipped", [])],
        )


def _summary(result: Result) -> str:
    return "; ".join(v.summary for v in (result.remaining or result.violations)) or result.reason


class SweepNotifier:
    """During a sweep, each fix is told at once; everything else goes into the one summary at the end
    (a sweep sees the same notify-only findings every time: one message each would bury the fixes)."""

    def __init__(self, inner: Notifier, tally: Tally) -> None:
        self.inner = inner
        self.tally = tally

    def __call__(self, result: Result) -> None:
        if result.outcome is Outcome.REMEDIATED:
            self.inner(result)

    def alert(self, subject: str, text: str, severity: str) -> None:
        self.inner.alert(subject, text, severity)


HandOff = Callable[[JsonDict], None]


class Sweep:
    """One invocation of the scheduled sweep: start (or continue) and walk until done or short of time."""

    def __init__(self, engine: Engine, walker: Walker, margin_seconds: int) -> None:
        self.engine = engine
        self.walker = walker
        self.margin_seconds = margin_seconds

    def handle(self, event: Mapping[str, Any], seconds_left: Callable[[], float], hand_off: HandOff) -> JsonDict:
        carried = event.get(SWEEP_KEY) if isinstance(event, Mapping) else None
        if carried is not None:
            try:
                tally = Tally.from_json(carried["tally"])
                cursors = [Cursor.from_json(c) for c in carried.get("cursors", [])]
            except (KeyError, TypeError, ValueError, AttributeError) as e:
                return self._unreadable(carried, e)
        else:
            now = datetime.now(UTC).isoformat(timespec="seconds")
            tally = Tally(sweep_id=str(uuid.uuid4()), started_at=now)
            cursors, problems = self.walker.start()
            tally.problems += [str(p) for p in problems if not p.skipped_region]
            tally.skipped += [p.region for p in problems if p.skipped_region]
        actor = Actor(
            arn="phiguard scheduled sweep",
            principal_type="PHIGuardSweep",
            session_issuer_arn=None,
            event_time=tally.started_at,
            event_name="ScheduledSweep",
            event_id="",  # no exactly-once key: a sweep judges live state again anyway
        )
        notifier = SweepNotifier(self.engine.notify, tally)
        original, self.engine.notify = self.engine.notify, notifier
        try:
            cursors = self._walk(cursors, actor, tally, seconds_left)
        finally:
            self.engine.notify = original
        if cursors:
            tally.part += 1
            hand_off({SWEEP_KEY: {"tally": tally.to_json(), "cursors": [c.to_json() for c in cursors]}})
            logger.info("sweep handed on", sweep_id=tally.sweep_id, part=tally.part, cursors=len(cursors))
            return {"sweep_id": tally.sweep_id, "done": False, "remaining_cursors": len(cursors), **tally.to_json()}
        self._report(tally)
        return {"sweep_id": tally.sweep_id, "done": True, **tally.to_json()}

    def _unreadable(self, carried: Any, error: Exception) -> JsonDict:
        """A hand-off that cannot be read: said once, not retried; the next scheduled sweep starts afresh."""
        excerpt = json.dumps(carried, default=str)[:2000]
        logger.error("sweep hand-off unreadable", error=repr(error), payload=excerpt)
        text = f"A sweep hand-off could not be read ({error!r}); the rest of that sweep is skipped and the next "
        text += f"scheduled sweep starts afresh.\n\n{excerpt}"
        try:
            self.engine.notify.alert("PHI Guard could not continue a sweep", text, "warning")
        except Exception:
            logger.exception("alert about an unreadable hand-off could not be sent")
        return {"done": False, "error": f"unreadable hand-off: {error!r}"}

    def _walk(
        self, cursors: list[Cursor], actor: Actor, tally: Tally, seconds_left: Callable[[], float]
    ) -> list[Cursor]:
        def visit(control: type[Control], ref: ResourceRef) -> Result:
            return self.engine.run(control(self.engine.context), ref, actor)

        pending = list(cursors)
        with ThreadPoolExecutor(max_workers=self.walker.concurrency) as pool:
            while pending and seconds_left() > self.margin_seconds:
                cursor = pending.pop(0)
                results, following, problem = self.walker.step(cursor, visit, pool)
                for result in results:
                    tally.add(result)
                if problem and problem.skipped_region:
                    tally.skipped.append(problem.region)
                elif problem:
                    tally.problems.append(str(problem))
                if following:
                    pending.insert(0, following)
        return pending

    def _report(self, tally: Tally) -> None:
        """One summary per sweep: counts, what needs a person or failed (named up to MAX_LINES), what was unlisted."""
        logger.info("sweep finished", **tally.to_json())
        quiet = ("compliant", "not_applicable", "remediated", "bookkeeping_failed")
        notable = sum(n for o, n in tally.outcomes.items() if o not in quiet)
        failed = tally.outcomes.get("failed", 0) + tally.outcomes.get("bookkeeping_failed", 0)
        if not notable and not failed and not tally.problems:
            return
        outcomes = ", ".join(f"{n} {o}" for o, n in sorted(tally.outcomes.items())) or "no resources"
        lines = [
            f"PHI Guard's scheduled sweep {tally.sweep_id} (started {tally.started_at}, {tally.part} part(s)) judged "
            f"every resource of the catalogue's types: {outcomes}.",
            "",
        ]
        if tally.outcomes.get("remediated"):
            lines += [f"{tally.outcomes['remediated']} fix(es) were each notified on their own.", ""]
        if tally.lines:
            lines += ["Needs attention:", *tally.lines]
            lines += [f"... {notable - len(tally.lines)} more"] if notable > len(tally.lines) else []
            lines.append("")
        if tally.problems:
            lines += ["Could not be listed (the rest of the sweep went on):", *tally.problems, ""]
        if tally.skipped:
            lines += [f"Regions not enabled for the account, skipped: {', '.join(sorted(set(tally.skipped)))}", ""]
        lines.append("The evidence table has a row for each finding; `phiguard report` shows the whole posture.")
        subject = f"PHI Guard sweep: {notable} finding(s) need attention, {failed} failure(s)"
        severity = "critical" if failed else "high" if tally.problems else "medium"
        try:
            self.engine.notify.alert(subject, "\n".join(lines), severity)
        except Exception:
            logger.exception("sweep summary could not be sent", sweep_id=tally.sweep_id)


def invoke_later(clients: Clients, function_arn: str) -> HandOff:
    """The hand-off of a sweep's remaining cursors: an asynchronous invocation of the same function."""

    def hand_off(payload: JsonDict) -> None:
        region = function_arn.split(":")[3]
        clients.lambda_(region).invoke(FunctionName=function_arn, InvocationType="Event", Payload=json.dumps(payload))

    return hand_off
