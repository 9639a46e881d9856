"""Scenarios of subnet-auto-assign-public-ip-disabled, against moto state."""

from __future__ import annotations

import boto3
import pytest
from helpers import make_engine, ref, vpc
from phiguard.controls.subnet_auto_assign_public_ip_disabled import SubnetAutoAssignPublicIpDisabled
from phiguard.core.model import Outcome, Result

pytestmark = pytest.mark.usefixtures("aws")


def run(subnet_id: str) -> Result:
    engine, _ = make_engine()
    return engine.run(SubnetAutoAssignPublicIpDisabled(engine.context), ref("AWS::EC2::Subnet", subnet_id), None)


def subnet(*, maps: bool, public: bool = False, own_table: bool = True) -> str:
    ec2 = boto3.client("ec2")
    v = vpc()
    subnet_id = ec2.create_subnet(VpcId=v, CidrBlock="10.20.1.0/24")["Subnet"]["SubnetId"]
    if own_table:
        table = ec2.create_route_table(VpcId=v)["RouteTable"]["RouteTableId"]
        ec2.associate_route_table(RouteTableId=table, SubnetId=subnet_id)
    else:
        table = ec2.describe_route_tables(
            Filters=[{"Name": "vpc-id", "Values": [v]}, {"Name": "association.main", "Values": ["true"]}]
        )["RouteTables"][0]["RouteTableId"]
    if public:
        igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=v)
        ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    if maps:
        ec2.modify_subnet_attribute(SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": True})
    return subnet_id


def maps_public_ip(subnet_id: str) -> bool:
    return bool(boto3.client("ec2").describe_subnets(SubnetIds=[subnet_id])["Subnets"][0]["MapPublicIpOnLaunch"])


def test_given_a_private_subnet_mapping_public_ips_then_it_is_turned_off() -> None:
    s = subnet(maps=True)

    result = run(s)

    assert result.outcome is Outcome.REMEDIATED
    assert maps_public_ip(s) is False


def test_given_a_private_subnet_on_the_main_route_table_then_the_same() -> None:
    s = subnet(maps=True, own_table=False)

    assert run(s).outcome is Outcome.REMEDIATED
    assert maps_public_ip(s) is False


def test_given_a_private_subnet_that_does_not_map_public_ips_then_compliant() -> None:
    assert run(subnet(maps=False)).outcome is Outcome.COMPLIANT


def test_given_a_public_subnet_then_not_applicable() -> None:
    s = subnet(maps=True, public=True)

    assert run(s).outcome is Outcome.NOT_APPLICABLE
    assert maps_public_ip(s) is True


def test_given_a_public_main_route_table_then_not_applicable() -> None:
    s = subnet(maps=True, public=True, own_table=False)

    assert run(s).outcome is Outcome.NOT_APPLICABLE


def test_given_a_subnet_deleted_before_the_event_is_handled_then_not_applicable() -> None:
    assert run("subnet-0a1b2c3d4e5f60009").outcome is Outcome.NOT_APPLICABLE


def test_given_a_fix_then_revert_maps_public_ips_again() -> None:
    s = subnet(maps=True)
    engine, _ = make_engine()
    control = SubnetAutoAssignPublicIpDisabled(engine.context)
    fixed = engine.run(control, ref("AWS::EC2::Subnet", s), None)

    assert control.revert(ref("AWS::EC2::Subnet", s), fixed) == [f"set MapPublicIpOnLaunch back to true on subnet {s}"]
    assert maps_public_ip(s) is True
