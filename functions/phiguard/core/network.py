"""VPC, subnet and instance reads shared by the network controls, and where EC2's calls name them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from phiguard.core import security_groups as sg
from phiguard.core.control import Context, ResourceGone
from phiguard.core.events import items
from phiguard.core.model import ApiCall, ResourceRef

if TYPE_CHECKING:
    from mypy_boto3_ec2.type_defs import InstanceTypeDef, SubnetTypeDef, VpcTypeDef

VPC, SUBNET, INSTANCE = "AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::Instance"
SECURITY_GROUP = "AWS::EC2::SecurityGroup"
ALL_VPCS = "*"  # a VPC reference meaning "every VPC of the region" (the call does not name the VPC)
PHI_TAG = "phiguard:phi"


def _mapping(value: Any) -> dict[str, Any]:
    return dict(value) if isinstance(value, dict) else {}


def _code(e: ClientError) -> str:
    return str(e.response.get("Error", {}).get("Code"))


# Where EC2's calls name their VPC, subnet or instance ----------------------------------------


def new_vpc_id(call: ApiCall) -> str | None:
    vpc_id = _mapping(call.response.get("vpc")).get("vpcId")
    return vpc_id if isinstance(vpc_id, str) and vpc_id.startswith("vpc-") else None


def vpcs(call: ApiCall) -> list[ResourceRef]:
    """CreateVpc names its VPC; calls that do not name one (DeleteFlowLogs, DeleteVpcEndpoints) mean all."""
    vpc_id = new_vpc_id(call)
    return [call.ref(VPC, vpc_id or ALL_VPCS)]


def default_security_groups(call: ApiCall) -> list[ResourceRef]:
    """CreateVpc: the new VPC's default group, named by the VPC id (resolve_default_group finds it)."""
    vpc_id = new_vpc_id(call)
    return [call.ref(SECURITY_GROUP, vpc_id, by_name=True)] if vpc_id else []


def subnets(call: ApiCall) -> list[ResourceRef]:
    """CreateSubnet (in the response) and ModifySubnetAttribute (in the request)."""
    ids = [_mapping(call.response.get("subnet")).get("subnetId"), call.request.get("subnetId")]
    refs = [call.ref(SUBNET, i) for i in ids if isinstance(i, str) and i.startswith("subnet-")]
    return list(dict.fromkeys(refs))


def instances(call: ApiCall) -> list[ResourceRef]:
    """RunInstances: every instance it launched."""
    ids = [i.get("instanceId") for i in items(call.response.get("instancesSet"))]
    refs = [call.ref(INSTANCE, i) for i in ids if isinstance(i, str) and i.startswith("i-")]
    return list(dict.fromkeys(refs))


# Reads --------------------------------------------------------------------------------------


def resolve_default_group(context: Context, ref: ResourceRef) -> ResourceRef:
    """A reference to a VPC's default group by the VPC id becomes one by group id; others as sg.resolve."""
    if not (ref.by_name and ref.resource_id.startswith("vpc-")):
        return sg.resolve(context, ref)
    groups = context.clients.ec2(ref.region).describe_security_groups(
        Filters=[
            {"Name": "vpc-id", "Values": [ref.resource_id]},
            {"Name": "group-name", "Values": ["default"]},
        ]
    )["SecurityGroups"]
    if len(groups) != 1:
        raise ResourceGone(f"VPC {ref.resource_id} has no default security group")
    return ResourceRef(ref.resource_type, groups[0]["GroupId"], ref.region, ref.account_id)


def vpcs_of(context: Context, ref: ResourceRef) -> list[VpcTypeDef]:
    """The VPC the reference names, or every VPC of the region for ALL_VPCS; ResourceGone when it is gone."""
    ec2 = context.clients.ec2(ref.region)
    if ref.resource_id == ALL_VPCS:
        return [v for page in ec2.get_paginator("describe_vpcs").paginate() for v in page["Vpcs"]]
    try:
        found = ec2.describe_vpcs(VpcIds=[ref.resource_id])["Vpcs"]
    except ClientError as e:
        if _code(e) in ("InvalidVpcID.NotFound", "InvalidVpcID.Malformed"):
            raise ResourceGone(f"VPC {ref.resource_id} does not exist") from e
        raise
    if not found:
        raise ResourceGone(f"VPC {ref.resource_id} does not exist")
    return found


def each_vpc(context: Context, ref: ResourceRef) -> list[ResourceRef]:
    """ALL_VPCS as one reference per VPC of the region, so each is judged, exempted and recorded on its own."""
    if ref.resource_id != ALL_VPCS:
        return [ref]
    return [ResourceRef(VPC, v["VpcId"], ref.region, ref.account_id) for v in vpcs_of(context, ref)]


def tag(resource: VpcTypeDef | SubnetTypeDef | InstanceTypeDef, key: str) -> str | None:
    return next((t.get("Value") for t in resource.get("Tags", []) if t.get("Key") == key), None)


def subnet(context: Context, region: str, subnet_id: str) -> SubnetTypeDef:
    try:
        found = context.clients.ec2(region).describe_subnets(SubnetIds=[subnet_id])["Subnets"]
    except ClientError as e:
        if _code(e) in ("InvalidSubnetID.NotFound", "InvalidSubnetID.Malformed"):
            raise ResourceGone(f"subnet {subnet_id} does not exist") from e
        raise
    if not found:
        raise ResourceGone(f"subnet {subnet_id} does not exist")
    return found[0]


def instance(context: Context, region: str, instance_id: str) -> InstanceTypeDef:
    try:
        reservations = context.clients.ec2(region).describe_instances(InstanceIds=[instance_id])["Reservations"]
    except ClientError as e:
        if _code(e) in ("InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed"):
            raise ResourceGone(f"instance {instance_id} does not exist") from e
        raise
    found = [i for r in reservations for i in r.get("Instances", [])]
    if not found or found[0].get("State", {}).get("Name") in ("terminated", "shutting-down"):
        raise ResourceGone(f"instance {instance_id} does not exist")
    return found[0]


def internet_gateway_route(context: Context, region: str, subnet_id: str, vpc_id: str) -> str | None:
    """The route table that sends the subnet's traffic to an internet gateway, or None when it is private.

    The subnet's own route table decides; a subnet with none uses its VPC's main route table.
    """
    ec2 = context.clients.ec2(region)
    tables = ec2.describe_route_tables(Filters=[{"Name": "association.subnet-id", "Values": [subnet_id]}])[
        "RouteTables"
    ]
    if not tables:
        tables = ec2.describe_route_tables(
            Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "association.main", "Values": ["true"]}]
        )["RouteTables"]
    for table in tables:
        for route in table.get("Routes", []):
            if str(route.get("GatewayId", "")).startswith("igw-") and route.get("State", "active") == "active":
                return str(table["RouteTableId"])
    return None


def is_private(context: Context, region: str, subnet_id: str, vpc_id: str) -> bool:
    return internet_gateway_route(context, region, subnet_id, vpc_id) is None
