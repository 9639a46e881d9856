"""Scenarios of vpc-sg-restricted-ports, against moto state."""

from __future__ import annotations

import boto3
import pytest
from helpers import authorize, group, ingress, make_engine, sg_ref, vpc
from phiguard.controls.vpc_sg_restricted_ports import VpcSgRestrictedPorts
from phiguard.core.model import Outcome, ResourceRef, Result, Severity

pytestmark = pytest.mark.usefixtures("aws")


def run(reference: ResourceRef, **settings: object) -> Result:
    engine, _ = make_engine(**settings)  # type: ignore[arg-type]
    return engine.run(VpcSgRestrictedPorts(engine.context), reference, None)


def test_given_ssh_open_to_ipv4_and_ipv6_world_then_both_world_ranges_are_revoked_and_nothing_else() -> None:
    g = group(vpc(), "backend-sg")
    authorize(g, 22, cidrs=("0.0.0.0/0",), cidrs6=("::/0",))
    authorize(g, 22, cidrs=("203.0.113.0/24",))

    result = run(sg_ref(g))

    assert result.outcome is Outcome.REMEDIATED
    assert ingress(g) == [("tcp", 22, 22, "203.0.113.0/24")]
    assert len(result.changes) == 2


def test_given_one_permission_mixing_world_and_private_cidr_then_only_the_world_range_goes() -> None:
    g = group(vpc(), "app-sg")
    authorize(g, 5432, cidrs=("0.0.0.0/0", "10.20.0.0/16"))

    run(sg_ref(g))

    assert ingress(g) == [("tcp", 5432, 5432, "10.20.0.0/16")]


def test_given_authorized_public_ports_open_to_the_world_then_compliant() -> None:
    g = group(vpc(), "web-sg")
    authorize(g, 443, cidrs=("0.0.0.0/0",), cidrs6=("::/0",))
    authorize(g, 80, cidrs=("0.0.0.0/0",))

    assert run(sg_ref(g)).outcome is Outcome.COMPLIANT
    assert len(ingress(g)) == 3


def test_given_a_port_range_spanning_public_ports_then_it_is_a_violation() -> None:
    g = group(vpc(), "web-sg")
    authorize(g, 80, to_port=443, cidrs=("0.0.0.0/0",))

    result = run(sg_ref(g))

    assert result.outcome is Outcome.REMEDIATED
    assert ingress(g) == []


def test_given_all_tcp_ports_world_open_on_an_internet_facing_lb_group_then_public_ports_are_readded() -> None:
    ec2, elbv2 = boto3.client("ec2"), boto3.client("elbv2")
    vpc_id = vpc()
    subnets = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=f"us-east-1{z}")["Subnet"][
            "SubnetId"
        ]
        for i, z in ((1, "a"), (2, "b"))
    ]
    g = group(vpc_id, "frontend-lb-sg")
    elbv2.create_load_balancer(Name="front", Subnets=subnets, SecurityGroups=[g], Scheme="internet-facing")
    authorize(g, 0, to_port=65535, cidrs=("0.0.0.0/0", "10.20.0.0/16"))
    authorize(g, 443, cidrs=("0.0.0.0/0",))

    result = run(sg_ref(g))

    assert result.outcome is Outcome.REMEDIATED
    # 443 was already open on its own and stays once; 80 is re-added; the private CIDR is untouched.
    assert ingress(g) == [
        ("tcp", 0, 65535, "10.20.0.0/16"),
        ("tcp", 80, 80, "0.0.0.0/0"),
        ("tcp", 443, 443, "0.0.0.0/0"),
    ]
    assert "re-add tcp 80" in result.changes[0]


def test_given_all_traffic_world_open_on_an_ordinary_group_then_it_is_revoked_only() -> None:
    g = group(vpc(), "batch-sg")
    authorize(g, None, protocol="-1", cidrs=("0.0.0.0/0",), cidrs6=("::/0",))

    result = run(sg_ref(g))

    assert result.outcome is Outcome.REMEDIATED
    assert ingress(g) == []


