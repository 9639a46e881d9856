"""vpc-s3-gateway-endpoint: every VPC reaches S3 through a gateway endpoint (notify: routing is the user's).

Scenarios:
- Given a VPC without an S3 gateway endpoint, Then a person is given the steps to add one.
- Given a VPC with an S3 gateway endpoint, Then compliant.
- Given an endpoint deleted (DeleteVpcEndpoints names no VPC), Then every VPC of the region is judged.
- Given a VPC tagged phiguard:phi=false, Then not applicable (and skipped when every VPC is judged).
- Given a VPC deleted before the event is handled, Then not applicable.
"""

from __future__ import annotations

from phiguard.core import network
from phiguard.core.control import Control, register
from phiguard.core.model import Action, Evaluation, ResourceRef, Severity, Trigger, Violation


@register
class VpcS3GatewayEndpoint(Control):
    control_id = "vpc-s3-gateway-endpoint"
    title = "Every VPC reaches S3 through a gateway endpoint"
    resource_type = network.VPC
    hipaa = ("164.312(e)(1)",)
    action = Action.NOTIFY
    severity = Severity.LOW
    permissions = ("ec2:DescribeVpcs", "ec2:DescribeVpcEndpoints")
    triggers = tuple(Trigger("aws.ec2", name, network.vpcs) for name in ("CreateVpc", "DeleteVpcEndpoints"))

    def expand(self, ref: ResourceRef) -> list[ResourceRef]:
        return network.each_vpc(self.context, ref)

    def evaluate(self, ref: ResourceRef) -> Evaluation:
        found = network.vpcs_of(self.context, ref)
        vpc_ids = sorted(v["VpcId"] for v in found if network.tag(v, network.PHI_TAG) != "false")
        if not vpc_ids and ref.resource_id != network.ALL_VPCS:
            return Evaluation.not_applicable(f"{ref.resource_id} is tagged {network.PHI_TAG}=false")
        service = f"com.amazonaws.{ref.region}.s3"
        covered: set[str] = set()
        if vpc_ids:
            pages = (
                self.clients.ec2(ref.region)
                .get_paginator("describe_vpc_endpoints")
                .paginate(
                    Filters=[
                        {"Name": "vpc-id", "Values": vpc_ids},
                        {"Name": "service-name", "Values": [service]},
                        {"Name": "vpc-endpoint-type", "Values": ["Gateway"]},
                    ]
                )
            )
            covered = {
                str(e.get("VpcId"))
                for page in pages
                for e in page["VpcEndpoints"]
                if e.get("VpcEndpointType") == "Gateway" and e.get("State", "available") not in ("deleted", "deleting")
            }
        state = {"vpcs": {v: v in covered for v in vpc_ids}}
        return Evaluation.of(
            state,
            [
                Violation(
                    summary=f"VPC {v} has no S3 gateway endpoint: S3 traffic leaves through the internet or NAT",
                    fix=None,
                    detail={"vpc_id": v},
                    manual_steps=(
                        f"Create a gateway VPC endpoint for {service} in {v} "
                        f"(aws ec2 create-vpc-endpoint --vpc-id {v} --service-name {service} "
                        "--vpc-endpoint-type Gateway --route-table-ids <the VPC's route tables>).",
                        "Associate it with every route table of the VPC's private subnets.",
                        "Optionally restrict it with an endpoint policy to your own buckets.",
                        f"If the VPC never handles PHI, tag it {network.PHI_TAG}=false instead.",
                    ),
                )
                for v in vpc_ids
                if v not in covered
            ],
        )
