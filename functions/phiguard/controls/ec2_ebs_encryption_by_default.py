"""ec2-ebs-encryption-by-default: EBS encryption by default is on, in every region PHI Guard sees.

Scenarios:
- Given encryption by default turned off in a region, Then it is turned on in that region (the event's
  region, whichever region the function runs in), with the configured default key when there is one.
- Given it is on, Then it is compliant.
"""

from __future__ import annotations

from phiguard.core.control import Control, register
from phiguard.core.events import the_account
from phiguard.core.model import Action, Evaluation, ResourceRef, Result, Severity, Trigger, Violation


@register
class Ec2EbsEncryptionByDefault(Control):
    control_id = "ec2-ebs-encryption-by-default"
    title = "EBS encryption by default is on in each region"
    resource_type = "AWS::::Account"
    hipaa = ("164.312(a)(2)(iv)", "164.312(e)(2)(ii)")
    action = Action.FIX
    severity = Severity.HIGH
    permissions = (
        "ec2:GetEbsEncryptionByDefault",
        "ec2:EnableEbsEncryptionByDefault",
        "ec2:DisableEbsEncryptionByDefault",
        "ec2:ModifyEbsDefaultKmsKeyId",
    )
    triggers = (Trigger("aws.ec2", "DisableEbsEncryptionByDefault", the_account),)

    def evaluate(self, ref: ResourceRef) -> Evaluation:
        on = self.clients.ec2(ref.region).get_ebs_encryption_by_default()["EbsEncryptionByDefault"]
        state = {"region": ref.region, "EbsEncryptionByDefault": on}
        if on:
            return Evaluation.of(state, [])
        key = f" with default key {self.settings.ebs_kms_key_id}" if self.settings.ebs_kms_key_id else ""
        return Evaluation.of(
            state,
            [
                Violation(
                    summary=f"EBS encryption by default is off in {ref.region}",
                    fix=f"turn EBS encryption by default on in {ref.region}{key}",
                )
            ],
        )

    def remediate(self, ref: ResourceRef, evaluation: Evaluation) -> list[str]:
        ec2 = self.clients.ec2(ref.region)
        ec2.enable_ebs_encryption_by_default()
        if self.settings.ebs_kms_key_id:
            ec2.modify_ebs_default_kms_key_id(KmsKeyId=self.settings.ebs_kms_key_id)
        return [v.fix for v in evaluation.fixable if v.fix]

    def revert(self, ref: ResourceRef, fixed: Result) -> list[str]:
        self.clients.ec2(ref.region).disable_ebs_encryption_by_default()
        return [f"turned EBS encryption by default off in {ref.region} (as before the fix)"]
