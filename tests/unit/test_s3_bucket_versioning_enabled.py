"""Scenarios of s3-bucket-versioning-enabled, against moto state."""

from __future__ import annotations

import boto3
import pytest
from helpers import make_engine, ref
from phiguard.controls.s3_bucket_versioning_enabled import S3BucketVersioningEnabled
from phiguard.core.model import Outcome, Result

pytestmark = pytest.mark.usefixtures("aws")
BUCKET = "phi-data-123456789012"


def run() -> Result:
    engine, _ = make_engine()
    return engine.run(S3BucketVersioningEnabled(engine.context), ref("AWS::S3::Bucket", BUCKET), None)


def status() -> str | None:
    return boto3.client("s3").get_bucket_versioning(Bucket=BUCKET).get("Status")


def test_given_a_bucket_never_versioned_then_versioning_is_enabled() -> None:
    boto3.client("s3").create_bucket(Bucket=BUCKET)

    assert run().outcome is Outcome.REMEDIATED
    assert status() == "Enabled"


def test_given_suspended_versioning_then_it_is_enabled_again() -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})

    result = run()

    assert result.state_before == {"versioning": "Suspended"}
    assert status() == "Enabled"


def test_given_versioning_enabled_then_compliant_and_never_suspended() -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})

    assert run().outcome is Outcome.COMPLIANT
    assert status() == "Enabled"


def test_given_a_bucket_deleted_before_the_event_is_handled_then_not_applicable() -> None:
    assert run().outcome is Outcome.NOT_APPLICABLE
