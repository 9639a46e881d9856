"""Scenarios of encrypted-volumes (notify-only), against moto state."""

from __future__ import annotations

import boto3
import pytest
from helpers import make_engine, ref
from phiguard.controls.encrypted_volumes import EncryptedVolumes
from phiguard.core.model import Outcome, Result

pytestmark = pytest.mark.usefixtures("aws")


def run(resource_type: str, resource_id: str) -> Result:
    engine, _ = make_engine()
    return engine.run(EncryptedVolumes(engine.context), ref(resource_type, resource_id), None)


def test_given_an_unencrypted_volume_then_a_person_gets_the_steps_and_nothing_changes() -> None:
    volume = boto3.client("ec2").create_volume(AvailabilityZone="us-east-1a", Size=8)["VolumeId"]

    result = run("AWS::EC2::Volume", volume)

    assert result.outcome is Outcome.NEEDS_ATTENTION
    assert any("Copy the snapshot with encryption" in step for step in result.remaining[0].manual_steps)
    assert boto3.client("ec2").describe_volumes(VolumeIds=[volume])["Volumes"][0]["Encrypted"] is False


def test_given_an_instance_launched_with_an_unencrypted_volume_then_the_same_per_volume() -> None:
    ec2 = boto3.client("ec2")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]

    result = run("AWS::EC2::Instance", instance)

    assert result.outcome is Outcome.NEEDS_ATTENTION
    assert len(result.remaining) >= 1


def test_given_encrypted_volumes_then_compliant() -> None:
    volume = boto3.client("ec2").create_volume(AvailabilityZone="us-east-1a", Size=8, Encrypted=True)["VolumeId"]

    assert run("AWS::EC2::Volume", volume).outcome is Outcome.COMPLIANT


def test_given_a_volume_deleted_before_the_event_is_handled_then_not_applicable() -> None:
    assert run("AWS::EC2::Volume", "vol-0a1b2c3d4e5f60009").outcome is Outcome.NOT_APPLICABLE
