"""The one engine: evaluate -> (mode allows?) remediate -> evaluate again -> notify.

One failing control never stops the others; failures are notified, then raised together at the end
so Lambda's retries and the on-failure destination keep the event.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, Protocol

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
from aws_lambda_powertools.utilities.idempotency.persistence.base import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.serialization.custom_dict import CustomDictSerializer
from aws_lambda_powertools.utilities.parameters import get_parameter
from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from phiguard.core import aws, config_events, exemptions, inventory, roles
from phiguard.core.brake import Brake
from phiguard.core.control import Context, Control, ResourceGone, get_control, triggered_by
from phiguard.core.deliveries import Deliveries
from phiguard.core.events import MalformedEvent, api_call_from_event
from phiguard.core.evidence import Evidence, NoEvidence
from phiguard.core.model import (
    Action,
    Actor,
    ApiCall,
    Evaluation,
    Finding,
    Mode,
    Outcome,
    ResourceRef,
    Result,
    Status,
)
from phiguard.core.tags import read_tags

logger = Logger()
metrics = Metrics()
ELSEWHERE = "being handled by another invocation"


class Notifier(Protocol):
    def __call__(self, result: Result) -> None: ...

    def alert(self, subject: str, text: str, severity: str) -> None: ...


# Error codes that mean "the resource the event named is not there (any more)".
GONE_CODES = frozenset(
    {
        "NoSuchBucket",
        "InvalidGroup.NotFound",
        "InvalidGroupId.NotFound",
        "InvalidGroupId.Malformed",
        "LoadBalancerNotFound",
        "ListenerNotFound",
        "RuleNotFound",
        "DBInstanceNotFound",
    }
)
# Error codes that mean "the name the event gave is not a valid name": retrying cannot help.
INVALID_INPUT_CODES = frozenset(
    {"ParamValidationError", "InvalidBucketName", "ValidationError", "InvalidParameterValue", "InvalidInput"}
)
EXACTLY_ONCE_SECONDS = 24 * 3600  # how long a delivered event is remembered: EventBridge retries within 24 h
DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Forbidden"})


class RemediationFailed(Exception):
    """Raised at the end of an invocation in which any control failed, so the event is retried."""

    def __init__(self, results: list[Result]) -> None:
        self.results = results
        summary = "; ".join(
            f"{r.control_id} on {r.resource.resource_id}: {r.error or r.bookkeeping_error}" for r in results
        )
        super().__init__(f"{len(results)} control(s) failed: {summary}")


class BrakeUnavailable(Exception):
    """The brake's counter cannot be read or written: PHI Guard fails closed and makes no fix."""


class _NotDone(Exception):
    """Carries a failed result out of an idempotent run, so the record is released for the retry."""

    def __init__(self, result: Result) -> None:
        self.result = result
        super().__init__(result.error or result.bookkeeping_error)


