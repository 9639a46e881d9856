"""multi-region-cloudtrail-enabled: the trail records every region.

Scenarios:
- Given a single-region trail, Then it is made multi-region (IsMultiRegionTrail only: its other settings stay).
- Given a single-region trail that excludes global service events, Then a person is told (CloudTrail refuses a
  multi-region trail without them, and PHI Guard changes nothing else).
- Given a multi-region trail, Then it is compliant and left alone.
- Given a trail deleted before the event is handled, Then it is not applicable.
"""

from __future__ import annotations

from phiguard.core import trails
from phiguard.core.control import Control, NotRevertible, register
from phiguard.core.model import Action, Evaluation, ResourceRef, Result, Severity, Trigger, Violation


@register
class MultiRegionCloudTrailEnabled(Control):
    control_id = "multi-region-cloudtrail-enabled"
    title = "CloudTrail trails record every region"
    resource_type = trails.TRAIL
    hipaa = ("164.308(a)(3)(ii)(A)", "164.312(b)")
    action = Action.FIX
    severity = Severity.HIGH
    permissions = (*trails.READ_PERMISSIONS, "cloudtrail:UpdateTrail")
    triggers = tuple(Trigger("aws.cloudtrail", name, trails.trails) for name in ("UpdateTrail", "CreateTrail"))

    def resolve(self, ref: ResourceRef) -> ResourceRef:
        return trails.resolve(self.context, ref)

    def evaluate(self, ref: ResourceRef) -> Evaluation:
        trail = trails.read(self.context, ref)
        multi_region = bool(trail.get("IsMultiRegionTrail"))
        global_events = bool(trail.get("IncludeGlobalServiceEvents"))
        state = {"multi_region": multi_region, "global_service_events": global_events}
        if multi_region:
            return Evaluation.of(state, [])
        if not global_events:
            return Evaluation.of(
                state,
                [
                    Violation(
                        summary="the trail records one region only, and excludes global service events",
                        fix=None,
                        manual_steps=(
                            "CloudTrail accepts a multi-region trail only when it includes global service events "
                            "(IAM, STS, CloudFront): turn both on, e.g. `aws cloudtrail update-trail --name "
                            f"{ref.resource_id} --is-multi-region-trail --include-global-service-events "
                            f"--region {ref.region}`.",
                        ),
                    )
                ],
            )
        return Evaluation.of(
            state, [Violation(summary="the trail records one region only", fix="make the trail multi-region")]
        )

    def remediate(self, ref: ResourceRef, evaluation: Evaluation) -> list[str]:
        self.clients.cloudtrail(ref.region).update_trail(Name=ref.resource_id, IsMultiRegionTrail=True)
        return [v.fix for v in evaluation.fixable if v.fix]

    def revert(self, ref: ResourceRef, fixed: Result) -> list[str]:
        if fixed.state_before.get("multi_region"):
            raise NotRevertible("the trail was multi-region before; nothing was changed")
        self.clients.cloudtrail(ref.region).update_trail(Name=ref.resource_id, IsMultiRegionTrail=False)
        return ["made the trail single-region again (as before the fix)"]
