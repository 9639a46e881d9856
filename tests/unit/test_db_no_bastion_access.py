"""Scenarios of db-no-bastion-access, against moto state."""

from __future__ import annotations

from dataclasses import dataclass

import boto3
import pytest
from helpers import authorize, group, ingress, make_engine, sg_ref, vpc
from phiguard.controls.db_no_bastion_access import DbNoBastionAccess
from phiguard.core.model import Outcome, Result

pytestmark = pytest.mark.usefixtures("aws")


@dataclass(frozen=True)
class Tiers:
    database: str
    backend: str
    bastion: str
    bastion_ip: str


def tiers(*, tag_bastion: bool = True, rds: bool = True) -> Tiers:
    ec2 = boto3.client("ec2")
    v = vpc()
    subnet = ec2.create_subnet(VpcId=v, CidrBlock="10.20.0.0/24", AvailabilityZone="us-east-1a")["Subnet"]["SubnetId"]
    subnet_b = ec2.create_subnet(VpcId=v, CidrBlock="10.20.1.0/24", AvailabilityZone="us-east-1b")["Subnet"]["SubnetId"]
    database = group(v, "database-sg", role=None if rds else "database")
    backend = group(v, "backend-sg")
    bastion = group(v, "bastion-sg", role="bastion" if tag_bastion else None)
    authorize(database, 3306, groups=(backend,))
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnet, SecurityGroupIds=[bastion])[
        "Instances"
    ][0]
    if rds:
        client = boto3.client("rds")
        client.create_db_subnet_group(
            DBSubnetGroupName="db", DBSubnetGroupDescription="db", SubnetIds=[subnet, subnet_b]
        )
        client.create_db_instance(
            DBInstanceIdentifier="phi",
            Engine="mysql",
            DBInstanceClass="db.t3.micro",
            AllocatedStorage=20,
            MasterUsername="admin",
            MasterUserPassword="password123",
            DBSubnetGroupName="db",
            VpcSecurityGroupIds=[database],
        )
    return Tiers(database, backend, bastion, instance["PrivateIpAddress"])


def run(group_id: str, **settings: object) -> Result:
    engine, _ = make_engine(**settings)  # type: ignore[arg-type]
    return engine.run(DbNoBastionAccess(engine.context), sg_ref(group_id), None)


def test_given_the_bastion_group_admitted_to_the_database_then_only_that_rule_is_revoked() -> None:
    t = tiers()
    authorize(t.database, 3306, groups=(t.bastion,))

    result = run(t.database)

    assert result.outcome is Outcome.REMEDIATED
    assert ingress(t.database) == [("tcp", 3306, 3306, t.backend)]


def test_given_the_bastion_named_in_settings_instead_of_a_tag_then_it_is_found() -> None:
    t = tiers(tag_bastion=False)
    authorize(t.database, 3306, groups=(t.bastion,))

    assert run(t.database).outcome is Outcome.COMPLIANT  # nobody said which group is the bastion
    assert run(t.database, bastion_sg_ids=frozenset({t.bastion})).outcome is Outcome.REMEDIATED
    assert ingress(t.database) == [("tcp", 3306, 3306, t.backend)]


def test_given_a_database_group_tagged_instead_of_attached_to_rds_then_it_is_checked() -> None:
    t = tiers(rds=False)
    authorize(t.database, 3306, groups=(t.bastion,))

    assert run(t.database).outcome is Outcome.REMEDIATED


def test_given_the_bastions_own_address_admitted_then_that_rule_is_revoked() -> None:
    t = tiers()
    authorize(t.database, 3306, cidrs=(f"{t.bastion_ip}/32",))

    assert run(t.database).outcome is Outcome.REMEDIATED
    assert ingress(t.database) == [("tcp", 3306, 3306, t.backend)]


def test_given_a_wide_cidr_covering_the_bastion_then_a_person_is_asked_and_nothing_changes() -> None:
    t = tiers()
    authorize(t.database, 3306, cidrs=("10.20.0.0/16",))

    result = run(t.database)

    assert result.outcome is Outcome.NEEDS_ATTENTION
    assert t.bastion_ip in result.remaining[0].summary
    assert ("tcp", 3306, 3306, "10.20.0.0/16") in ingress(t.database)


def test_given_a_group_that_is_not_a_database_group_then_not_applicable() -> None:
    t = tiers()
    authorize(t.backend, 22, groups=(t.bastion,))

    assert run(t.backend).outcome is Outcome.NOT_APPLICABLE
    assert ("tcp", 22, 22, t.bastion) in ingress(t.backend)


def test_given_a_group_the_bastion_shares_with_app_servers_then_a_person_is_asked_and_nothing_changes() -> None:
    t = tiers()
    ec2 = boto3.client("ec2")
    vpc_id = ec2.describe_security_groups(GroupIds=[t.database])["SecurityGroups"][0]["VpcId"]
    agents = group(vpc_id, "ops-agents-sg")
    bastion = ec2.describe_instances(Filters=[{"Name": "instance.group-id", "Values": [t.bastion]}])["Reservations"][0][
        "Instances"
    ][0]
    ec2.modify_instance_attribute(InstanceId=bastion["InstanceId"], Groups=[t.bastion, agents])
    ec2.create_tags(Resources=[bastion["InstanceId"]], Tags=[{"Key": "phiguard:role", "Value": "bastion"}])
    subnet = bastion["SubnetId"]
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    ec2.run_instances(
        ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnet, SecurityGroupIds=[agents]
    )  # an app server
    authorize(t.database, 3306, groups=(agents,))

    result = run(t.database)

    assert result.outcome is Outcome.NEEDS_ATTENTION
    assert "shares with other instances" in result.remaining[0].summary
    assert ("tcp", 3306, 3306, agents) in ingress(t.database)


def test_given_a_tagged_bastion_instance_whose_own_group_is_untagged_then_that_group_is_still_the_bastions() -> None:
    t = tiers(tag_bastion=False)
    ec2 = boto3.client("ec2")
    [instance] = ec2.describe_instances(Filters=[{"Name": "instance.group-id", "Values": [t.bastion]}])["Reservations"][
        0
    ]["Instances"]
    ec2.create_tags(Resources=[instance["InstanceId"]], Tags=[{"Key": "phiguard:role", "Value": "bastion"}])
    authorize(t.database, 3306, groups=(t.bastion,))

    assert run(t.database).outcome is Outcome.REMEDIATED
    assert ingress(t.database) == [("tcp", 3306, 3306, t.backend)]
