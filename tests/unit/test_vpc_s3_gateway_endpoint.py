"""Scenarios of vpc-s3-gateway-endpoint (notify-only), against moto state."""

from __future__ import annotations

import boto3
import pytest
from helpers import make_engine, ref, vpc
from phiguard.controls.vpc_s3_gateway_endpoint import VpcS3GatewayEndpoint
from phiguard.core.model import Outcome, Result

pytestmark = pytest.mark.usefixtures("aws")


def run(vpc_id: str) -> Result:
    engine, _ = make_engine()
    return engine.run(VpcS3GatewayEndpoint(engine.context), ref("AWS::EC2::VPC", vpc_id), None)


def endpoint(vpc_id: str) -> None:
    ec2 = boto3.client("ec2")
    table = ec2.describe_route_tables(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["RouteTables"][0]
    ec2.create_vpc_endpoint(
        VpcId=vpc_id,
        ServiceName="com.amazonaws.us-east-1.s3",
        VpcEndpointType="Gateway",
        RouteTableIds=[table["RouteTableId"]],
    )


def test_given_a_vpc_without_an_s3_gateway_endpoint_then_a_person_gets_the_steps() -> None:
    v = vpc()

    result = run(v)

    assert result.outcome is Outcome.NEEDS_ATTENTION
    assert "create-vpc-endpoint" in result.remaining[0].manual_steps[0]


def test_given_a_vpc_with_an_s3_gateway_endpoint_then_compliant() -> None:
    v = vpc()
    endpoint(v)

    assert run(v).outcome is Outcome.COMPLIANT


def test_given_an_endpoint_deleted_then_every_vpc_is_judged_and_phi_false_vpcs_are_skipped() -> None:
    covered, bare, skipped = vpc(), vpc(), vpc()
    endpoint(covered)
    boto3.client("ec2").create_tags(Resources=[skipped], Tags=[{"Key": "phiguard:phi", "Value": "false"}])

    result = run("*")

    missing = {v.detail["vpc_id"] for v in result.remaining}
    assert bare in missing
    assert covered not in missing and skipped not in missing


def test_given_a_vpc_tagged_phi_false_then_not_applicable() -> None:
    v = vpc()
    boto3.client("ec2").create_tags(Resources=[v], Tags=[{"Key": "phiguard:phi", "Value": "false"}])

    assert run(v).outcome is Outcome.NOT_APPLICABLE


def test_given_a_vpc_deleted_before_the_event_is_handled_then_not_applicable() -> None:
    assert run("vpc-0a1b2c3d4e5f60009").outcome is Outcome.NOT_APPLICABLE
