"""Scenarios of cloudtrail-enabled, against moto state, from the events CloudTrail records."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from helpers import ACCOUNT, make_engine
from phiguard.controls.cloudtrail_enabled import CloudTrailEnabled
from phiguard.core.model import Outcome, Result

pytestmark = pytest.mark.usefixtures("aws")
NAME = "phi-audit"


def trail(region: str = "us-east-1", *, logging: bool = False) -> str:
    bucket = f"phi-trail-logs-{region}"
    location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    boto3.client("s3", region_name=region).create_bucket(Bucket=bucket, **location)  # type: ignore[arg-type]
    cloudtrail = boto3.client("cloudtrail", region_name=region)
    arn = cloudtrail.create_trail(Name=NAME, S3BucketName=bucket)["TrailARN"]
    cloudtrail.start_logging(Name=NAME)
    if not logging:
        cloudtrail.stop_logging(Name=NAME)
    return arn


def is_logging(region: str = "us-east-1") -> bool:
    return boto3.client("cloudtrail", region_name=region).get_trail_status(Name=NAME)["IsLogging"]


def handle(event_name: str, name: str, region: str = "us-east-1") -> list[Result]:
    engine, _ = make_engine()
    event: dict[str, Any] = {
        "version": "0",
        "id": "0d3c1a2b-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.cloudtrail",
        "account": ACCOUNT,
        "region": region,
        "detail": {
            "userIdentity": {"type": "IAMUser", "arn": f"arn:aws:iam::{ACCOUNT}:user/jdoe"},
            "eventTime": "2026-05-04T10:15:00Z",
            "eventSource": "cloudtrail.amazonaws.com",
            "eventName": event_name,
            "awsRegion": region,
            "requestParameters": {"name": name},
            "responseElements": None,
            "eventID": "9a8b7c6d-5e4f-4a3b-9c2d-1e0f9a8b7c6d",
            "recipientAccountId": ACCOUNT,
        },
    }
    return [r for r in engine.handle_event(event) if r.control_id == CloudTrailEnabled.control_id]


def test_given_logging_stopped_then_logging_is_started_again() -> None:
    arn = trail()

    [result] = handle("StopLogging", NAME)

    assert result.outcome is Outcome.REMEDIATED
    assert (result.resource.resource_id, result.state_before) == (arn, {"exists": True, "logging": False})
    assert is_logging()


def test_given_a_trail_named_by_arn_from_another_region_then_logging_starts_in_its_home_region() -> None:
    arn = trail("us-west-2")

    [result] = handle("StopLogging", arn, region="us-east-1")

    assert result.outcome is Outcome.REMEDIATED
    assert result.resource.region == "us-west-2"
    assert result.changes == ("started logging (in us-west-2)",)
    assert is_logging("us-west-2")


def test_given_a_multi_region_trail_named_by_name_from_another_region_then_fixed_in_its_home_region() -> None:
    trail("us-west-2")
    boto3.client("cloudtrail", region_name="us-west-2").update_trail(Name=NAME, IsMultiRegionTrail=True)

    [result] = handle("StopLogging", NAME, region="us-east-1")

    assert (result.outcome, result.resource.region) == (Outcome.REMEDIATED, "us-west-2")
    assert is_logging("us-west-2")


@pytest.mark.parametrize("by_arn", [False, True])
def test_given_a_deleted_trail_then_a_person_is_told_how_to_recreate_it(by_arn: bool) -> None:
    arn = trail()
    boto3.client("cloudtrail").delete_trail(Name=NAME)

    [result] = handle("DeleteTrail", arn if by_arn else NAME)

    assert result.outcome is Outcome.NEEDS_ATTENTION
    assert result.resource.resource_id == arn
    assert result.state_before == {"exists": False, "logging": False}
    [violation] = result.remaining
    assert violation.fix is None
    assert "was deleted" in violation.summary
    assert any("create-trail" in step and "start-logging" not in step for step in violation.manual_steps)
    assert any("start-logging" in step for step in violation.manual_steps)


def test_given_a_logging_trail_then_compliant_and_left_alone() -> None:
    trail(logging=True)

    [result] = handle("StopLogging", NAME)

    assert (result.outcome, result.changes) == (Outcome.COMPLIANT, ())
    assert is_logging()


def test_given_a_fix_reverted_then_logging_stops_again() -> None:
    trail()
    [result] = handle("StopLogging", NAME)
    engine, _ = make_engine()

    CloudTrailEnabled(engine.context).revert(result.resource, result)

    assert not is_logging()
