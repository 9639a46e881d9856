"""subnet-auto-assign-public-ip-disabled: private subnets never give instances a public address.

A subnet is private when its route table (its own, or the VPC's main one when it has none) has no
route to an internet gateway.

Scenarios:
- Given a private subnet that maps public IPs on launch, Then MapPublicIpOnLaunch is turned off.
- Given a private subnet using the VPC's main route table, Then the same.
- Given a private subnet that does not map public IPs, Then compliant.
- Given a public subnet (a route to an internet gateway), Then not applicable.
- Given a subnet deleted before the event is handled, Then not applicable.
- Given a fix, Then revert turns MapPublicIpOnLaunch back on.
"""

from __future__ import annotations

from phiguard.core import network
from phiguard.core.control import Control, NotRevertible, register
from phiguard.core.model import Action, Evaluation, ResourceRef, Result, Trigger, Violation


@register
class SubnetAutoAssignPublicIpDisabled(Control):
    control_id = "subnet-auto-assign-public-ip-disabled"
    title = "Private subnets do not assign public IP addresses on launch"
    resource_type = network.SUBNET
    hipaa = ("164.312(a)(1)", "164.312(e)(1)")
    action = Action.FIX
    permissions = ("ec2:DescribeSubnets", "ec2:DescribeRouteTables", "ec2:ModifySubnetAttribute")
    triggers = tuple(Trigger("aws.ec2", name, network.subnets) for name in ("CreateSubnet", "ModifySubnetAttribute"))

    def evaluate(self, ref: ResourceRef) -> Evaluation:
        subnet = network.subnet(self.context, ref.region, ref.resource_id)
        route_table = network.internet_gateway_route(self.context, ref.region, ref.resource_id, subnet["VpcId"])
        if route_table:
            return Evaluation.not_applicable(f"{ref.resource_id} is public (route table {route_table})")
        mapped = bool(subnet.get("MapPublicIpOnLaunch"))
        state = {"VpcId": subnet["VpcId"], "MapPublicIpOnLaunch": mapped}
        violations = []
        if mapped:
            violations.append(
                Violation(
                    summary=f"private subnet {ref.resource_id} assigns a public IP to every instance launched in it",
                    fix=f"set MapPublicIpOnLaunch to false on subnet {ref.resource_id}",
                )
            )
        return Evaluation.of(state, violations)

    def remediate(self, ref: ResourceRef, evaluation: Evaluation) -> list[str]:
        self.clients.ec2(ref.region).modify_subnet_attribute(
            SubnetId=ref.resource_id, MapPublicIpOnLaunch={"Value": False}
        )
        return [v.fix for v in evaluation.fixable if v.fix]

    def revert(self, ref: ResourceRef, fixed: Result) -> list[str]:
        if not fixed.state_before.get("MapPublicIpOnLaunch"):
            raise NotRevertible(f"{ref.resource_id} did not map public IPs before the fix")
        self.clients.ec2(ref.region).modify_subnet_attribute(
            SubnetId=ref.resource_id, MapPublicIpOnLaunch={"Value": True}
        )
        return [f"set MapPublicIpOnLaunch back to true on subnet {ref.resource_id}"]