class Engine:
    def __init__(
        self,
        context: Context,
        notify: Notifier,
        evidence: Evidence | None = None,
        brake: Brake | None = None,
        idempotency: BasePersistenceLayer | None = None,
        *,
        deliveries: Deliveries | None = None,
    ) -> None:
        self.context = context
        self.deliveries = deliveries
        self.notify = notify
        self.evidence: Evidence = evidence or NoEvidence()
        self.brake = brake
        self.idempotency_config = IdempotencyConfig(expires_after_seconds=EXACTLY_ONCE_SECONDS)
        self._decide_once: Any = None
        self._bookkeep_once: Any = None
        if idempotency:
            self._decide_once = self._idempotent(idempotency, "key", self._keyed_decision)
            self._bookkeep_once = self._idempotent(idempotency, "data", self._keyed_bookkeeping)

    def _idempotent(self, store: BasePersistenceLayer, keyword: str, function: Any) -> Any:
        serializer = CustomDictSerializer(to_dict=compact_json, from_dict=Result.from_json)
        return idempotent_function(
            data_keyword_argument=keyword,
            persistence_store=store,
            config=self.idempotency_config,
            output_serializer=serializer,
        )(function)

    @property
    def mode(self) -> Mode:
        return self.context.settings.mode

    def handle_event(self, event: Mapping[str, Any]) -> list[Result]:
        """One EventBridge event, a CloudTrail API call or an AWS Config change: which controls care, on which
        resources, and run them."""
        metrics.add_metric(name="EventsReceived", unit=MetricUnit.Count, value=1)
        try:
            if config_events.is_config_event(event):
                work, actor = config_events.work_from_event(event, self.context.clients)
                return self.handle_work(work, actor)
            call = api_call_from_event(event)
        except MalformedEvent as e:
            # Retrying cannot help an event that cannot be read: log it whole and move on.
            logger.error("malformed event ignored", reason=str(e), event=event)  # noqa: TRY400 - no traceback needed
            self._alert_bad_input("PHI Guard could not read an event", f"The event was not processed: {e}.", event)
            return []
        if call.error_code:
            logger.info(
                "failed API call ignored: it changed nothing",
                event_name=call.event_name,
                error_code=call.error_code,
                event_id=call.actor.event_id,
            )
            return []
        if call.actor.session_issuer_arn in self.context.settings.self_role_arns:
            logger.info(
                "own remediation call ignored",
                event_name=call.event_name,
                role=call.actor.session_issuer_arn,
                event_id=call.actor.event_id,
            )
            return []
        return self.handle_call(call)

    def handle_call(self, call: ApiCall) -> list[Result]:
        triggered = triggered_by(call)
        work = [
            (control, each)
            for control, trigger in triggered
            for ref in trigger.resources(call)
            for each in self._expanded(control, ref)
        ]
        if not triggered:
            logger.info(
                "no control applies to this call",
                event_name=call.event_name,
                event_source=call.event_source,
                event_id=call.actor.event_id,
            )
        elif not work:
            logger.warning(
                "the call names no resource a control can read, or none in scope (such as a network load balancer)",
                event_name=call.event_name,
                request=call.request,
                response=call.response,
                event_id=call.actor.event_id,
            )
        return self.handle_work(work, call.actor)

    def _expanded(self, control: type[Control], ref: ResourceRef) -> list[ResourceRef]:
        try:
            return control(self.context).expand(ref)
        except Exception:  # judged as named: the control's own evaluation reports what is wrong
            logger.warning("could not expand the reference", control_id=control.control_id, exc_info=True)
            return [ref]

    def handle_work(self, work: list[tuple[type[Control], ResourceRef]], actor: Actor) -> list[Result]:
        """Run each (control, resource) of one event exactly once, those that fix first; raise at the end if any
        failed."""
        with roles.shared_reads(), aws.shared_reads():
            # A first delivery judges every control before any acts, all from one set of reads; what is
            # compliant, not applicable or unreadable is done, the rest runs exactly once as always.
            first = self._first_delivery(work, actor)
            judged = [self._judged_first(control, ref, actor) if first else None for control, ref in work]
            # Controls that fix go before those that only report, so a report describes the state after the
            # fixes: a rule one control revokes is not also put to a person by another.
            in_order = sorted(zip(judged, work, strict=True), key=lambda pair: pair[1][0].action is not Action.FIX)
            results: list[Result] = []
            for done, (control, ref) in in_order:
                fixing_elsewhere = [r.control_id for r in results if r.resource == ref and r.reason == ELSEWHERE]
                if done is None and fixing_elsewhere and control.action is not Action.FIX:
                    results.append(self._deferred(control, ref, actor, fixing_elsewhere))
                else:
                    results.append(done or self._run_exactly_once(control, ref, actor))
        failed = [r for r in results if r.outcome is Outcome.FAILED or r.bookkeeping_error]
        if failed:
            raise RemediationFailed(failed)
        return results

    def _deferred(self, control: type[Control], ref: ResourceRef, actor: Actor, fixing: list[str]) -> Result:
        """A report on a resource another invocation is fixing waits for that fix: that invocation reports it
        after the fix, so a person is not asked about what is being changed; this one fails to be retried."""
        logger.info("report waits for a fix in another invocation", control_id=control.control_id, fixing=fixing)
        return self._retry_later(control, ref, actor, f"waits for the fix of {', '.join(fixing)} in another invocation")

    def _retry_later(self, control: type[Control], ref: ResourceRef, actor: Actor, reason: str) -> Result:
        """Nothing done: another invocation is handling this; the result fails this one, so it is retried."""
        return Result(
            control.control_id,
            control.title,
            control.hipaa,
            ref,
            Outcome.NOT_APPLICABLE,
            self.mode,
            actor,
            reason=reason,
            bookkeeping_error=f"{ELSEWHERE}: retry later",
        )

    def _first_delivery(self, work: list[tuple[type[Control], ResourceRef]], actor: Actor) -> bool:
        """Whether this is the first attempt at an event of several controls: then the compliant ones need
        no exactly-once record (core.deliveries); one control keeps its own record, as cheap as the mark."""
        if len(work) < 2 or self.deliveries is None or self._decide_once is None or not actor.event_id:
            return False
        return self.deliveries.first(actor.event_id)

    def _judged_first(self, control: type[Control], ref: ResourceRef, actor: Actor) -> Result | None:
        """On an event's first delivery, a result that needs no exactly-once record (nothing an earlier attempt
        could have done): compliant, not applicable or unreadable now; None when it is non-compliant."""
        judged = self._decide(control(self.context), ref, actor, judge_only=True)
        return None if judged is None else self._finish(judged)

    def _run_exactly_once(self, control: type[Control], ref: ResourceRef, actor: Actor) -> Result:
        """EventBridge delivers at least once: one (event, control, resource) is acted on once, and its
        evidence and message are completed once, even when a retry is what completes them."""
        if self._decide_once is None or self._bookkeep_once is None or not actor.event_id:
            return self.run(control(self.context), ref, actor)
        self._actor = actor
        key: dict[str, Any] = {
            "event_id": actor.event_id,
            "control_id": control.control_id,
            "resource_type": ref.resource_type,
            "resource_id": ref.resource_id,
            "region": ref.region,
            "account_id": ref.account_id,
            "by_name": ref.by_name,
        }
        try:
            decided: Result = self._decide_once(key=key)
        except _NotDone as e:  # a failure is not remembered: the retry acts again; each attempt is recorded
            return self._finish(e.result)
        except IdempotencyAlreadyInProgressError:
            logger.warning("another invocation is handling this event now; this one fails so it is retried", **key)
            return self._retry_later(control, ref, actor, ELSEWHERE)
        if not decided.outcome.notified:  # compliant or not applicable: no evidence, no message to complete once
            return self._finish(decided)
        try:
            done: Result = self._bookkeep_once(data={"key": key, "result": decided.to_json()})
        except _NotDone as e:
            return e.result
        except IdempotencyAlreadyInProgressError:
            return replace(decided, bookkeeping_error="evidence and message being completed by another invocation")
        return done

    def _keyed_decision(self, key: dict[str, Any]) -> Result:
        ref = ResourceRef(key["resource_type"], key["resource_id"], key["region"], key["account_id"], key["by_name"])
        result = self.decide(get_control(key["control_id"])(self.context), ref, self._actor)
        if result.outcome is Outcome.FAILED:
            raise _NotDone(result)
        return result

    def _keyed_bookkeeping(self, data: dict[str, Any]) -> Result:
        result = self._finish(Result.from_json(data["result"]))
        if result.bookkeeping_error:
            raise _NotDone(result)  # not remembered: the retry completes the evidence and the message
        return result

    def run(self, control: Control, ref: ResourceRef, actor: Actor | None) -> Result:
        """Evaluate one resource against one control, fix it if allowed, record and notify what happened."""
        return self._finish(self.decide(control, ref, actor))

    def decide(self, control: Control, ref: ResourceRef, actor: Actor | None) -> Result:
        """Evaluate, and fix when the mode, exemptions and the brake allow; no evidence, no message yet."""
        decided = self._decide(control, ref, actor, judge_only=False)
        assert decided is not None
        return decided

    def _decide(self, control: Control, ref: ResourceRef, actor: Actor | None, *, judge_only: bool) -> Result | None:
        """decide(); with judge_only, None instead of going on when the resource is non-compliant. Who plays
        which role is read once for the run (a fix never changes it): the verifying evaluation re-reads only
        the state the fix changed."""
        with roles.shared_reads():
            return self._decide_run(control, ref, actor, judge_only=judge_only)

    def _decide_run(
        self, control: Control, ref: ResourceRef, actor: Actor | None, *, judge_only: bool
    ) -> Result | None:
        result = Result(
            control_id=control.control_id,
            title=control.title,
            hipaa=control.hipaa,
            resource=ref,
            outcome=Outcome.COMPLIANT,
            mode=self.mode,
            actor=actor,
        )
        log: dict[str, Any] = {
            "control_id": control.control_id,
            "resource_id": ref.resource_id,
            "region": ref.region,
        }
        stage = "evaluate"
        try:
            ref = control.resolve(ref)
            result = replace(result, resource=ref)
            inventory.took_page_data()  # forget what an earlier evaluation in this thread read
            before = control.evaluate(ref)
            if before.status is Status.NON_COMPLIANT and inventory.took_page_data():
                before = control.evaluate(ref)  # a fix is decided on live state, never on a sweep page's read
            result = replace(result, state_before=before.state, violations=before.violations, reason=before.reason)
            if before.status is Status.NOT_APPLICABLE:
                logger.info("not applicable", reason=before.reason, **log)
                return replace(result, outcome=Outcome.NOT_APPLICABLE)
            if before.status is Status.COMPLIANT:
                logger.info("compliant", **log)
                return result
            if judge_only:
                return None
            stage = "exemption"
            verdict = self.exemption_for(control, ref)
            if verdict and verdict.honoured:
                logger.info("exempt: left alone", note=verdict.note, **log)
                return replace(result, outcome=Outcome.EXEMPT, exemption=verdict.note, remaining=before.violations)
            if verdict:
                logger.warning("exemption not honoured", note=verdict.note, **log)
                result = replace(result, exemption=verdict.note)
            stage = "remediate"
            return self._act(control, ref, before, result)
        except BrakeUnavailable as e:
            logger.exception("no fix without the brake", **log)
            return replace(result, outcome=Outcome.FAILED, error=str(e))
        except ResourceGone as e:
            logger.info("resource gone before it could be evaluated", reason=str(e), **log)
            return replace(result, outcome=Outcome.NOT_APPLICABLE, reason=str(e))
        except (ParamValidationError, ClientError) as e:
            code = "ParamValidationError" if isinstance(e, ParamValidationError) else e.response["Error"]["Code"]
            if code in GONE_CODES:
                logger.info("resource gone", error_code=code, **log)
                return replace(result, outcome=Outcome.NOT_APPLICABLE, reason=f"resource gone ({code})")
            if code in INVALID_INPUT_CODES and stage == "evaluate":
                # AWS rejects the name the event gave: a retry cannot help. Say so once, never loop.
                logger.warning("the event names a resource AWS rejects as invalid", error=str(e), **log)
                self._alert_bad_input(
                    "PHI Guard could not evaluate a resource named by an event",
                    f"{control.control_id} on {ref.resource_id!r}: AWS said {e}",
                    None,
                )
                return replace(result, outcome=Outcome.NOT_APPLICABLE, reason=f"invalid name ({code})")
            logger.exception("control failed", stage=stage, error_code=code, **log)
            error = _describe_client_error(e, control) if isinstance(e, ClientError) else str(e)
            result = replace(result, outcome=Outcome.FAILED, error=error)
        except (BotoCoreError, Exception) as e:
            logger.exception("control failed", stage=stage, **log)
            result = replace(result, outcome=Outcome.FAILED, error=f"{type(e).__name__}: {e}")
        if stage == "remediate":
            result = self._after_failed_fix(control, ref, result)
        return result

    def _after_failed_fix(self, control: Control, ref: ResourceRef, result: Result) -> Result:
        """A fix that failed half-way may have changed something: record what is live now."""
        try:
            after = control.evaluate(ref)
        except Exception:
            logger.exception("state after a failed fix could not be read", control_id=control.control_id)
            return result
        note = " The fix may have been partly applied: the state after shows what is live now."
        return replace(result, state_after=after.state, remaining=after.violations, error=f"{result.error}{note}")

    def _act(self, control: Control, ref: ResourceRef, before: Evaluation, result: Result) -> Result:
        log: dict[str, Any] = {"control_id": control.control_id, "resource_id": ref.resource_id}
        fixable = before.fixable if control.action is Action.FIX else ()
        if not fixable:
            logger.warning("needs a person", violations=[v.summary for v in before.violations], **log)
            return replace(result, outcome=Outcome.NEEDS_ATTENTION, remaining=before.violations)
        if self.mode is Mode.DRY_RUN:
            logger.info("would remediate (dry-run)", fixes=[v.fix for v in fixable], **log)
            return replace(
                result,
                outcome=Outcome.WOULD_REMEDIATE,
                changes=tuple(v.fix for v in fixable if v.fix),
                remaining=before.manual,
            )
        if self.brake:
            try:
                decision = self.brake.reserve(ref.account_id)
            except Exception as e:
                raise BrakeUnavailable(
                    f"the blast-radius brake cannot count fixes ({e}); no fix is made without it: "
                    "check the state table and dynamodb:UpdateItem on it"
                ) from e
            if not decision.allowed:
                if decision.just_engaged:
                    self._alert_brake(ref.account_id, decision.limit, decision.window_end)
                reason = (
                    f"blast-radius brake engaged: more than {decision.limit} fixes in this account's window; "
                    f"notify-only until {decision.window_end.isoformat(timespec='minutes')}"
                )
                return replace(
                    result,
                    outcome=Outcome.HELD,
                    reason=reason,
                    changes=tuple(v.fix for v in fixable if v.fix),
                    remaining=before.manual,
                )
        try:
            changes = tuple(control.remediate(ref, before))
        except Exception:
            if self.brake:
                self.brake.release(ref.account_id)  # a failed attempt does not use up the limit
            raise
        result = replace(result, changes=changes)
        after = control.evaluate(ref)
        result = replace(result, state_after=after.state, remaining=after.manual)
        if after.fixable:
            error = "the fix was applied but the resource is still non-compliant: " + "; ".join(
                v.summary for v in after.fixable
            )
            logger.error("fix did not take", error=error, **log)
            return replace(result, outcome=Outcome.FAILED, error=error, remaining=after.violations)
        outcome = Outcome.NEEDS_ATTENTION if after.manual else Outcome.REMEDIATED
        logger.info("remediated", changes=list(changes), outcome=str(outcome), **log)
        return replace(result, outcome=outcome)

    def exemption_for(self, control: Control, ref: ResourceRef) -> exemptions.Verdict | None:
        """The best exemption covering this control on this resource, judged today; None when there is none.
        Any valid one is honoured; otherwise the first expired or malformed one is reported."""
        tagged = exemptions.from_tags(read_tags(self.context, ref))
        found = [
            e
            for e in [tagged, *exemptions.from_list(self._exemption_list(), ref.resource_id)]
            if e is not None and e.covers(control.control_id)
        ]
        verdicts = [exemptions.judge(e, datetime.now(UTC).date()) for e in found]
        return next((v for v in verdicts if v.honoured), verdicts[0] if verdicts else None)

    def _exemption_list(self) -> list[Mapping[str, Any]]:
        entries = list(self.context.settings.exemptions)
        name = self.context.settings.exemptions_parameter
        if name:
            try:
                entries += exemptions.parse_list(str(get_parameter(name, max_age=300)))
            except ValueError as e:
                raise ValueError(
                    f"the exemption list in SSM parameter {name} is not valid JSON of the documented form: {e}"
                ) from e
        return entries

    def _alert_bad_input(self, subject: str, text: str, event: Mapping[str, Any] | None) -> None:
        excerpt = json.dumps(event, default=str)[:2000] if event is not None else ""
        try:
            self.notify.alert(subject, f"{text}\n\n{excerpt}".strip(), "warning")
        except Exception:
            logger.exception("bad-input alert could not be sent")

    def _alert_brake(self, account_id: str, limit: int, window_end: datetime) -> None:
        text = (
            f"PHI Guard's blast-radius brake engaged in account {account_id}.\n\n"
            f"More than {limit} fixes were needed within one window, which a normal day never reaches: a bad "
            f"rollout or a mass change is likely. PHI Guard is notify-only for this account until "
            f"{window_end.isoformat(timespec='minutes')}; every held fix is reported (outcome 'held') and "
            f"recorded as evidence. It resumes fixing by itself when the window ends.\n\n"
            f"Look at the recent changes in this account before then."
        )
        try:
            self.notify.alert(f"PHI Guard CRITICAL: blast-radius brake engaged in {account_id}", text, "critical")
        except Exception:
            logger.exception("brake alert could not be sent", account_id=account_id)

    def _finish(self, result: Result) -> Result:
        """Record evidence, then notify; a failure of either is logged whole and fails the invocation."""
        metrics.add_metric(name=f"Outcome_{result.outcome}", unit=MetricUnit.Count, value=1)
        if not result.outcome.notified:
            return result
        try:
            result = replace(result, evidence_id=self.evidence.record(result))
        except Exception as e:
            logger.exception("evidence could not be recorded", result=result.to_json())
            result = replace(result, bookkeeping_error=f"evidence not recorded: {type(e).__name__}: {e}")
        try:
            self.notify(result)
        except Exception as e:
            logger.exception("notification failed", result=result.to_json())
            problem = f"notification not sent: {type(e).__name__}: {e}"
            result = replace(result, bookkeeping_error="; ".join(filter(None, [result.bookkeeping_error, problem])))
        return result

    def assess(self, control: Control, ref: ResourceRef) -> Finding:
        """Read-only: judge one resource, with any exemption; changes, records and notifies nothing."""
        finding = Finding(control.control_id, control.title, control.hipaa, control.action, ref, None)
        try:
            ref = control.resolve(ref)
            finding = replace(finding, resource=ref)
            evaluation = control.evaluate(ref)
            finding = replace(
                finding, status=evaluation.status, violations=evaluation.violations, reason=evaluation.reason
            )
            if evaluation.status is Status.NON_COMPLIANT:
                verdict = self.exemption_for(control, ref)
                if verdict and verdict.honoured:
                    finding = replace(finding, exemption=verdict.note)
        except ResourceGone as e:
            return replace(finding, status=Status.NOT_APPLICABLE, reason=str(e))
        except ClientError as e:
            code = e.response["Error"]["Code"]
            if code in GONE_CODES:
                return replace(finding, status=Status.NOT_APPLICABLE, reason=f"resource gone ({code})")
            return replace(finding, status=None, error=_describe_client_error(e, control))
        except Exception as e:  # noqa: BLE001 - one resource that cannot be judged must not stop a scan
            return replace(finding, status=None, error=f"{type(e).__name__}: {e}")
        return finding


