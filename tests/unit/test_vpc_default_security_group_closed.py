"""Scenarios of vpc-default-security-group-closed, against moto state."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from helpers import ACCOUNT, REGION, authorize, group, ingress, make_engine, sg_ref, vpc
from phiguard.controls.vpc_default_security_group_closed import VpcDefaultSecurityGroupClosed
from phiguard.core.model import Outcome, ResourceRef, Result

pytestmark = pytest.mark.usefixtures("aws")


def run(reference: ResourceRef) -> Result:
    engine, _ = make_engine()
    return engine.run(VpcDefaultSecurityGroupClosed(engine.context), reference, None)


def default_group(vpc_id: str) -> str:
    return str(
        boto3.client("ec2").describe_security_groups(
            Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}]
        )["SecurityGroups"][0]["GroupId"]
    )


def egress(group_id: str) -> list[dict[str, Any]]:
    rules = boto3.client("ec2").describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group_id]}])[
        "SecurityGroupRules"
    ]
    return [r for r in rules if r["IsEgress"]]


def test_given_a_new_vpc_then_its_default_group_is_found_by_the_vpc_id_and_closed() -> None:
    v = vpc()
    g = default_group(v)

    result = run(ResourceRef("AWS::EC2::SecurityGroup", v, REGION, ACCOUNT, by_name=True))

    assert result.outcome is Outcome.REMEDIATED
    assert result.resource.resource_id == g
    assert egress(g) == []


def test_given_ingress_and_egress_rules_on_an_unused_default_group_then_every_rule_is_revoked() -> None:
    g = default_group(vpc())
    authorize(g, 22, cidrs=("10.20.0.0/16",))
    authorize(g, None, protocol="-1", groups=(g,))

    result = run(sg_ref(g))

    assert result.outcome is Outcome.REMEDIATED
    assert len(result.changes) == 3
    assert ingress(g) == [] and egress(g) == []


def test_given_a_default_group_without_rules_then_compliant() -> None:
    g = default_group(vpc())
    run(sg_ref(g))

    assert run(sg_ref(g)).outcome is Outcome.COMPLIANT


def test_given_a_default_group_used_by_network_interfaces_then_a_person_is_asked_and_nothing_changes() -> None:
    ec2 = boto3.client("ec2")
    v = vpc()
    g = default_group(v)
    subnet = ec2.create_subnet(VpcId=v, CidrBlock="10.20.0.0/24")["Subnet"]["SubnetId"]
    ec2.create_network_interface(SubnetId=subnet, Groups=[g])
    authorize(g, 443, cidrs=("10.20.0.0/16",))

    result = run(sg_ref(g))

    assert result.outcome is Outcome.NEEDS_ATTENTION
    assert "could cut their traffic" in result.remaining[0].manual_steps[0]
    assert ingress(g) == [("tcp", 443, 443, "10.20.0.0/16")]
    assert len(egress(g)) == 1


def test_given_a_group_that_is_not_a_default_group_then_not_applicable() -> None:
    g = group(vpc(), "backend-sg")
    authorize(g, 22, cidrs=("10.20.0.0/16",))

    assert run(sg_ref(g)).outcome is Outcome.NOT_APPLICABLE
    assert len(egress(g)) == 1


def test_given_a_group_or_vpc_deleted_before_the_event_is_handled_then_not_applicable() -> None:
    gone_vpc = ResourceRef("AWS::EC2::SecurityGroup", "vpc-0a1b2c3d4e5f60009", REGION, ACCOUNT, by_name=True)

    assert run(sg_ref("sg-0a1b2c3d4e5f60009")).outcome is Outcome.NOT_APPLICABLE
    assert run(gone_vpc).outcome is Outcome.NOT_APPLICABLE


def test_given_a_fix_then_revert_reauthorizes_ingress_and_egress() -> None:
    g = default_group(vpc())
    authorize(g, 22, cidrs=("10.20.0.0/16",))
    engine, _ = make_engine()
    control = VpcDefaultSecurityGroupClosed(engine.context)
    fixed = engine.run(control, sg_ref(g), None)

    restored = control.revert(sg_ref(g), fixed)

    assert len(restored) == 2
    assert ingress(g) == [("tcp", 22, 22, "10.20.0.0/16")]
    assert [(r["IpProtocol"], r.get("CidrIpv4")) for r in egress(g)] == [("-1", "0.0.0.0/0")]
