"""cloud-trail-cloud-watch-logs-enabled: the trail delivers its events to CloudWatch Logs.

Scenarios:
- Given a trail without CloudWatch Logs delivery and a configured log group and role, Then the trail delivers
  to that group (CloudWatchLogsLogGroupArn and CloudWatchLogsRoleArn only: its other settings stay).
- Given no log group or no role configured, Then a person is told the steps.
- Given a trail delivering to any log group, Then it is compliant and left alone.
- Given a trail deleted before the event is handled, Then it is not applicable.
"""

from __future__ import annotations

from phiguard.core import trails
from phiguard.core.control import Control, NotRevertible, register
from phiguard.core.model import Action, Evaluation, ResourceRef, Result, Trigger, Violation


@register
class CloudTrailCloudWatchLogsEnabled(Control):
    control_id = "cloud-trail-cloud-watch-logs-enabled"
    title = "CloudTrail trails deliver to CloudWatch Logs"
    resource_type = trails.TRAIL
    hipaa = ("164.308(a)(3)(ii)(A)", "164.312(b)")
    action = Action.FIX  # when a log group and a role are configured; otherwise notify
    permissions = (*trails.READ_PERMISSIONS, "cloudtrail:UpdateTrail", "iam:PassRole")
    triggers = tuple(Trigger("aws.cloudtrail", name, trails.trails) for name in ("UpdateTrail", "CreateTrail"))

    def resolve(self, ref: ResourceRef) -> ResourceRef:
        return trails.resolve(self.context, ref)

    def evaluate(self, ref: ResourceRef) -> Evaluation:
        trail = trails.read(self.context, ref)
        group = trail.get("CloudWatchLogsLogGroupArn") or None
        state = {"log_group_arn": group, "logs_role_arn": trail.get("CloudWatchLogsRoleArn") or None}
        if group:
            return Evaluation.of(state, [])
        summary = "the trail does not deliver to CloudWatch Logs (no alarms can watch its events)"
        configured, role = self.settings.cloudtrail_log_group_arn, self.settings.cloudtrail_logs_role_arn
        if not (configured and role):
            return Evaluation.of(
                state,
                [
                    Violation(
                        summary=summary,
                        fix=None,
                        manual_steps=(
                            "Create a log group in the trail's home region and a role that cloudtrail.amazonaws.com "
                            "can assume with logs:CreateLogStream and logs:PutLogEvents on it; set both as PHI "
                            "Guard's CloudTrail log group and role (parameters CloudTrailLogGroupArn, "
                            "CloudTrailLogsRoleArn) so trails deliver there, or set them by hand: "
                            f"CloudTrail console > Trails > {trails.trail_name(ref)} > CloudWatch Logs > Edit.",
                        ),
                    )
                ],
            )
        return Evaluation.of(state, [Violation(summary=summary, fix=f"deliver the trail's events to {configured}")])

    def remediate(self, ref: ResourceRef, evaluation: Evaluation) -> list[str]:
        self.clients.cloudtrail(ref.region).update_trail(
            Name=ref.resource_id,
            CloudWatchLogsLogGroupArn=str(self.settings.cloudtrail_log_group_arn),
            CloudWatchLogsRoleArn=str(self.settings.cloudtrail_logs_role_arn),
        )
        return [v.fix for v in evaluation.fixable if v.fix]

    def revert(self, ref: ResourceRef, fixed: Result) -> list[str]:
        if fixed.state_before.get("log_group_arn"):
            raise NotRevertible("the trail delivered to CloudWatch Logs before; nothing was changed")
        self.clients.cloudtrail(ref.region).update_trail(
            Name=ref.resource_id, CloudWatchLogsLogGroupArn="", CloudWatchLogsRoleArn=""
        )
        return ["stopped CloudWatch Logs delivery again (as before the fix)"]
