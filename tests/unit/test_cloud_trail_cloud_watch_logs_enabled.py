"""Scenarios of cloud-trail-cloud-watch-logs-enabled, against moto state."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from helpers import make_engine, ref
from phiguard.controls.cloud_trail_cloud_watch_logs_enabled import CloudTrailCloudWatchLogsEnabled
from phiguard.core import trails
from phiguard.core.model import Outcome, Result

pytestmark = pytest.mark.usefixtures("aws")
NAME, BUCKET = "phi-audit", "phi-trail-logs"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
GROUP = "arn:aws:logs:us-east-1:123456789012:log-group:phi-trail:*"
ROLE = "arn:aws:iam::123456789012:role/phi-trail-to-logs"
CONFIGURED = {
    "cloudtrail_log_group_arn": "arn:aws:logs:us-east-1:123456789012:log-group:phiguard-trails:*",
    "cloudtrail_logs_role_arn": "arn:aws:iam::123456789012:role/phiguard-trails-to-logs",
}


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
    config = {k: v for k, v in config.items() if v is not None}
    return boto3.client("cloudtrail").create_trail(Name=NAME, S3BucketName=BUCKET, **config)["TrailARN"]


def settings_of() -> dict[str, Any]:
    return dict(boto3.client("cloudtrail").get_trail(Name=NAME)["Trail"])


def run(arn: str, **settings: Any) -> tuple[Result, list[dict[str, Any]]]:
    """The control run on the trail, with the parameters of every UpdateTrail call it made."""
    engine, _ = make_engine(**settings)
    sent: list[dict[str, Any]] = []
    engine.context.clients.cloudtrail("us-east-1").meta.events.register(
        "provide-client-params.cloudtrail.UpdateTrail", lambda params, **_: sent.append(dict(params))
    )
    return engine.run(CloudTrailCloudWatchLogsEnabled(engine.context), ref(trails.TRAIL, arn), None), sent


def test_given_no_delivery_and_a_configured_group_and_role_then_the_trail_delivers_there_and_nothing_else_changes() -> (
    None
):
    arn = trail(CloudWatchLogsLogGroupArn=None, CloudWatchLogsRoleArn=None)
    before = settings_of()

    result, sent = run(arn, **CONFIGURED)

    assert result.outcome is Outcome.REMEDIATED
    assert result.state_before == {"log_group_arn": None, "logs_role_arn": None}
    group, role = CONFIGURED["cloudtrail_log_group_arn"], CONFIGURED["cloudtrail_logs_role_arn"]
    assert sent == [{"Name": arn, "CloudWatchLogsLogGroupArn": group, "CloudWatchLogsRoleArn": role}]
    assert settings_of() == {**before, "CloudWatchLogsLogGroupArn": group, "CloudWatchLogsRoleArn": role}


@pytest.mark.parametrize(
    "settings",
    [{}, {"cloudtrail_log_group_arn": CONFIGURED["cloudtrail_log_group_arn"]}],
    ids=["nothing configured", "no role configured"],
)
def test_given_no_delivery_and_no_configuration_then_a_person_is_told_the_steps(settings: dict[str, str]) -> None:
    arn = trail(CloudWatchLogsLogGroupArn=None, CloudWatchLogsRoleArn=None)

    result, sent = run(arn, **settings)

    assert (result.outcome, sent) == (Outcome.NEEDS_ATTENTION, [])
    [violation] = result.remaining
    assert violation.fix is None
    assert "CloudTrailLogGroupArn" in violation.manual_steps[0]


def test_given_delivery_to_any_log_group_then_compliant_and_left_alone() -> None:
    arn = trail()

    result, sent = run(arn, **CONFIGURED)

    assert (result.outcome, sent) == (Outcome.COMPLIANT, [])
    assert settings_of()["CloudWatchLogsLogGroupArn"] == GROUP


def test_given_a_trail_deleted_before_the_event_is_handled_then_not_applicable() -> None:
    result, _ = run(f"arn:aws:cloudtrail:us-east-1:123456789012:trail/{NAME}", **CONFIGURED)

    assert result.outcome is Outcome.NOT_APPLICABLE


def test_given_a_fix_reverted_then_the_trail_no_longer_delivers_to_cloudwatch_logs() -> None:
    arn = trail(CloudWatchLogsLogGroupArn=None, CloudWatchLogsRoleArn=None)
    result, _ = run(arn, **CONFIGURED)
    engine, _ = make_engine()

    CloudTrailCloudWatchLogsEnabled(engine.context).revert(result.resource, result)

    assert not settings_of().get("CloudWatchLogsLogGroupArn")
