"""s3-account-level-public-access-blocks: the account's S3 Block Public Access flags are all true.

Scenarios:
- Given an account without an account-level public access block, Then all four flags are set true.
- Given an account with some flags false, Then all four are set true.
- Given all four true, Then it is compliant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from phiguard.core import s3
from phiguard.core.control import Control, register
from phiguard.core.events import the_account
from phiguard.core.model import Action, Evaluation, ResourceRef, Result, Severity, Trigger

if TYPE_CHECKING:
    from mypy_boto3_s3control.type_defs import PublicAccessBlockConfigurationTypeDef

ALL_ON: PublicAccessBlockConfigurationTypeDef = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


@register
class S3AccountLevelPublicAccessBlocks(Control):
    control_id = "s3-account-level-public-access-blocks"
    title = "S3 account-level Block Public Access is on (all four flags)"
    resource_type = "AWS::::Account"
    account_wide = True
    hipaa = ("164.308(a)(3)(i)", "164.312(a)(1)", "164.312(e)(1)")
    action = Action.FIX
    severity = Severity.CRITICAL
    permissions = ("s3:GetAccountPublicAccessBlock", "s3:PutAccountPublicAccessBlock")
    triggers = tuple(
        Trigger("aws.s3", name, the_account)
        for name in ("PutAccountPublicAccessBlock", "DeleteAccountPublicAccessBlock")
    )

    def evaluate(self, ref: ResourceRef) -> Evaluation:
        client = self.clients.s3control(ref.region)
        try:
            config = dict(client.get_public_access_block(AccountId=ref.resource_id)["PublicAccessBlockConfiguration"])
        except client.exceptions.NoSuchPublicAccessBlockConfiguration:
            config = None
        return s3.public_access_evaluation("account_public_access_block", config, "account-level")

    def remediate(self, ref: ResourceRef, evaluation: Evaluation) -> list[str]:
        self.clients.s3control(ref.region).put_public_access_block(
            AccountId=ref.resource_id,
            PublicAccessBlockConfiguration=ALL_ON,
        )
        return [v.fix for v in evaluation.fixable if v.fix]

    def revert(self, ref: ResourceRef, fixed: Result) -> list[str]:
        before = fixed.state_before.get("account_public_access_block")
        client = self.clients.s3control(ref.region)
        if before is None:
            client.delete_public_access_block(AccountId=ref.resource_id)
            return ["removed the account-level public access block (as before the fix)"]
        client.put_public_access_block(AccountId=ref.resource_id, PublicAccessBlockConfiguration=before)
        return [f"restored the account-level public access block {before}"]
