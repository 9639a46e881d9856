"""s3-bucket-level-public-access-prohibited: all four Block Public Access flags of a bucket are true.

Scenarios:
- Given a bucket without a public access block, Then all four flags are set true.
- Given a bucket with some flags false (as DeleteBucketPublicAccessBlock or a partial Put leaves it),
  Then all four are set true.
- Given all four flags true, Then it is compliant and left alone.
- Given a bucket deleted before the event is handled, Then it is not applicable.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from phiguard.core import s3
from phiguard.core.control import Control, register
from phiguard.core.events import s3_bucket
from phiguard.core.model import Action, Evaluation, ResourceRef, Result, Severity, Trigger

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import PublicAccessBlockConfigurationTypeDef

ALL_ON: PublicAccessBlockConfigurationTypeDef = {
    "BlockPublicAcls": True,
    "IgnorePublicAcls": True,
    "BlockPublicPolicy": True,
    "RestrictPublicBuckets": True,
}


@register
class S3BucketLevelPublicAccessProhibited(Control):
    control_id = "s3-bucket-level-public-access-prohibited"
    title = "S3 buckets block public access (all four flags)"
    resource_type = "AWS::S3::Bucket"
    hipaa = ("164.308(a)(3)(i)", "164.312(a)(1)", "164.312(e)(1)")
    action = Action.FIX
    severity = Severity.CRITICAL
    permissions = ("s3:GetBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock")
    triggers = tuple(
        Trigger("aws.s3", name, s3_bucket)
        for name in ("CreateBucket", "PutBucketPublicAccessBlock", "DeleteBucketPublicAccessBlock")
    )

    def evaluate(self, ref: ResourceRef) -> Evaluation:
        client = self.clients.s3(ref.region)
        config = s3.read(
            ref,
            lambda: dict(client.get_public_access_block(Bucket=ref.resource_id)["PublicAccessBlockConfiguration"]),
            absent=("NoSuchPublicAccessBlockConfiguration",),
            default=None,
        )
        return s3.public_access_evaluation("public_access_block", config, "bucket")

    def remediate(self, ref: ResourceRef, evaluation: Evaluation) -> list[str]:
        self.clients.s3(ref.region).put_public_access_block(
            Bucket=ref.resource_id,
            PublicAccessBlockConfiguration=ALL_ON,
        )
        return [v.fix for v in evaluation.fixable if v.fix]

    def revert(self, ref: ResourceRef, fixed: Result) -> list[str]:
        before = fixed.state_before.get("public_access_block")
        client = self.clients.s3(ref.region)
        if before is None:
            client.delete_public_access_block(Bucket=ref.resource_id)
            return ["removed the bucket's public access block (as before the fix)"]
        client.put_public_access_block(Bucket=ref.resource_id, PublicAccessBlockConfiguration=before)
        return [f"restored the public access block {before}"]
