"""EC2 network CloudTrail events in, resource references out: VPCs, default groups, subnets, instances;
and which of the network controls each call reaches."""

from __future__ import annotations

from typing import Any

import pytest
from phiguard.controls.bastion_ssh_from_allowed_cidrs import BastionSshFromAllowedCidrs
from phiguard.controls.db_ingress_from_app_tier_only import DbIngressFromAppTierOnly
from phiguard.controls.ec2_instance_no_public_ip import Ec2InstanceNoPublicIp
from phiguard.controls.subnet_auto_assign_public_ip_disabled import SubnetAutoAssignPublicIpDisabled
from phiguard.controls.vpc_default_security_group_closed import VpcDefaultSecurityGroupClosed
from phiguard.controls.vpc_flow_logs_enabled import VpcFlowLogsEnabled
from phiguard.controls.vpc_s3_gateway_endpoint import VpcS3GatewayEndpoint
from phiguard.core.control import Control
from phiguard.core.model import Actor, ApiCall, ResourceRef
from phiguard.core.network import default_security_groups, instances, subnets, vpcs

ACCOUNT, REGION = "123456789012", "us-east-1"
VPC_ID, SUBNET_ID = "vpc-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60001"
NETWORK_CONTROLS: tuple[type[Control], ...] = (
    BastionSshFromAllowedCidrs,
    DbIngressFromAppTierOnly,
    Ec2InstanceNoPublicIp,
    SubnetAutoAssignPublicIpDisabled,
    VpcDefaultSecurityGroupClosed,
    VpcFlowLogsEnabled,
    VpcS3GatewayEndpoint,
)


def ec2_call(event_name: str, request: dict[str, Any], response: dict[str, Any] | None = None) -> ApiCall:
    actor = Actor(f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/jane", "AssumedRole", None, "", event_name, "e1")
    return ApiCall("aws.ec2", "ec2.amazonaws.com", event_name, REGION, ACCOUNT, request, response or {}, actor)


def ref(resource_type: str, resource_id: str, *, by_name: bool = False) -> ResourceRef:
    return ResourceRef(resource_type, resource_id, REGION, ACCOUNT, by_name)


def reached_by(call: ApiCall) -> set[str]:
    return {
        c.control_id
        for c in NETWORK_CONTROLS
        for t in c.triggers
        if (t.source, t.event_source, t.event_name) == (call.source, call.event_source, call.event_name)
    }


CREATE_VPC = ec2_call(
    "CreateVpc",
    {"cidrBlock": "10.20.0.0/16"},
    {"vpc": {"vpcId": VPC_ID, "state": "pending", "cidrBlock": "10.20.0.0/16", "isDefault": False}},
)


def test_create_vpc_names_the_new_vpc() -> None:
    assert vpcs(CREATE_VPC) == [ref("AWS::EC2::VPC", VPC_ID)]


def test_create_vpc_names_its_default_group_by_the_vpc_id() -> None:
    assert default_security_groups(CREATE_VPC) == [ref("AWS::EC2::SecurityGroup", VPC_ID, by_name=True)]


def test_calls_that_name_no_vpc_mean_every_vpc_of_the_region() -> None:
    delete_flow_logs = ec2_call("DeleteFlowLogs", {"DeleteFlowLogsRequest": {"FlowLogId": {"tag": 1}}})
    delete_endpoints = ec2_call("DeleteVpcEndpoints", {"DeleteVpcEndpointsRequest": {"VpcEndpointId": {}}})

    assert vpcs(delete_flow_logs) == [ref("AWS::EC2::VPC", "*")]
    assert vpcs(delete_endpoints) == [ref("AWS::EC2::VPC", "*")]
    assert default_security_groups(delete_flow_logs) == []


def test_create_subnet_names_the_new_subnet_and_modify_subnet_attribute_the_requested_one() -> None:
    create = ec2_call("CreateSubnet", {"vpcId": VPC_ID}, {"subnet": {"subnetId": SUBNET_ID, "vpcId": VPC_ID}})
    modify = ec2_call("ModifySubnetAttribute", {"subnetId": SUBNET_ID, "mapPublicIpOnLaunch": {"value": True}})

    assert subnets(create) == [ref("AWS::EC2::Subnet", SUBNET_ID)]
    assert subnets(modify) == [ref("AWS::EC2::Subnet", SUBNET_ID)]
    assert subnets(ec2_call("ModifySubnetAttribute", {})) == []


def test_run_instances_names_every_instance_once() -> None:
    call = ec2_call(
        "RunInstances",
        {"instanceType": "t3.micro"},
        {"instancesSet": {"items": [{"instanceId": "i-01"}, {"instanceId": "i-02"}, {"instanceId": "i-01"}]}},
    )

    assert instances(call) == [ref("AWS::EC2::Instance", "i-01"), ref("AWS::EC2::Instance", "i-02")]


@pytest.mark.parametrize(
    ("event_name", "expected"),
    [
        ("CreateVpc", {"vpc-default-security-group-closed", "vpc-flow-logs-enabled", "vpc-s3-gateway-endpoint"}),
        ("DeleteFlowLogs", {"vpc-flow-logs-enabled"}),
        ("DeleteVpcEndpoints", {"vpc-s3-gateway-endpoint"}),
        ("CreateSubnet", {"subnet-auto-assign-public-ip-disabled"}),
        ("ModifySubnetAttribute", {"subnet-auto-assign-public-ip-disabled"}),
        ("RunInstances", {"ec2-instance-no-public-ip"}),
        (
            "AuthorizeSecurityGroupIngress",
            {"bastion-ssh-from-allowed-cidrs", "db-ingress-from-app-tier-only", "vpc-default-security-group-closed"},
        ),
        ("AuthorizeSecurityGroupEgress", {"vpc-default-security-group-closed"}),
        ("ModifySecurityGroupRules", {"bastion-ssh-from-allowed-cidrs", "db-ingress-from-app-tier-only"}),
    ],
)
def test_each_call_reaches_the_network_controls_that_care(event_name: str, expected: set[str]) -> None:
    assert reached_by(ec2_call(event_name, {})) == expected
