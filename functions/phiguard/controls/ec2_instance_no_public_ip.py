"""ec2-instance-no-public-ip: instances in private subnets have no public IP address (notify).

A public address cannot be taken off a running instance's primary interface in place, so a person acts.

Scenarios:
- Given an instance with a public IP in a private subnet, Then a person is given the steps.
- Given an instance without a public IP in a private subnet, Then compliant.
- Given an instance in a public subnet, Then not applicable.
- Given an instance tagged phiguard:role=bastion or nat, Then not applicable.
- Given an instance terminated before the event is handled, Then not applicable.
"""

from __future__ import annotations

from phiguard.core import network
from phiguard.core.control import Control, register
from phiguard.core.model import Action, Evaluation, ResourceRef, Severity, Trigger, Violation
from phiguard.core.roles import BASTION, ROLE_TAG

EDGE_ROLES = (BASTION, "nat")


@register
class Ec2InstanceNoPublicIp(Control):
    control_id = "ec2-instance-no-public-ip"
    title = "Instances in private subnets have no public IP address"
    resource_type = network.INSTANCE
    hipaa = ("164.312(a)(1)", "164.312(e)(1)")
    action = Action.NOTIFY
    severity = Severity.HIGH
    permissions = ("ec2:DescribeInstances", "ec2:DescribeRouteTables")
    triggers = (Trigger("aws.ec2", "RunInstances", network.instances),)

    def evaluate(self, ref: ResourceRef) -> Evaluation:
        instance = network.instance(self.context, ref.region, ref.resource_id)
        role = network.tag(instance, ROLE_TAG)
        if role in EDGE_ROLES:
            return Evaluation.not_applicable(f"{ref.resource_id} is tagged {ROLE_TAG}={role}")
        subnet_id, vpc_id = instance.get("SubnetId"), instance.get("VpcId")
        if not subnet_id or not vpc_id:
            return Evaluation.not_applicable(f"{ref.resource_id} is in no VPC subnet")
        route_table = network.internet_gateway_route(self.context, ref.region, subnet_id, vpc_id)
        if route_table:
            return Evaluation.not_applicable(f"{ref.resource_id} is in public subnet {subnet_id} ({route_table})")
        public_ip = instance.get("PublicIpAddress")
        state = {"SubnetId": subnet_id, "VpcId": vpc_id, "PublicIpAddress": public_ip}
        violations = []
        if public_ip:
            violations.append(
                Violation(
                    summary=f"instance {ref.resource_id} in private subnet {subnet_id} has public IP {public_ip}",
                    fix=None,
                    detail={"public_ip": public_ip, "subnet_id": subnet_id},
                    manual_steps=(
                        f"If the address is an Elastic IP, disassociate it from {ref.resource_id}.",
                        "Otherwise relaunch the instance (or its launch template) with "
                        "AssociatePublicIpAddress=false, and turn off MapPublicIpOnLaunch on the subnet.",
                        "Reach the instance through the bastion or Session Manager instead.",
                        f"If it must be reachable from the internet, tag it {ROLE_TAG}=bastion or nat only when "
                        "that is its role, or move it to a public subnet behind a load balancer.",
                    ),
                )
            )
        return Evaluation.of(state, violations)
