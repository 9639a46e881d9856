"""Scenarios of ec2-ebs-encryption-by-default, against moto state."""

from __future__ import annotations

import boto3
import pytest
from helpers import load_event, make_engine
from phiguard.core.model import Outcome

pytestmark = pytest.mark.usefixtures("aws")


def on(region: str) -> bool:
    return bool(boto3.client("ec2", region_name=region).get_ebs_encryption_by_default()["EbsEncryptionByDefault"])


def test_given_encryption_by_default_turned_off_in_another_region_then_it_is_turned_on_there() -> None:
    boto3.client("ec2", region_name="eu-west-1").disable_ebs_encryption_by_default()
    boto3.client("ec2", region_name="us-east-1").enable_ebs_encryption_by_default()
    event = load_event("ec2-disable-ebs-encryption-by-default.json")
    event["region"] = event["detail"]["awsRegion"] = "eu-west-1"
    engine, _ = make_engine()  # the function runs in us-east-1

    results = engine.handle_event(event)

    assert [(r.control_id, r.outcome) for r in results] == [("ec2-ebs-encryption-by-default", Outcome.REMEDIATED)]
    assert on("eu-west-1")


def test_given_it_is_on_then_compliant() -> None:
    boto3.client("ec2").enable_ebs_encryption_by_default()
    engine, _ = make_engine()

    [result] = engine.handle_event(load_event("ec2-disable-ebs-encryption-by-default.json"))

    assert result.outcome is Outcome.COMPLIANT
