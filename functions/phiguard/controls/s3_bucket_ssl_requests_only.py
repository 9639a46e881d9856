"""s3-bucket-ssl-requests-only: the bucket policy denies requests without TLS, on the bucket and its objects.

The fix merges one Deny statement into the existing policy: every other statement stays as it was
(VPC-endpoint conditions, statements without Sid, duplicate Sids), and a revert puts the exact
original policy text back.

Scenarios:
- Given a bucket without a policy, Then a policy with the one TLS-only Deny statement is set.
- Given a policy with other statements (no Sid, duplicate Sids, a VPC-endpoint condition), Then the Deny
  statement is appended and every other statement is kept unchanged.
- Given a policy that already denies aws:SecureTransport=false on the bucket and its objects, Then it is
  compliant.
- Given a Deny that covers only the objects, Then it is a violation (the bucket ARN is not covered).
- Given a bucket deleted before the event is handled, Then it is not applicable.
"""

from __future__ import annotations

import json
from typing import Any

from phiguard.core import s3
from phiguard.core.control import Control, register
from phiguard.core.events import s3_bucket
from phiguard.core.model import Action, Evaluation, ResourceRef, Result, Severity, Trigger, Violation

SID = "PhiGuardDenyInsecureTransport"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _denies_insecure_transport(statement: Any, bucket: str) -> bool:
    if not isinstance(statement, dict) or statement.get("Effect") != "Deny":
        return False
    principal = statement.get("Principal")
    if principal not in ("*", {"AWS": "*"}):
        return False
    if not {"s3:*", "*"} & set(_as_list(statement.get("Action", []))):
        return False
    resources = set(_as_list(statement.get("Resource", [])))
    if not {f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"} <= resources and "*" not in resources:
        return False
    secure = statement.get("Condition", {}).get("Bool", {}).get("aws:SecureTransport")
    return [str(v).lower() for v in _as_list(secure)] == ["false"]


def tls_only_statement(bucket: str, sid: str = SID) -> dict[str, Any]:
    return {
        "Sid": sid,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


@register
class S3BucketSslRequestsOnly(Control):
    control_id = "s3-bucket-ssl-requests-only"
    title = "S3 bucket policies deny requests without TLS"
    resource_type = "AWS::S3::Bucket"
    hipaa = ("164.312(a)(2)(iv)", "164.312(c)(2)", "164.312(e)(1)", "164.312(e)(2)(i)", "164.312(e)(2)(ii)")
    action = Action.FIX
    severity = Severity.HIGH
    permissions = ("s3:GetBucketPolicy", "s3:PutBucketPolicy")
    triggers = tuple(
        Trigger("aws.s3", name, s3_bucket) for name in ("CreateBucket", "PutBucketPolicy", "DeleteBucketPolicy")
    )

    def evaluate(self, ref: ResourceRef) -> Evaluation:
        client = self.clients.s3(ref.region)
        text = s3.read(
            ref, lambda: client.get_bucket_policy(Bucket=ref.resource_id)["Policy"], absent=("NoSuchBucketPolicy",)
        )
        state = {"policy": text}
        statements = _as_list(json.loads(text).get("Statement", [])) if text else []
        if any(_denies_insecure_transport(s, ref.resource_id) for s in statements):
            return Evaluation.of(state, [])
        return Evaluation.of(
            state,
            [
                Violation(
                    summary="the bucket policy does not deny requests without TLS (aws:SecureTransport=false)",
                    fix="add one Deny statement for aws:SecureTransport=false on the bucket and its objects; "
                    "every other statement stays as it is",
                )
            ],
        )

    def remediate(self, ref: ResourceRef, evaluation: Evaluation) -> list[str]:
        text = evaluation.state.get("policy")
        policy = json.loads(text) if text else {"Version": "2012-10-17", "Statement": []}
        statements = _as_list(policy.get("Statement", []))
        sids = {s.get("Sid") for s in statements if isinstance(s, dict)}
        sid = SID if SID not in sids else next(f"{SID}{n}" for n in range(2, 100) if f"{SID}{n}" not in sids)
        policy["Statement"] = [*statements, tls_only_statement(ref.resource_id, sid)]
        self.clients.s3(ref.region).put_bucket_policy(Bucket=ref.resource_id, Policy=json.dumps(policy))
        return [f"added statement {sid} (deny aws:SecureTransport=false) to the bucket policy"]

    def revert(self, ref: ResourceRef, fixed: Result) -> list[str]:
        before = fixed.state_before.get("policy")
        client = self.clients.s3(ref.region)
        if not before:
            client.delete_bucket_policy(Bucket=ref.resource_id)
            return ["removed the bucket policy (there was none before the fix)"]
        client.put_bucket_policy(Bucket=ref.resource_id, Policy=before)
        return ["restored the bucket policy exactly as it was before the fix"]
