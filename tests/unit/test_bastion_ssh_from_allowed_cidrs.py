"""Scenarios of bastion-ssh-from-allowed-cidrs, against moto state."""

from __future__ import annotations

import boto3
import pytest
from helpers import authorize, group, ingress, make_engine, sg_ref, vpc
from phiguard.controls.bastion_ssh_from_allowed_cidrs import BastionSshFromAllowedCidrs
from phiguard.core.model import Outcome, Result

pytestmark = pytest.mark.usefixtures("aws")

ADMIN = ("203.0.113.0/24",)


def run(group_id: str, admin_cidrs: tuple[str, ...] = ADMIN) -> Result:
    engine, _ = make_engine(admin_cidrs=admin_cidrs)
    return engine.run(BastionSshFromAllowedCidrs(engine.context), sg_ref(group_id), None)


def bastion_group() -> str:
    g = group(vpc(), "bastion-sg", role="bastion")
    authorize(g, 22, cidrs=("203.0.113.0/24",))
    return g


def test_given_ssh_from_outside_the_admin_cidrs_then_exactly_that_rule_is_revoked() -> None:
    g = bastion_group()
    authorize(g, 22, cidrs=("198.51.100.0/24",))

    result = run(g)

    assert result.outcome is Outcome.REMEDIATED
    assert ingress(g) == [("tcp", 22, 22, "203.0.113.0/24")]
    assert len(result.changes) == 1


def test_given_a_range_or_all_traffic_covering_ssh_from_outside_then_those_rules_are_revoked() -> None:
    g = bastion_group()
    authorize(g, 20, to_port=30, cidrs=("0.0.0.0/0",))
    authorize(g, None, protocol="-1", cidrs=("10.0.0.0/8",))

    assert run(g).outcome is Outcome.REMEDIATED
    assert ingress(g) == [("tcp", 22, 22, "203.0.113.0/24")]


def test_given_ssh_from_another_security_group_then_it_counts_as_outside_and_is_revoked() -> None:
    g = bastion_group()
    other = group(vpc(), "jump-sg")
    authorize(g, 22, groups=(other,))

    assert run(g).outcome is Outcome.REMEDIATED
    assert ingress(g) == [("tcp", 22, 22, "203.0.113.0/24")]


def test_given_ssh_from_a_cidr_inside_an_admin_cidr_only_then_compliant() -> None:
    g = bastion_group()
    authorize(g, 22, cidrs=("203.0.113.64/26",))

    assert run(g).outcome is Outcome.COMPLIANT
    assert len(ingress(g)) == 2


def test_given_another_port_open_from_anywhere_then_it_stays() -> None:
    g = bastion_group()
    authorize(g, 443, cidrs=("198.51.100.0/24",))

    assert run(g).outcome is Outcome.COMPLIANT
    assert ("tcp", 443, 443, "198.51.100.0/24") in ingress(g)


def test_given_a_prefix_list_admitted_to_ssh_then_a_person_is_asked_and_nothing_changes() -> None:
    g = bastion_group()
    prefix_list = boto3.client("ec2").create_managed_prefix_list(
        PrefixListName="vpn", MaxEntries=5, AddressFamily="IPv4", Entries=[{"Cidr": "192.0.2.0/24"}]
    )["PrefixList"]["PrefixListId"]
    authorize(g, 22, prefix_lists=(prefix_list,))

    result = run(g)

    assert result.outcome is Outcome.NEEDS_ATTENTION
    assert prefix_list in result.remaining[0].manual_steps[0]
    assert ("tcp", 22, 22, prefix_list) in ingress(g)


def test_given_no_admin_cidrs_configured_then_a_person_is_asked_to_set_them_and_nothing_changes() -> None:
    g = bastion_group()

    result = run(g, admin_cidrs=())

    assert result.outcome is Outcome.NEEDS_ATTENTION
    assert "AdminCidrs" in result.remaining[0].manual_steps[0]
    assert ingress(g) == [("tcp", 22, 22, "203.0.113.0/24")]


def test_given_a_group_that_is_not_a_bastion_group_then_not_applicable() -> None:
    g = group(vpc(), "backend-sg")
    authorize(g, 22, cidrs=("198.51.100.0/24",))

    assert run(g).outcome is Outcome.NOT_APPLICABLE
    assert ingress(g) == [("tcp", 22, 22, "198.51.100.0/24")]


def launch(group_id: str, *, bastion: bool) -> None:
    ec2 = boto3.client("ec2")
    vpc_id = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]["VpcId"]
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    subnet = (
        subnets[0]["SubnetId"]
        if subnets
        else ec2.create_subnet(VpcId=vpc_id, CidrBlock="10.20.9.0/24")["Subnet"]["SubnetId"]
    )
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    tags = [{"ResourceType": "instance", "Tags": [{"Key": "phiguard:role", "Value": "bastion"}]}] if bastion else []
    ec2.run_instances(
        ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnet, SecurityGroupIds=[group_id], TagSpecifications=tags
    )


def test_given_an_untagged_group_only_a_tagged_bastion_instance_uses_then_it_is_the_bastions() -> None:
    g = group(vpc(), "jump-sg")
    launch(g, bastion=True)
    authorize(g, 22, cidrs=("198.51.100.0/24", "203.0.113.0/24"))

    assert run(g).outcome is Outcome.REMEDIATED
    assert ingress(g) == [("tcp", 22, 22, "203.0.113.0/24")]


def test_given_an_untagged_group_the_bastion_shares_with_another_instance_then_not_applicable() -> None:
    g = group(vpc(), "agents-sg")
    launch(g, bastion=True)
    launch(g, bastion=False)
    authorize(g, 22, cidrs=("198.51.100.0/24",))

    assert run(g).outcome is Outcome.NOT_APPLICABLE
    assert ingress(g) == [("tcp", 22, 22, "198.51.100.0/24")]


def test_given_a_bastion_group_named_in_settings_but_deleted_then_not_applicable() -> None:
    engine, _ = make_engine(admin_cidrs=ADMIN, bastion_sg_ids=frozenset({"sg-0a1b2c3d4e5f60009"}))
    result = engine.run(BastionSshFromAllowedCidrs(engine.context), sg_ref("sg-0a1b2c3d4e5f60009"), None)

    assert result.outcome is Outcome.NOT_APPLICABLE


def test_given_a_fix_then_revert_reauthorizes_the_revoked_rule() -> None:
    g = bastion_group()
    authorize(g, 22, cidrs=("198.51.100.0/24",))
    engine, _ = make_engine(admin_cidrs=ADMIN)
    control = BastionSshFromAllowedCidrs(engine.context)
    fixed = engine.run(control, sg_ref(g), None)

    restored = control.revert(sg_ref(g), fixed)

    assert restored == ["re-authorized tcp 22-22 from 198.51.100.0/24"]
    assert ingress(g) == [("tcp", 22, 22, "198.51.100.0/24"), ("tcp", 22, 22, "203.0.113.0/24")]
