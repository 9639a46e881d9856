"""Scenarios of cmk-backing-key-rotation-enabled, against moto state."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from helpers import make_engine, ref
from phiguard.controls.cmk_backing_key_rotation_enabled import CmkBackingKeyRotationEnabled
from phiguard.core.model import Outcome, Result

pytestmark = pytest.mark.usefixtures("aws")


def key(**kwargs: Any) -> str:
    return str(boto3.client("kms").create_key(**kwargs)["KeyMetadata"]["KeyId"])


def run(key_id: str) -> Result:
    engine, _ = make_engine()
    return engine.run(CmkBackingKeyRotationEnabled(engine.context), ref("AWS::KMS::Key", key_id), None)


def rotating(key_id: str) -> bool:
    return bool(boto3.client("kms").get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"])


def test_given_a_symmetric_customer_key_without_rotation_then_rotation_is_enabled() -> None:
    k = key()

    assert run(k).outcome is Outcome.REMEDIATED
    assert rotating(k)


def test_given_rotation_enabled_then_compliant() -> None:
    k = key()
    boto3.client("kms").enable_key_rotation(KeyId=k)

    assert run(k).outcome is Outcome.COMPLIANT


@pytest.mark.parametrize(
    "kwargs",
    [
        {"KeySpec": "RSA_2048", "KeyUsage": "SIGN_VERIFY"},  # asymmetric
        {"KeySpec": "HMAC_256", "KeyUsage": "GENERATE_VERIFY_MAC"},
        {"Origin": "EXTERNAL"},  # imported key material
    ],
)
def test_given_a_key_kms_cannot_rotate_then_not_applicable(kwargs: dict[str, str]) -> None:
    assert run(key(**kwargs)).outcome is Outcome.NOT_APPLICABLE


def test_given_a_key_pending_deletion_then_not_applicable_here() -> None:
    k = key()
    boto3.client("kms").schedule_key_deletion(KeyId=k, PendingWindowInDays=7)

    assert run(k).outcome is Outcome.NOT_APPLICABLE


def test_given_a_key_that_does_not_exist_then_not_applicable() -> None:
    assert run("0b1c2d3e-0000-4000-8000-000000000000").outcome is Outcome.NOT_APPLICABLE
