"""s3-bucket-logging-enabled: server access logging is on.

Scenarios:
- Given a bucket without access logging and a configured log bucket, Then logging is turned on to the
  log bucket under the prefix `<bucket>/`.
- Given no log bucket configured, Then a person is told the steps.
- Given logging already on (to any target), Then it is compliant and left alone.
- Given the log bucket itself, Then it is not applicable (it must not log into itself).
- Given a bucket deleted before the event is handled, Then it is not applicable.
"""

from __future__ import annotations

from phiguard.core import s3
from phiguard.core.control import Control, register
from phiguard.core.events import s3_bucket
from phiguard.core.model import Action, Evaluation, ResourceRef, Result, Trigger, Violation


@register
class S3BucketLoggingEnabled(Control):
    control_id = "s3-bucket-logging-enabled"
    title = "S3 server access logging is on"
    resource_type = "AWS::S3::Bucket"
    hipaa = ("164.308(a)(3)(ii)(A)", "164.312(b)")
    action = Action.FIX
    permissions = ("s3:GetBucketLogging", "s3:PutBucketLogging")
    triggers = tuple(Trigger("aws.s3", name, s3_bucket) for name in ("CreateBucket", "PutBucketLogging"))

    def evaluate(self, ref: ResourceRef) -> Evaluation:
        log_bucket = self.settings.log_bucket
        if ref.resource_id == log_bucket:
            return Evaluation.not_applicable("the log bucket does not log into itself")
        client = self.clients.s3(ref.region)
        logging = s3.read(ref, lambda: client.get_bucket_logging(Bucket=ref.resource_id).get("LoggingEnabled"))
        state = {"logging": dict(logging) if logging else None}
        if logging:
            return Evaluation.of(state, [])
        if not log_bucket:
            return Evaluation.of(
                state,
                [
                    Violation(
                        summary="server access logging is off",
                        fix=None,
                        manual_steps=(
                            "Choose a log bucket (in the same region and account) and set the LogBucketName parameter, "
                            "or turn logging on by hand: S3 console > bucket > Properties > Server access logging.",
                        ),
                    )
                ],
            )
        return Evaluation.of(
            state,
            [
                Violation(
                    summary="server access logging is off",
                    fix=f"turn server access logging on to s3://{log_bucket}/{ref.resource_id}/",
                )
            ],
        )

    def remediate(self, ref: ResourceRef, evaluation: Evaluation) -> list[str]:
        self.clients.s3(ref.region).put_bucket_logging(
            Bucket=ref.resource_id,
            BucketLoggingStatus={
                "LoggingEnabled": {"TargetBucket": str(self.settings.log_bucket), "TargetPrefix": f"{ref.resource_id}/"}
            },
        )
        return [v.fix for v in evaluation.fixable if v.fix]

    def revert(self, ref: ResourceRef, fixed: Result) -> list[str]:
        self.clients.s3(ref.region).put_bucket_logging(Bucket=ref.resource_id, BucketLoggingStatus={})
        return ["turned server access logging off (as before the fix)"]
