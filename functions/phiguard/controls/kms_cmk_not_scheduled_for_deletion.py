"""kms-cmk-not-scheduled-for-deletion: no customer-managed KMS key is pending deletion.

Deleting a key makes every record encrypted with it unreadable for good: PHI Guard cancels the
deletion and enables the key again (CancelKeyDeletion leaves it disabled).

Scenarios:
- Given a customer key scheduled for deletion, Then the deletion is cancelled and the key enabled.
- Given an enabled key, Then it is compliant.
- Given an AWS-managed key, Then it is not applicable.
- Given a key that no longer exists, Then it is not applicable.
"""

from __future__ import annotations

from phiguard.core import kms
from phiguard.core.control import Control, register
from phiguard.core.model import Action, Evaluation, ResourceRef, Severity, Trigger, Violation


@register
class KmsCmkNotScheduledForDeletion(Control):
    control_id = "kms-cmk-not-scheduled-for-deletion"
    title = "No customer KMS key is scheduled for deletion"
    resource_type = kms.KEY
    hipaa = ("164.312(a)(2)(iv)",)
    action = Action.FIX
    severity = Severity.CRITICAL
    permissions = ("kms:DescribeKey", "kms:CancelKeyDeletion", "kms:EnableKey")
    triggers = (Trigger("aws.kms", "ScheduleKeyDeletion", kms.keys),)

    def evaluate(self, ref: ResourceRef) -> Evaluation:
        metadata = kms.describe(self.context, ref)
        if metadata.get("KeyManager") != "CUSTOMER":
            return Evaluation.not_applicable("an AWS-managed key")
        state = kms.state_of(metadata)
        if metadata.get("KeyState") not in ("PendingDeletion", "PendingReplicaDeletion"):
            return Evaluation.of(state, [])
        return Evaluation.of(
            state,
            [
                Violation(
                    summary=f"the key is scheduled for deletion on {metadata.get('DeletionDate')}: data encrypted "
                    "with it would become unreadable",
                    fix="cancel the key deletion, then enable the key (cancelling leaves it disabled)",
                )
            ],
        )

    def remediate(self, ref: ResourceRef, evaluation: Evaluation) -> list[str]:
        client, key_id = self.clients.kms(ref.region), str(evaluation.state["KeyId"])
        client.cancel_key_deletion(KeyId=key_id)
        client.enable_key(KeyId=key_id)
        return ["cancelled the key deletion", "enabled the key"]
