"""Scenarios of multi-region-cloudtrail-enabled, against moto state."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from helpers import make_engine, ref
from phiguard.controls.multi_region_cloudtrail_enabled import MultiRegionCloudTrailEnabled
from phiguard.core import trails
from phiguard.core.model import Outcome, Result

pytestmark = pytest.mark.usefixtures("aws")
NAME, BUCKET = "phi-audit", "phi-trail-logs"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
GROUP = "arn:aws:logs:us-east-1:123456789012:log-group:phi-trail:*"
ROLE = "arn:aws:iam::123456789012:role/phi-trail-to-logs"


def trail(**settings: Any) -> str:
    """A trail compliant with every trail control, but for the settings given."""
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    config: dict[str, Any] = {
        "S3KeyPrefix": "audit",
        "IncludeGlobalServiceEvents": True,
        "IsMultiRegionTrail": True,
        "EnableLogFileValidation": True,
        "KmsKeyId": KEY,
        "CloudWatchLogsLogGroupArn": GROUP,
        "CloudWatchLogsRoleArn": ROLE,
        **settings,
    }
    return boto3.client("cloudtrail").create_trail(Name=NAME, S3BucketName=BUCKET, **config)["TrailARN"]


def settings_of() -> dict[str, Any]:
    return dict(boto3.client("cloudtrail").get_trail(Name=NAME)["Trail"])


def run(arn: str) -> tuple[Result, list[dict[str, Any]]]:
    """The control run on the trail, with the parameters of every UpdateTrail call it made."""
    engine, _ = make_engine()
    sent: list[dict[str, Any]] = []
    engine.context.clients.cloudtrail("us-east-1").meta.events.register(
        "provide-client-params.cloudtrail.UpdateTrail", lambda params, **_: sent.append(dict(params))
    )
    return engine.run(MultiRegionCloudTrailEnabled(engine.context), ref(trails.TRAIL, arn), None), sent


def test_given_a_single_region_trail_then_it_is_made_multi_region_and_nothing_else_changes() -> None:
    arn = trail(IsMultiRegionTrail=False)
    before = settings_of()

    result, sent = run(arn)

    assert result.outcome is Outcome.REMEDIATED
    assert sent == [{"Name": arn, "IsMultiRegionTrail": True}]
    assert settings_of() == {**before, "IsMultiRegionTrail": True}


def test_given_a_single_region_trail_without_global_service_events_then_a_person_is_told() -> None:
    arn = trail(IsMultiRegionTrail=False, IncludeGlobalServiceEvents=False)

    result, sent = run(arn)

    assert (result.outcome, sent) == (Outcome.NEEDS_ATTENTION, [])
    assert "--include-global-service-events" in result.remaining[0].manual_steps[0]


def test_given_a_multi_region_trail_then_compliant_and_left_alone() -> None:
    arn = trail()

    result, sent = run(arn)

    assert (result.outcome, sent) == (Outcome.COMPLIANT, [])


def test_given_a_trail_deleted_before_the_event_is_handled_then_not_applicable() -> None:
    result, _ = run(f"arn:aws:cloudtrail:us-east-1:123456789012:trail/{NAME}")

    assert result.outcome is Outcome.NOT_APPLICABLE


def test_given_a_fix_reverted_then_the_trail_is_single_region_again() -> None:
    arn = trail(IsMultiRegionTrail=False)
    result, _ = run(arn)
    engine, _ = make_engine()

    MultiRegionCloudTrailEnabled(engine.context).revert(result.resource, result)

    assert settings_of()["IsMultiRegionTrail"] is False
