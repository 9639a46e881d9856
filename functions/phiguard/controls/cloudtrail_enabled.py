"""cloudtrail-enabled: the trail is logging.

Scenarios:
- Given a trail whose logging was stopped, Then logging is started again.
- Given a trail named by ARN in an event from another region than its home, Then logging is started in the
  trail's home region.
- Given a trail named by name only, Then it is found in the event's region (or as the shadow of a multi-region
  trail) and acted on in its home region.
- Given a deleted trail, Then a person is told the steps to recreate it (a deleted trail is the drift itself,
  not a resource gone).
- Given a trail that is logging, Then it is compliant and left alone.
"""

from __future__ import annotations

from phiguard.core import trails
from phiguard.core.control import Control, NotRevertible, ResourceGone, register
from phiguard.core.model import Action, Evaluation, ResourceRef, Result, Severity, Trigger, Violation


@register
class CloudTrailEnabled(Control):
    control_id = "cloudtrail-enabled"
    title = "CloudTrail trails are logging"
    resource_type = trails.TRAIL
    hipaa = ("164.308(a)(3)(ii)(A)", "164.308(a)(5)(ii)(C)", "164.312(b)")
    action = Action.FIX
    severity = Severity.CRITICAL
    permissions = (
        "cloudtrail:DescribeTrails",
        "cloudtrail:GetTrailStatus",
        "cloudtrail:StartLogging",
        "cloudtrail:StopLogging",
    )
    triggers = tuple(Trigger("aws.cloudtrail", name, trails.trails) for name in ("StopLogging", "DeleteTrail"))

    def resolve(self, ref: ResourceRef) -> ResourceRef:
        try:
            return trails.resolve(self.context, ref)
        except ResourceGone:
            # Deleted by name: DeleteTrail by name reaches only the trails of its own region, so that region
            # was the trail's home. evaluate() reports the deletion.
            arn = trails.trail_arn(ref.resource_id, ref.region, ref.account_id)
            return ResourceRef(ref.resource_type, arn, ref.region, ref.account_id)

    def evaluate(self, ref: ResourceRef) -> Evaluation:
        try:
            logging = trails.is_logging(self.context, ref)
        except ResourceGone:
            return Evaluation.of({"exists": False, "logging": False}, [self._deleted(ref)])
        state = {"exists": True, "logging": logging}
        if logging:
            return Evaluation.of(state, [])
        return Evaluation.of(state, [Violation(summary="the trail is not logging", fix="start logging")])

    def remediate(self, ref: ResourceRef, evaluation: Evaluation) -> list[str]:
        self.clients.cloudtrail(ref.region).start_logging(Name=ref.resource_id)
        return [f"started logging (in {ref.region})"]

    def revert(self, ref: ResourceRef, fixed: Result) -> list[str]:
        if not fixed.state_before.get("exists", True):
            raise NotRevertible("the trail was deleted; nothing was changed")
        self.clients.cloudtrail(ref.region).stop_logging(Name=ref.resource_id)
        return ["stopped logging again (as before the fix)"]

    @staticmethod
    def _deleted(ref: ResourceRef) -> Violation:
        name, region = trails.trail_name(ref), ref.region
        return Violation(
            summary=f"the trail {name} was deleted: API activity it recorded is no longer logged",
            fix=None,
            detail={"trail": ref.resource_id, "home_region": region},
            manual_steps=(
                f"Find out why {name} was deleted (the actor of this DeleteTrail call): deleting an audit trail "
                "is a security event in itself.",
                f"Recreate it in {region}: CloudTrail console > Trails > Create trail, or `aws cloudtrail create-trail "
                f"--name {name} --s3-bucket-name <log bucket> --is-multi-region-trail --enable-log-file-validation "
                f"--kms-key-id <key ARN> --region {region}`; add CloudWatch Logs delivery as before.",
                f"Start it: `aws cloudtrail start-logging --name {name} --region {region}` (a trail created by API "
                "does not log until it is started).",
                "If another multi-region trail already records this account's activity, record that instead. The "
                "log files already delivered stay in the old trail's S3 bucket.",
            ),
        )
