"""Scenarios of kms-cmk-not-scheduled-for-deletion, against moto state."""

from __future__ import annotations

import boto3
import pytest
from helpers import load_event, make_engine, ref
from phiguard.controls.kms_cmk_not_scheduled_for_deletion import KmsCmkNotScheduledForDeletion
from phiguard.core.model import Outcome, Result

pytestmark = pytest.mark.usefixtures("aws")


def run(key_id: str) -> Result:
    engine, _ = make_engine()
    return engine.run(KmsCmkNotScheduledForDeletion(engine.context), ref("AWS::KMS::Key", key_id), None)


def state(key_id: str) -> str:
    return str(boto3.client("kms").describe_key(KeyId=key_id)["KeyMetadata"]["KeyState"])


def test_given_a_key_scheduled_for_deletion_then_deletion_is_cancelled_and_the_key_enabled() -> None:
    k = boto3.client("kms").create_key()["KeyMetadata"]["KeyId"]
    boto3.client("kms").schedule_key_deletion(KeyId=k, PendingWindowInDays=7)

    result = run(k)

    assert result.outcome is Outcome.REMEDIATED
    assert state(k) == "Enabled"  # cancelling alone would leave it Disabled
    assert result.changes == ("cancelled the key deletion", "enabled the key")


def test_given_an_enabled_key_then_compliant() -> None:
    k = boto3.client("kms").create_key()["KeyMetadata"]["KeyId"]

    assert run(k).outcome is Outcome.COMPLIANT


def test_given_a_key_that_no_longer_exists_then_not_applicable() -> None:
    assert run("0b1c2d3e-0000-4000-8000-000000000000").outcome is Outcome.NOT_APPLICABLE


def test_given_the_schedule_event_then_the_key_it_names_is_restored() -> None:
    k = boto3.client("kms").create_key()["KeyMetadata"]["KeyId"]
    boto3.client("kms").schedule_key_deletion(KeyId=k, PendingWindowInDays=7)
    engine, _ = make_engine()

    results = engine.handle_event(load_event("kms-schedule-key-deletion.json", kms_key=k))

    assert [(r.control_id, r.outcome) for r in results] == [("kms-cmk-not-scheduled-for-deletion", Outcome.REMEDIATED)]
    assert state(k) == "Enabled"
