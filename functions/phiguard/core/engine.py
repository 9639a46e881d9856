"""The one engine: evaluate -> (mode allows?) remediate -> evaluate again -> notify.

One failing control never stops the others; failures are notified, then raised together at the end
so Lambda's retries and the on-failure destination keep the event.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from botocore.exceptions import BotoCoreError, ClientError

from phiguard.core.control import Context, Control, ResourceGone, triggered_by
from phiguard.core.events import MalformedEvent, api_call_from_event
from phiguard.core.model import (
    Action,
    ApiCall,
    Evaluation,
    Mode,
    Outcome,
    ResourceRef,
    Result,
    Status,
)

logger = Logger()
metrics = Metrics()

Notifier = Callable[[Result], None]

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
DENIED_CODES = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Forbidden"})


class RemediationFailed(Exception):
    """Raised at the end of an invocation in which any control failed, so the event is retried."""

    def __init__(self, results: list[Result]) -> None:
        self.results = results
        summary = "; ".join(
            f"{r.control_id} on {r.resource.resource_id}: {r.error or r.notification_error}" for r in results
        )
        super().__init__(f"{len(results)} control(s) failed: {summary}")


class Engine:
    def __init__(self, context: Context, notify: Notifier) -> None:
        self.context = context
        self.notify = notify

    @property
    def mode(self) -> Mode:
        return self.context.settings.mode

    def handle_event(self, event: Mapping[str, Any]) -> list[Result]:
        """One EventBridge CloudTrail event: which controls care, on which resources, and run them."""
        metrics.add_metric(name="EventsReceived", unit=MetricUnit.Count, value=1)
        try:
            call = api_call_from_event(event)
        except MalformedEvent as e:
            # Retrying cannot help an event that cannot be read: log it whole and move on.
            logger.error("malformed event ignored", reason=str(e), event=event)  # noqa: TRY400 - no traceback needed
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
        work = [(control, ref) for control, trigger in triggered_by(call) for ref in trigger.resources(call)]
        if not work:
            logger.info(
                "no control applies to this call",
                event_name=call.event_name,
                event_source=call.event_source,
                event_id=call.actor.event_id,
            )
        results = [self.run(control(self.context), ref, call) for control, ref in work]
        failed = [r for r in results if r.outcome is Outcome.FAILED or r.notification_error]
        if failed:
            raise RemediationFailed(failed)
        return results

    def run(self, control: Control, ref: ResourceRef, call: ApiCall | None) -> Result:
        """Evaluate one resource against one control, fix it if allowed, and notify what happened."""
        result = Result(
            control_id=control.control_id,
            title=control.title,
            hipaa=control.hipaa,
            resource=ref,
            outcome=Outcome.COMPLIANT,
            mode=self.mode,
            actor=call.actor if call else None,
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
            before = control.evaluate(ref)
            result = replace(result, state_before=before.state, violations=before.violations, reason=before.reason)
            if before.status is Status.NOT_APPLICABLE:
                logger.info("not applicable", reason=before.reason, **log)
                return self._finish(replace(result, outcome=Outcome.NOT_APPLICABLE))
            if before.status is Status.COMPLIANT:
                logger.info("compliant", **log)
                return self._finish(result)
            stage = "remediate"
            return self._act(control, ref, before, result)
        except ResourceGone as e:
            logger.info("resource gone before it could be evaluated", reason=str(e), **log)
            return self._finish(replace(result, outcome=Outcome.NOT_APPLICABLE, reason=str(e)))
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code", "")
            if code in GONE_CODES:
                logger.info("resource gone", error_code=code, **log)
                return self._finish(replace(result, outcome=Outcome.NOT_APPLICABLE, reason=f"resource gone ({code})"))
            logger.exception("control failed", stage=stage, error_code=code, **log)
            result = replace(result, outcome=Outcome.FAILED, error=_describe_client_error(e, control))
        except (BotoCoreError, Exception) as e:
            logger.exception("control failed", stage=stage, **log)
            result = replace(result, outcome=Outcome.FAILED, error=f"{type(e).__name__}: {e}")
        return self._finish(result)

    def _act(self, control: Control, ref: ResourceRef, before: Evaluation, result: Result) -> Result:
        log: dict[str, Any] = {"control_id": control.control_id, "resource_id": ref.resource_id}
        fixable = before.fixable if control.action is Action.FIX else ()
        if not fixable:
            logger.warning("needs a person", violations=[v.summary for v in before.violations], **log)
            return self._finish(replace(result, outcome=Outcome.NEEDS_ATTENTION, remaining=before.violations))
        if self.mode is Mode.DRY_RUN:
            logger.info("would remediate (dry-run)", fixes=[v.fix for v in fixable], **log)
            return self._finish(
                replace(
                    result,
                    outcome=Outcome.WOULD_REMEDIATE,
                    changes=tuple(v.fix for v in fixable if v.fix),
                    remaining=before.manual,
                )
            )
        changes = tuple(control.remediate(ref, before))
        result = replace(result, changes=changes)
        after = control.evaluate(ref)
        result = replace(result, state_after=after.state, remaining=after.manual)
        if after.fixable:
            error = "the fix was applied but the resource is still non-compliant: " + "; ".join(
                v.summary for v in after.fixable
            )
            logger.error("fix did not take", error=error, **log)
            return self._finish(replace(result, outcome=Outcome.FAILED, error=error, remaining=after.violations))
        outcome = Outcome.NEEDS_ATTENTION if after.manual else Outcome.REMEDIATED
        logger.info("remediated", changes=list(changes), outcome=str(outcome), **log)
        return self._finish(replace(result, outcome=outcome))

    def _finish(self, result: Result) -> Result:
        """Notify what happened; a message that cannot be sent is logged whole and fails the invocation."""
        metrics.add_metric(name=f"Outcome_{result.outcome}", unit=MetricUnit.Count, value=1)
        if not result.outcome.notified:
            return result
        try:
            self.notify(result)
        except Exception as e:
            logger.exception("notification failed", result=result.to_json())
            return replace(result, notification_error=f"{type(e).__name__}: {e}")
        return result


def _describe_client_error(error: ClientError, control: Control) -> str:
    code = error.response.get("Error", {}).get("Code", "")
    message = error.response.get("Error", {}).get("Message", "")
    operation = error.operation_name
    if code in DENIED_CODES:
        needed = ", ".join(control.permissions)
        return (
            f"{code} on {operation}: {message}. PHI Guard's role is missing a permission this control "
            f"needs (one of: {needed}); check the deployed template and any SCP or permission boundary."
        )
    return f"{code} on {operation}: {message}"
