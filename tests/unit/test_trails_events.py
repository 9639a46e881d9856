"""Where CloudTrail's own API calls name their trail, and how a name becomes an ARN in the home region."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from phiguard.core import trails
from phiguard.core.aws import Clients
from phiguard.core.control import Context, ResourceGone
from phiguard.core.events import api_call_from_event
from phiguard.core.model import ApiCall, ResourceRef
from phiguard.core.settings import Settings

ACCOUNT, NAME = "123456789012", "phi-audit"
WEST_ARN = f"arn:aws:cloudtrail:us-west-2:{ACCOUNT}:trail/{NAME}"
EAST_ARN = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/{NAME}"


def call(event_name: str, region: str, request: dict[str, Any] | None, response: dict[str, Any] | None) -> ApiCall:
    """An ApiCall read from an event shaped as EventBridge delivers CloudTrail's own API calls."""
    return api_call_from_event(
        {
            "version": "0",
            "id": "6f1b7e0e-3c2a-4d8e-9a51-0c7d2f4b9e11",
            "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.cloudtrail",
            "account": ACCOUNT,
            "time": "2026-05-04T10:15:00Z",
            "region": region,
            "resources": [],
            "detail": {
                "eventVersion": "1.09",
                "userIdentity": {
                    "type": "AssumedRole",
                    "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/jdoe",
                    "accountId": ACCOUNT,
                    "sessionContext": {"sessionIssuer": {"arn": f"arn:aws:iam::{ACCOUNT}:role/Admin"}},
                },
                "eventTime": "2026-05-04T10:15:00Z",
                "eventSource": "cloudtrail.amazonaws.com",
                "eventName": event_name,
                "awsRegion": region,
                "sourceIPAddress": "203.0.113.10",
                "userAgent": "aws-cli/2.15.0",
                "requestParameters": request,
                "responseElements": response,
                "requestID": "0b6a2c1e-7f3d-4e59-b1a8-3d2e9c4f5a60",
                "eventID": "c4e1d2b3-5a6f-4b7c-8d9e-0f1a2b3c4d5e",
                "readOnly": False,
                "eventType": "AwsApiCall",
                "managementEvent": True,
                "recipientAccountId": ACCOUNT,
                "eventCategory": "Management",
            },
        }
    )


def trail_response(arn: str, **settings: Any) -> dict[str, Any]:
    return {
        "name": NAME,
        "s3BucketName": "phi-trail-logs",
        "includeGlobalServiceEvents": True,
        "isMultiRegionTrail": False,
        "trailARN": arn,
        "logFileValidationEnabled": False,
        "isOrganizationTrail": False,
        **settings,
    }


def test_given_stop_logging_by_arn_from_another_region_then_the_reference_is_in_the_home_region() -> None:
    refs = trails.trails(call("StopLogging", "us-east-1", {"name": WEST_ARN}, None))

    assert refs == [ResourceRef(trails.TRAIL, WEST_ARN, "us-west-2", ACCOUNT)]


def test_given_stop_logging_by_name_then_the_name_is_resolved_later_in_the_event_region() -> None:
    refs = trails.trails(call("StopLogging", "us-east-1", {"name": NAME}, None))

    assert refs == [ResourceRef(trails.TRAIL, NAME, "us-east-1", ACCOUNT, by_name=True)]


def test_given_update_trail_by_name_then_the_response_arn_is_used() -> None:
    refs = trails.trails(
        call("UpdateTrail", "us-west-2", {"name": NAME, "isMultiRegionTrail": False}, trail_response(WEST_ARN))
    )

    assert refs == [ResourceRef(trails.TRAIL, WEST_ARN, "us-west-2", ACCOUNT)]


def test_given_create_trail_then_the_new_trail_arn_is_used() -> None:
    request = {"name": NAME, "s3BucketName": "phi-trail-logs", "enableLogFileValidation": True}

    refs = trails.trails(call("CreateTrail", "us-east-1", request, trail_response(EAST_ARN)))

    assert refs == [ResourceRef(trails.TRAIL, EAST_ARN, "us-east-1", ACCOUNT)]


def test_given_delete_trail_by_name_with_no_response_then_a_reference_by_name() -> None:
    refs = trails.trails(call("DeleteTrail", "eu-west-1", {"name": NAME}, None))

    assert refs == [ResourceRef(trails.TRAIL, NAME, "eu-west-1", ACCOUNT, by_name=True)]


def test_given_a_govcloud_trail_arn_then_its_region_is_read() -> None:
    arn = f"arn:aws-us-gov:cloudtrail:us-gov-west-1:{ACCOUNT}:trail/{NAME}"

    assert trails.trails(call("StopLogging", "us-gov-east-1", {"name": arn}, None))[0].region == "us-gov-west-1"
    assert trails.trail_arn(NAME, "us-gov-west-1", ACCOUNT) == arn


def test_given_a_call_naming_no_trail_then_no_reference() -> None:
    assert trails.trails(call("UpdateTrail", "us-east-1", None, None)) == []


# --- resolving a name (moto) -----------------------------------------------------------------


def context() -> Context:
    return Context(Settings(), Clients())


def trail(region: str, *, multi_region: bool = False) -> str:
    bucket = f"phi-trail-logs-{region}"
    location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    boto3.client("s3", region_name=region).create_bucket(Bucket=bucket, **location)  # type: ignore[arg-type]
    created = boto3.client("cloudtrail", region_name=region).create_trail(
        Name=NAME, S3BucketName=bucket, IsMultiRegionTrail=multi_region
    )
    return created["TrailARN"]


@pytest.mark.usefixtures("aws")
def test_given_a_name_of_a_trail_of_the_event_region_then_it_resolves_to_its_arn() -> None:
    arn = trail("us-east-1")

    resolved = trails.resolve(context(), ResourceRef(trails.TRAIL, NAME, "us-east-1", ACCOUNT, by_name=True))

    assert resolved == ResourceRef(trails.TRAIL, arn, "us-east-1", ACCOUNT)


@pytest.mark.usefixtures("aws")
def test_given_the_name_of_a_multi_region_trail_from_another_region_then_it_resolves_to_its_home_region() -> None:
    arn = trail("us-west-2", multi_region=True)

    resolved = trails.resolve(context(), ResourceRef(trails.TRAIL, NAME, "us-east-1", ACCOUNT, by_name=True))

    assert resolved == ResourceRef(trails.TRAIL, arn, "us-west-2", ACCOUNT)


@pytest.mark.usefixtures("aws")
def test_given_a_name_no_trail_has_then_resource_gone() -> None:
    trail("us-west-2")  # single-region: not visible from us-east-1

    with pytest.raises(ResourceGone):
        trails.resolve(context(), ResourceRef(trails.TRAIL, NAME, "us-east-1", ACCOUNT, by_name=True))


@pytest.mark.usefixtures("aws")
def test_given_a_trail_gone_then_reading_it_is_resource_gone() -> None:
    with pytest.raises(ResourceGone):
        trails.read(context(), ResourceRef(trails.TRAIL, EAST_ARN, "us-east-1", ACCOUNT))
