"""Scenarios of s3-bucket-logging-enabled, against moto state."""

from __future__ import annotations

import json

import boto3
import pytest
from helpers import make_engine, ref
from phiguard.controls.s3_bucket_logging_enabled import S3BucketLoggingEnabled
from phiguard.core.model import Outcome, Result

pytestmark = pytest.mark.usefixtures("aws")
BUCKET, LOGS = "phi-data-123456789012", "phi-access-logs-123456789012"


def run(bucket: str = BUCKET, **settings: object) -> Result:
    engine, _ = make_engine(**settings)  # type: ignore[arg-type]
    return engine.run(S3BucketLoggingEnabled(engine.context), ref("AWS::S3::Bucket", bucket), None)


def buckets() -> None:
    """The data bucket, and a log bucket that admits the S3 logging service (as AWS requires)."""
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.create_bucket(Bucket=LOGS)
    s3.put_bucket_policy(
        Bucket=LOGS,
        Policy=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "S3ServerAccessLogsPolicy",
                        "Effect": "Allow",
                        "Principal": {"Service": "logging.s3.amazonaws.com"},
                        "Action": "s3:PutObject",
                        "Resource": f"arn:aws:s3:::{LOGS}/*",
                    }
                ],
            }
        ),
    )


def test_given_no_access_logging_and_a_log_bucket_then_logging_goes_there() -> None:
    buckets()

    assert run(log_bucket=LOGS).outcome is Outcome.REMEDIATED
    logging = boto3.client("s3").get_bucket_logging(Bucket=BUCKET)["LoggingEnabled"]
    assert (logging["TargetBucket"], logging["TargetPrefix"]) == (LOGS, f"{BUCKET}/")


def test_given_no_log_bucket_configured_then_a_person_is_told_the_steps() -> None:
    buckets()

    result = run()

    assert result.outcome is Outcome.NEEDS_ATTENTION
    assert "LogBucketName" in result.remaining[0].manual_steps[0]


def test_given_logging_already_on_to_any_target_then_compliant() -> None:
    buckets()
    boto3.client("s3").put_bucket_logging(
        Bucket=BUCKET, BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": LOGS, "TargetPrefix": "custom/"}}
    )

    assert run(log_bucket=LOGS).outcome is Outcome.COMPLIANT


def test_given_the_log_bucket_itself_then_not_applicable() -> None:
    buckets()

    assert run(LOGS, log_bucket=LOGS).outcome is Outcome.NOT_APPLICABLE


def test_given_a_bucket_deleted_before_the_event_is_handled_then_not_applicable() -> None:
    assert run(log_bucket=LOGS).outcome is Outcome.NOT_APPLICABLE
