"""Scenarios of s3-default-encryption-kms, against moto state."""

from __future__ import annotations

import boto3
import pytest
from helpers import make_engine, ref
from phiguard.controls.s3_default_encryption_kms import S3DefaultEncryptionKms
from phiguard.core.model import Mode, Outcome

pytestmark = pytest.mark.usefixtures("aws")
BUCKET = "phi-data-123456789012"


def encryption() -> dict[str, object]:
    rules = boto3.client("s3").get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
    return dict(rules[0])


def run(mode: Mode = Mode.ENFORCE, **settings: object):  # type: ignore[no-untyped-def]
    engine, inbox = make_engine(mode, **settings)
    result = engine.run(S3DefaultEncryptionKms(engine.context), ref("AWS::S3::Bucket", BUCKET), None)
    return result, inbox


def test_given_no_default_encryption_then_sse_kms_with_bucket_key_is_set() -> None:
    boto3.client("s3").create_bucket(Bucket=BUCKET)

    result, inbox = run(s3_kms_key_id="alias/phi-data")

    assert result.outcome is Outcome.REMEDIATED
    assert encryption() == {
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/phi-data"},
        "BucketKeyEnabled": True,
    }
    assert result.state_before["default_encryption"] == []
    assert result.state_after and result.state_after["default_encryption"][0]["SSEAlgorithm"] == "aws:kms"
    assert [r.outcome for r in inbox.results] == [Outcome.REMEDIATED]


def test_given_sse_s3_then_it_is_replaced_by_the_accounts_aws_s3_key_when_none_is_configured() -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_encryption(
        Bucket=BUCKET,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )

    result, _ = run()

    assert result.outcome is Outcome.REMEDIATED
    assert result.violations[0].summary.startswith("default encryption is AES256")
    assert encryption()["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "aws:kms"}
    assert encryption()["BucketKeyEnabled"] is True


@pytest.mark.parametrize("algorithm", ["aws:kms", "aws:kms:dsse"])
def test_given_sse_kms_or_dsse_kms_then_compliant_and_never_touched(algorithm: str) -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    config = {
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": algorithm, "KMSMasterKeyID": "alias/theirs"},
        "BucketKeyEnabled": False,
    }
    s3.put_bucket_encryption(Bucket=BUCKET, ServerSideEncryptionConfiguration={"Rules": [config]})

    result, inbox = run(s3_kms_key_id="alias/phi-data")

    assert result.outcome is Outcome.COMPLIANT
    assert encryption() == config
    assert inbox.results == []


def test_given_dry_run_then_the_plan_is_notified_and_nothing_changes() -> None:
    boto3.client("s3").create_bucket(Bucket=BUCKET)

    result, inbox = run(Mode.DRY_RUN)

    assert result.outcome is Outcome.WOULD_REMEDIATE
    assert "SSE-KMS" in result.changes[0]
    with pytest.raises(boto3.client("s3").exceptions.ClientError):
        encryption()
    assert [r.outcome for r in inbox.results] == [Outcome.WOULD_REMEDIATE]


def test_given_a_bucket_deleted_before_the_event_is_handled_then_not_applicable_and_silent() -> None:
    result, inbox = run()

    assert result.outcome is Outcome.NOT_APPLICABLE
    assert "does not exist" in result.reason
    assert inbox.results == []


def test_given_the_configured_access_log_bucket_then_not_applicable_as_log_delivery_needs_sse_s3() -> None:
    boto3.client("s3").create_bucket(Bucket=BUCKET)

    assert run(log_bucket=BUCKET)[0].outcome is Outcome.NOT_APPLICABLE