def compact_json(result: Result, limit: int = 250_000) -> dict[str, Any]:
    """The result as JSON, its states left out when they would not fit a DynamoDB item."""
    data: dict[str, Any] = json.loads(json.dumps(result.to_json(), default=str))  # datetimes become text
    if len(json.dumps(data)) > limit:
        omitted = {"omitted": "too large; the evidence row has the state"}
        data = {**data, "state_before": omitted, "state_after": omitted if data["state_after"] is not None else None}
    return data


_IAM_ACTIONS = {"ListBuckets": "s3:ListAllMyBuckets"}  # where the IAM action is not named after the operation


def permission_for(operation: str, permissions: Iterable[str]) -> str | None:
    """The IAM action among these that an API operation needs, when it can be told."""
    return _IAM_ACTIONS.get(operation) or next((p for p in permissions if p.split(":")[1] == operation), None)


def _describe_client_error(error: ClientError, control: Control) -> str:
    code = error.response.get("Error", {}).get("Code", "")
    message = error.response.get("Error", {}).get("Message", "")
    operation = error.operation_name
    if code in DENIED_CODES:
        needed = permission_for(operation, control.permissions) or f"one of {', '.join(control.permissions)}"
        return (
            f"{code} on {operation}: {message}. PHI Guard's role lacks a permission this control needs "
            f"({needed}); check the deployed template and any SCP or permission boundary."
        )
    return f"{code} on {operation}: {message}"
