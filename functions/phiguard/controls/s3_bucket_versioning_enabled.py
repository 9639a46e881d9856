"""s3-bucket-versioning-enabled: bucket versioning is Enabled.

Scenarios:
- Given a bucket that was never versioned, Then versioning is enabled.
- Given a bucket whose versioning is Suspended, Then it is enabled again.
- Given versioning Enabled, Then it is compliant; PHI Guard never suspends versioning.
- Given a bucket deleted before the event is handled, Then it is not applicable.
"""

from __future__ import annotations

from phiguard.core import s3
from phiguard.core.control import Control, NotRevertible, register
from phiguard.core.events import s3_bucket
from phiguard.core.model import Action, Evaluation, ResourceRef, Result, Trigger, Violation


@register
class S3BucketVersioningEnabled(Control):
    control_id = "s3-bucket-versioning-enabled"
    title = "S3 bucket versioning is enabled"
    resource_type = "AWS::S3::Bucket"
    hipaa = (
        "164.308(a)(7)(i)",
        "164.308(a)(7)(ii)(A)",
        "164.308(a)(7)(ii)(B)",
        "164.312(c)(1)",
        "164.312(c)(2)",
    )
    action = Action.FIX
    permissions = ("s3:GetBucketVersioning", "s3:PutBucketVersioning")
    triggers = tuple(Trigger("aws.s3", name, s3_bucket) for name in ("CreateBucket", "PutBucketVersioning"))

    def evaluate(self, ref: ResourceRef) -> Evaluation:
        client = self.clients.s3(ref.region)
        status = s3.read(ref, lambda: client.get_bucket_versioning(Bucket=ref.resource_id).get("Status"))
        state = {"versioning": status or "Never enabled"}
        if status == "Enabled":
            return Evaluation.of(state, [])
        return Evaluation.of(
            state, [Violation(summary=f"versioning is {(status or 'never enabled').lower()}", fix="enable versioning")]
        )

    def remediate(self, ref: ResourceRef, evaluation: Evaluation) -> list[str]:
        self.clients.s3(ref.region).put_bucket_versioning(
            Bucket=ref.resource_id, VersioningConfiguration={"Status": "Enabled"}
        )
        return ["enabled versioning"]

    def revert(self, ref: ResourceRef, fixed: Result) -> list[str]:
        if fixed.state_before.get("versioning") != "Suspended":
            raise NotRevertible("a versioned bucket cannot return to never-versioned; suspend it by hand if needed")
        self.clients.s3(ref.region).put_bucket_versioning(
            Bucket=ref.resource_id, VersioningConfiguration={"Status": "Suspended"}
        )
        return ["suspended versioning again (as before the fix)"]
