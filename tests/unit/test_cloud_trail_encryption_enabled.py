"""Scenarios of cloud-trail-encryption-enabled, against moto state."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from helpers import make_engine, ref
from phiguard.controls.cloud_trail_encryption_enabled import CloudTrailEncryptionEnabled
from phiguard.core import trails
from phiguard.core.model import Outcome, Result

pytestmark = pytest.mark.usefixtures("aws")
NAME, BUCKET = "phi-audit", "phi-trail-logs"
KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
TRAIL_KEY = "arn:aws:kms:us-east-1:123456789012:key/9876fedc-98fe-76dc-54ba-0987654321fe"
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
    return engine.run(CloudTrailEncryptionEnabled(engine.context), ref(trails.TRAIL, arn), None), sent


def test_given_no_kms_key_and_a_configured_key_then_the_trail_is_encrypted_and_nothing_else_changes() -> None:
    arn = trail(KmsKeyId=None)
    before = settings_of()

    result, sent = run(arn, cloudtrail_kms_key_id=TRAIL_KEY)

    assert result.outcome is Outcome.REMEDIATED
    assert result.state_before == {"kms_key_id": None}
    assert sent == [{"Name": arn, "KmsKeyId": TRAIL_KEY}]
    assert settings_of() == {**before, "KmsKeyId": TRAIL_KEY}


def test_given_no_kms_key_and_no_key_configured_then_a_person_is_told_the_steps() -> None:
    arn = trail(KmsKeyId=None)

    result, sent = run(arn)

    assert (result.outcome, sent) == (Outcome.NEEDS_ATTENTION, [])
    [violation] = result.remaining
    assert violation.fix is None
    assert "CloudTrailKmsKeyId" in violation.manual_steps[0]


def test_given_a_trail_encrypted_with_any_key_then_compliant_and_left_alone() -> None:
    arn = trail()

    result, sent = run(arn, cloudtrail_kms_key_id=TRAIL_KEY)

    assert (result.outcome, sent) == (Outcome.COMPLIANT, [])
    assert settings_of()["KmsKeyId"] == KEY


def test_given_a_trail_deleted_before_the_event_is_handled_then_not_applicable() -> None:
    result, _ = run(f"arn:aws:cloudtrail:us-east-1:123456789012:trail/{NAME}", cloudtrail_kms_key_id=TRAIL_KEY)

    assert result.outcome is Outcome.NOT_APPLICABLE


def test_given_a_fix_reverted_then_the_trail_is_unencrypted_again() -> None:
    arn = trail(KmsKeyId=None)
    result, _ = run(arn, cloudtrail_kms_key_id=TRAIL_KEY)
    engine, _ = make_engine()

    CloudTrailEncryptionEnabled(engine.context).revert(result.resource, result)

    assert not settings_of().get("KmsKeyId")
