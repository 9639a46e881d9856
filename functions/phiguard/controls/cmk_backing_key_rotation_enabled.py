"""cmk-backing-key-rotation-enabled: symmetric customer-managed KMS keys rotate their key material.

Scenarios:
- Given a symmetric customer key without rotation, Then automatic rotation is enabled.
- Given rotation enabled, Then it is compliant.
- Given an asymmetric, HMAC, imported-material or custom-key-store key, Then it is not applicable (KMS
  cannot rotate those automatically).
- Given an AWS-managed key, Then it is not applicable (AWS rotates it).
- Given a key pending deletion or disabled, Then it is not applicable here (kms-cmk-not-scheduled-for-deletion
  deals with deletion; rotation cannot be enabled on it).
- Given a key that does not exist, Then it is not applicable.
"""

from __future__ import annotations

from phiguard.core import kms
from phiguard.core.control import Control, register
from phiguard.core.model import Action, Evaluation, ResourceRef, Result, Trigger, Violation


@register
class CmkBackingKeyRotationEnabled(Control):
    control_id = "cmk-backing-key-rotation-enabled"
    title = "Symmetric customer KMS keys rotate automatically"
    resource_type = kms.KEY
    hipaa = ("164.312(a)(2)(iv)", "164.312(e)(2)(ii)")
    action = Action.FIX
    permissions = ("kms:DescribeKey", "kms:GetKeyRotationStatus", "kms:EnableKeyRotation", "kms:DisableKeyRotation")
    triggers = tuple(Trigger("aws.kms", name, kms.keys) for name in ("CreateKey", "DisableKeyRotation"))

    def evaluate(self, ref: ResourceRef) -> Evaluation:
        metadata = kms.describe(self.context, ref)
        reason = _not_rotatable(metadata)
        if reason:
            return Evaluation.not_applicable(reason)
        rotating = self.clients.kms(ref.region).get_key_rotation_status(KeyId=metadata["KeyId"])["KeyRotationEnabled"]
        state = {**kms.state_of(metadata), "KeyRotationEnabled": rotating}
        if rotating:
            return Evaluation.of(state, [])
        return Evaluation.of(
            state, [Violation(summary="automatic key rotation is off", fix="enable automatic key rotation")]
        )

    def remediate(self, ref: ResourceRef, evaluation: Evaluation) -> list[str]:
        self.clients.kms(ref.region).enable_key_rotation(KeyId=str(evaluation.state["KeyId"]))
        return ["enabled automatic key rotation"]

    def revert(self, ref: ResourceRef, fixed: Result) -> list[str]:
        self.clients.kms(ref.region).disable_key_rotation(KeyId=str(fixed.state_before["KeyId"]))
        return ["disabled automatic key rotation again (as before the fix)"]


def _not_rotatable(metadata: dict[str, object]) -> str | None:
    if metadata.get("KeyManager") != "CUSTOMER":
        return "an AWS-managed key: AWS rotates it"
    if metadata.get("KeySpec", "SYMMETRIC_DEFAULT") != "SYMMETRIC_DEFAULT":
        return f"a {metadata.get('KeySpec')} key cannot rotate automatically"
    if metadata.get("Origin") != "AWS_KMS" or metadata.get("CustomKeyStoreId"):
        return "imported key material or a custom key store cannot rotate automatically"
    if metadata.get("KeyState") != "Enabled":
        return f"the key is {metadata.get('KeyState')}"
    return None
