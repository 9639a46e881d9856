"""Scenarios of s3-bucket-level-public-access-prohibited, against moto state."""

from __future__ import annotations

import boto3
import pytest
from helpers import make_engine, ref
from phiguard.controls.s3_bucket_level_public_access_prohibited import S3BucketLevelPublicAccessProhibited
from phiguard.core.model import Outcome, Result

pytestmark = pytest.mark.usefixtures("aws")
BUCKET = "phi-data-123456789012"
ALL_ON = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}


def run() -> Result:
    engine, _ = make_engine()
    return engine.run(S3BucketLevelPublicAccessProhibited(engine.context), ref("AWS::S3::Bucket", BUCKET), None)


def flags() -> dict[str, bool]:
    return dict(boto3.client("s3").get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"])


def test_given_no_public_access_block_then_all_four_flags_are_set() -> None:
    boto3.client("s3").create_bucket(Bucket=BUCKET)

    result = run()

    assert result.outcome is Outcome.REMEDIATED
    assert flags() == ALL_ON
    assert result.state_before == {"public_access_block": None}


def test_given_some_flags_off_then_all_four_are_set() -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_public_access_block(Bucket=BUCKET, PublicAccessBlockConfiguration={**ALL_ON, "BlockPublicPolicy": False})

    result = run()

    assert "BlockPublicPolicy" in result.violations[0].summary
    assert flags() == ALL_ON


def test_given_all_four_flags_on_then_compliant() -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_public_access_block(Bucket=BUCKET, PublicAccessBlockConfiguration=ALL_ON)

    assert run().outcome is Outcome.COMPLIANT


def test_given_a_bucket_deleted_before_the_event_is_handled_then_not_applicable() -> None:
    assert run().outcome is Outcome.NOT_APPLICABLE
