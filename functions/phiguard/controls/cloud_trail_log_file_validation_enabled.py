"""cloud-trail-log-file-validation-enabled: the trail's log files are signed with digest files.

Scenarios:
- Given a trail without log file validation, Then validation is turned on (EnableLogFileValidation only: its
  other settings stay).
- Given validation on, Then it is compliant and left alone.
- Given a trail deleted before the event is handled, Then it is not applicable.
"""

from __future__ import annotations

from phiguard.core import trails
from phiguard.core.control import Control, NotRevertible, register
from phiguard.core.model import Action, Evaluation, ResourceRef, Result, Trigger, Violation


@register
class CloudTrailLogFileValidationEnabled(Control):
    control_id = "cloud-trail-log-file-validation-enabled"
    title = "CloudTrail log file validation is on"
    resource_type = trails.TRAIL
    hipaa = ("164.312(c)(1)", "164.312(c)(2)")
    action = Action.FIX
    permissions = (*trails.READ_PERMISSIONS, "cloudtrail:UpdateTrail")
    triggers = tuple(Trigger("aws.cloudtrail", name, trails.trails) for name in ("UpdateTrail", "CreateTrail"))

    def resolve(self, ref: ResourceRef) -> ResourceRef:
        return trails.resolve(self.context, ref)

    def evaluate(self, ref: ResourceRef) -> Evaluation:
        validation = bool(trails.read(self.context, ref).get("LogFileValidationEnabled"))
        state = {"log_file_validation": validation}
        if validation:
            return Evaluation.of(state, [])
        return Evaluation.of(
            state, [Violation(summary="log file validation is off", fix="turn log file validation on")]
        )

    def remediate(self, ref: ResourceRef, evaluation: Evaluation) -> list[str]:
        self.clients.cloudtrail(ref.region).update_trail(Name=ref.resource_id, EnableLogFileValidation=True)
        return [v.fix for v in evaluation.fixable if v.fix]

    def revert(self, ref: ResourceRef, fixed: Result) -> list[str]:
        if fixed.state_before.get("log_file_validation"):
            raise NotRevertible("log file validation was on before; nothing was changed")
        self.clients.cloudtrail(ref.region).update_trail(Name=ref.resource_id, EnableLogFileValidation=False)
        return ["turned log file validation off again (as before the fix)"]
