"""s3-default-encryption-kms: bucket default encryption is SSE-KMS (aws:kms or aws:kms:dsse).

Scenarios:
- Given a bucket without default encryption, Then it is non-compliant and the fix sets SSE-KMS with
  the configured key (or the account's aws/s3 key) and BucketKeyEnabled.
- Given a bucket with SSE-S3 (AES256, what DeleteBucketEncryption leaves), Then the same.
- Given a bucket with SSE-KMS, Then it is compliant and left alone.
- Given a bucket with DSSE-KMS, Then it is compliant and never downgraded.
- Given a bucket that no longer exists, Then it is not applicable.
- Given the configured access-log bucket, Then it is not applicable (S3 log delivery needs SSE-S3).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from phiguard.core.control import Control, ResourceGone, register
from phiguard.core.events import s3_bucket
from phiguard.core.model import Action, Evaluation, JsonDict, ResourceRef, Result, Severity, Trigger, Violation

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import ServerSideEncryptionByDefaultTypeDef

KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")


@register
class S3DefaultEncryptionKms(Control):
    control_id = "s3-default-encryption-kms"
    title = "S3 bucket default encryption uses SSE-KMS"
    resource_type = "AWS::S3::Bucket"
    hipaa = ("164.312(a)(2)(iv)", "164.312(e)(2)(ii)")
    action = Action.FIX
    severity = Severity.HIGH
    permissions = ("s3:GetEncryptionConfiguration", "s3:PutEncryptionConfiguration")
    triggers = tuple(
        Trigger("aws.s3", name, s3_bucket) for name in ("CreateBucket", "PutBucketEncryption", "DeleteBucketEncryption")
    )

    def evaluate(self, ref: ResourceRef) -> Evaluation:
        if ref.resource_id == self.settings.log_bucket:
            return Evaluation.not_applicable("S3 delivers server access logs only to buckets encrypted with SSE-S3")
        try:
            config = self.clients.s3(ref.region).get_bucket_encryption(Bucket=ref.resource_id)
            rules = config["ServerSideEncryptionConfiguration"]["Rules"]
        except ClientError as e:
            code = e.response.get("Error", {}).get("Code")
            if code == "NoSuchBucket":
                raise ResourceGone(f"bucket {ref.resource_id} does not exist") from e
            if code != "ServerSideEncryptionConfigurationNotFoundError":
                raise
            rules = []
        defaults: list[JsonDict] = [dict(r.get("ApplyServerSideEncryptionByDefault", {})) for r in rules]
        state: JsonDict = {
            "default_encryption": defaults,
            "bucket_key_enabled": [r.get("BucketKeyEnabled", False) for r in rules],
        }
        algorithm = defaults[0].get("SSEAlgorithm") if defaults else None
        if algorithm in KMS_ALGORITHMS:
            return Evaluation.of(state, [])
        key = self.settings.s3_kms_key_id or "the account's aws/s3 key"
        return Evaluation.of(
            state,
            [
                Violation(
                    summary=f"default encryption is {algorithm or 'not set'}; SSE-KMS is required",
                    fix=f"set default encryption to SSE-KMS ({key}) with S3 Bucket Keys enabled",
                    detail={"sse_algorithm": algorithm},
                )
            ],
        )

    def remediate(self, ref: ResourceRef, evaluation: Evaluation) -> list[str]:
        by_default: ServerSideEncryptionByDefaultTypeDef = {"SSEAlgorithm": "aws:kms"}
        if self.settings.s3_kms_key_id:
            by_default["KMSMasterKeyID"] = self.settings.s3_kms_key_id
        self.clients.s3(ref.region).put_bucket_encryption(
            Bucket=ref.resource_id,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": by_default, "BucketKeyEnabled": True}]
            },
        )
        return [v.fix for v in evaluation.fixable if v.fix]

    def revert(self, ref: ResourceRef, fixed: Result) -> list[str]:
        before = fixed.state_before.get("default_encryption") or []
        s3 = self.clients.s3(ref.region)
        if not before:
            s3.delete_bucket_encryption(Bucket=ref.resource_id)
            return ["removed the default encryption configuration (as before the fix)"]
        keys = fixed.state_before.get("bucket_key_enabled") or [False]
        s3.put_bucket_encryption(
            Bucket=ref.resource_id,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": before[0], "BucketKeyEnabled": bool(keys[0])}]
            },
        )
        return [f"restored default encryption {before[0].get('SSEAlgorithm')}"]
