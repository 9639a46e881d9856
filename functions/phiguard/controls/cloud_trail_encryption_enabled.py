"""cloud-trail-encryption-enabled: the trail's log files are encrypted with a KMS key (SSE-KMS).

Scenarios:
- Given a trail without a KMS key and a configured CloudTrail key, Then the trail is encrypted with that key
  (KmsKeyId only: its other settings stay).
- Given no CloudTrail key configured, Then a person is told the steps.
- Given a trail encrypted with any KMS key, Then it is compliant and left alone.
- Given a trail deleted before the event is handled, Then it is not applicable.
"""

from __future__ import annotations

from phiguard.core import trails
from phiguard.core.control import Control, NotRevertible, register
from phiguard.core.model import Action, Evaluation, ResourceRef, Result, Severity, Trigger, Violation


@register
class CloudTrailEncryptionEnabled(Control):
    control_id = "cloud-trail-encryption-enabled"
    title = "CloudTrail logs are encrypted with KMS"
    resource_type = trails.TRAIL
    hipaa = ("164.312(a)(2)(iv)", "164.312(e)(2)(ii)")
    action = Action.FIX
    severity = Severity.HIGH
    permissions = (*trails.READ_PERMISSIONS, "cloudtrail:UpdateTrail")
    triggers = tuple(Trigger("aws.cloudtrail", name, trails.trails) for name in ("UpdateTrail", "CreateTrail"))

    def resolve(self, ref: ResourceRef) -> ResourceRef:
        return trails.resolve(self.context, ref)

    def evaluate(self, ref: ResourceRef) -> Evaluation:
        key = trails.read(self.context, ref).get("KmsKeyId") or None
        state = {"kms_key_id": key}
        if key:
            return Evaluation.of(state, [])
        configured = self.settings.cloudtrail_kms_key_id
        if not configured:
            return Evaluation.of(
                state,
                [
                    Violation(
                        summary="the trail's log files are not encrypted with a KMS key",
                        fix=None,
                        manual_steps=(
                            "Create a KMS key in the trail's home region whose key policy lets "
                            "cloudtrail.amazonaws.com use it (kms:GenerateDataKey*, kms:DescribeKey), and set it "
                            "as PHI Guard's CloudTrail key (deployment parameter CloudTrailKmsKeyId) so trails are "
                            "encrypted with it, or set it by hand: CloudTrail console > Trails > "
                            f"{trails.trail_name(ref)} > General details > Edit > Log file SSE-KMS encryption.",
                        ),
                    )
                ],
            )
        return Evaluation.of(
            state,
            [
                Violation(
                    summary="the trail's log files are not encrypted with a KMS key",
                    fix=f"encrypt the trail's log files with KMS key {configured}",
                )
            ],
        )

    def remediate(self, ref: ResourceRef, evaluation: Evaluation) -> list[str]:
        self.clients.cloudtrail(ref.region).update_trail(
            Name=ref.resource_id, KmsKeyId=str(self.settings.cloudtrail_kms_key_id)
        )
        return [v.fix for v in evaluation.fixable if v.fix]

    def revert(self, ref: ResourceRef, fixed: Result) -> list[str]:
        if fixed.state_before.get("kms_key_id"):
            raise NotRevertible("the trail was encrypted before; nothing was changed")
        self.clients.cloudtrail(ref.region).update_trail(Name=ref.resource_id, KmsKeyId="")
        return ["removed the trail's KMS encryption again (as before the fix)"]