def test_given_a_group_tagged_public_lb_then_all_traffic_for_ipv6_world_keeps_the_public_ports_for_ipv6() -> None:
    g = group(vpc(), "edge-sg", role="public-lb")
    authorize(g, None, protocol="-1", cidrs6=("::/0",))

    run(sg_ref(g))

    assert ingress(g) == [("tcp", 80, 80, "::/0"), ("tcp", 443, 443, "::/0")]


def test_given_prefix_list_and_group_sources_then_they_are_not_world_open_and_stay() -> None:
    v = vpc()
    g, other = group(v, "app-sg"), group(v, "peer-sg")
    prefix_list = boto3.client("ec2").create_managed_prefix_list(
        PrefixListName="office", AddressFamily="IPv4", MaxEntries=2
    )["PrefixList"]["PrefixListId"]
    authorize(g, 22, prefix_lists=(prefix_list,))
    authorize(g, 22, groups=(other,))

    assert run(sg_ref(g)).outcome is Outcome.COMPLIANT
    assert len(ingress(g)) == 2


def test_given_udp_world_open_then_it_is_a_violation_even_on_a_public_port_number() -> None:
    g = group(vpc(), "voice-sg")
    authorize(g, 443, protocol="udp", cidrs=("0.0.0.0/0",))

    assert run(sg_ref(g)).outcome is Outcome.REMEDIATED
    assert ingress(g) == []


def test_given_custom_authorized_ports_then_they_are_respected() -> None:
    g = group(vpc(), "mail-sg")
    authorize(g, 25, cidrs=("0.0.0.0/0",))

    assert run(sg_ref(g), authorized_public_ports=frozenset({25})).outcome is Outcome.COMPLIANT


def test_given_a_rule_added_by_group_name_then_the_default_vpc_group_is_resolved_and_fixed() -> None:
    ec2 = boto3.client("ec2")
    g = ec2.create_security_group(GroupName="legacy-web", Description="legacy")["GroupId"]
    group(vpc(), "legacy-web")  # same name in another VPC: not the one EC2's name form addresses
    authorize(g, 3389, cidrs=("0.0.0.0/0",))

    result = run(ResourceRef("AWS::EC2::SecurityGroup", "legacy-web", "us-east-1", "123456789012", by_name=True))

    assert result.resource.resource_id == g
    assert result.outcome is Outcome.REMEDIATED
    assert ingress(g) == []


def test_given_a_group_deleted_before_the_event_is_handled_then_not_applicable() -> None:
    g = group(vpc(), "short-lived")
    boto3.client("ec2").delete_security_group(GroupId=g)

    assert run(sg_ref(g)).outcome is Outcome.NOT_APPLICABLE


def test_given_the_fix_ran_then_running_again_changes_nothing() -> None:
    g = group(vpc(), "backend-sg")
    authorize(g, 22, cidrs=("0.0.0.0/0",))

    assert run(sg_ref(g)).outcome is Outcome.REMEDIATED
    assert run(sg_ref(g)).outcome is Outcome.COMPLIANT


@pytest.mark.parametrize(
    ("protocol", "port", "to_port", "expected"),
    [
        ("tcp", 5432, None, Severity.CRITICAL),
        ("tcp", 3000, 4000, Severity.CRITICAL),  # the range covers MySQL's 3306
        ("-1", None, None, Severity.CRITICAL),  # every port
        ("tcp", 22, None, Severity.HIGH),
        ("udp", 5432, None, Severity.HIGH),
    ],
)
def test_given_a_database_port_open_to_the_world_then_the_finding_is_critical_any_other_port_high(
    protocol: str, port: int | None, to_port: int | None, expected: Severity
) -> None:
    g = group(vpc(), "backend-sg")
    authorize(g, port, protocol=protocol, to_port=to_port, cidrs=("0.0.0.0/0",))

    result = run(sg_ref(g))

    assert result.outcome is Outcome.REMEDIATED
    assert VpcSgRestrictedPorts.severity_of(result) is expected
