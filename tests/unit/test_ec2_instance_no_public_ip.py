"""Scenarios of ec2-instance-no-public-ip (notify-only), against moto state."""

from __future__ import annotations

import boto3
import pytest
from helpers import make_engine, ref, vpc
from phiguard.controls.ec2_instance_no_public_ip import Ec2InstanceNoPublicIp
from phiguard.core.model import Outcome, Result

pytestmark = pytest.mark.usefixtures("aws")


def run(instance_id: str) -> Result:
    engine, _ = make_engine()
    return engine.run(Ec2InstanceNoPublicIp(engine.context), ref("AWS::EC2::Instance", instance_id), None)


def launch(*, public_ip: bool, public_subnet: bool = False, role: str | None = None) -> str:
    ec2 = boto3.client("ec2")
    v = vpc()
    subnet = ec2.create_subnet(VpcId=v, CidrBlock="10.20.1.0/24")["Subnet"]["SubnetId"]
    if public_subnet:
        igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=v)
        table = ec2.create_route_table(VpcId=v)["RouteTable"]["RouteTableId"]
        ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
        ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    tags = [{"ResourceType": "instance", "Tags": [{"Key": "phiguard:role", "Value": role}]}] if role else []
    return str(
        ec2.run_instances(
            ImageId=image,
            MinCount=1,
            MaxCount=1,
            NetworkInterfaces=[{"DeviceIndex": 0, "SubnetId": subnet, "AssociatePublicIpAddress": public_ip}],
            TagSpecifications=tags,
        )["Instances"][0]["InstanceId"]
    )


def test_given_an_instance_with_a_public_ip_in_a_private_subnet_then_a_person_gets_the_steps() -> None:
    result = run(launch(public_ip=True))

    assert result.outcome is Outcome.NEEDS_ATTENTION
    assert result.remaining[0].detail["public_ip"]


def test_given_an_instance_without_a_public_ip_in_a_private_subnet_then_compliant() -> None:
    assert run(launch(public_ip=False)).outcome is Outcome.COMPLIANT


def test_given_an_instance_in_a_public_subnet_then_not_applicable() -> None:
    assert run(launch(public_ip=True, public_subnet=True)).outcome is Outcome.NOT_APPLICABLE


@pytest.mark.parametrize("role", ["bastion", "nat"])
def test_given_a_bastion_or_nat_instance_then_not_applicable(role: str) -> None:
    assert run(launch(public_ip=True, role=role)).outcome is Outcome.NOT_APPLICABLE


def test_given_an_instance_terminated_before_the_event_is_handled_then_not_applicable() -> None:
    instance = launch(public_ip=True)
    boto3.client("ec2").terminate_instances(InstanceIds=[instance])

    assert run(instance).outcome is Outcome.NOT_APPLICABLE
    assert run("i-0a1b2c3d4e5f60009").outcome is Outcome.NOT_APPLICABLE
