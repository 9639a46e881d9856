"""vpc-flow-logs-enabled: every VPC has at least one flow log.

The flow-log destination is the FlowLogDestination parameter: an S3 bucket ARN, or a CloudWatch Logs
group ARN with FlowLogRoleArn, the role the flow-log service assumes to write there.

Scenarios:
- Given a new VPC (CreateVpc) without flow logs and an S3 destination, Then a flow log of all traffic to
  that bucket is created.
- Given a CloudWatch Logs destination and role, Then the flow log goes to that group with that role.
- Given a VPC with a flow log, Then compliant.
- Given a flow log deleted (DeleteFlowLogs names no VPC), Then every VPC of the region is judged, one
  violation per VPC without flow logs.
- Given no destination configured (or a log group without a role), Then a person is asked, nothing changes.
- Given a VPC deleted before the event is handled, Then not applicable.
"""

from __future__ import annotations

from phiguard.core import network
from phiguard.core.control import Control, register
from phiguard.core.model import Action, Evaluation, ResourceRef, Trigger, Violation


@register
class VpcFlowLogsEnabled(Control):
    control_id = "vpc-flow-logs-enabled"
    title = "Every VPC records its traffic in flow logs"
    resource_type = network.VPC
    hipaa = ("164.308(a)(3)(ii)(A)", "164.312(b)")
    action = Action.FIX
    permissions = (
        "ec2:DescribeVpcs",
        "ec2:DescribeFlowLogs",
        "ec2:CreateFlowLogs",
        "logs:CreateLogDelivery",
        "logs:DeleteLogDelivery",
        "iam:PassRole",
    )
    triggers = tuple(Trigger("aws.ec2", name, network.vpcs) for name in ("CreateVpc", "DeleteFlowLogs"))

    def expand(self, ref: ResourceRef) -> list[ResourceRef]:
        return network.each_vpc(self.context, ref)

    def evaluate(self, ref: ResourceRef) -> Evaluation:
        vpc_ids = sorted(v["VpcId"] for v in network.vpcs_of(self.context, ref))
        ec2 = self.clients.ec2(ref.region)
        logged: set[str] = set()
        if vpc_ids:
            pages = ec2.get_paginator("describe_flow_logs").paginate(
                Filters=[{"Name": "resource-id", "Values": vpc_ids}]
            )
            logged = {str(f.get("ResourceId")) for page in pages for f in page["FlowLogs"]}
        state = {"vpcs": {v: v in logged for v in vpc_ids}, "destination": self.settings.flow_log_destination}
        fix, steps = self._fix()
        violations = [
            Violation(
                summary=f"VPC {v} has no flow log",
                fix=f"create a flow log of all traffic of {v} to {fix}" if fix else None,
                detail={"vpc_id": v},
                manual_steps=steps,
            )
            for v in vpc_ids
            if v not in logged
        ]
        return Evaluation.of(state, violations)

    def _fix(self) -> tuple[str | None, tuple[str, ...]]:
        destination, role = self.settings.flow_log_destination, self.settings.flow_log_role_arn
        if destination and (_is_s3(destination) or role):
            return destination, ()
        if destination:
            return None, (
                f"Set the FlowLogRoleArn parameter of the PHI Guard stack: {destination} is a CloudWatch Logs "
                "group, and the flow-log service needs a role that may write to it.",
            )
        return None, (
            "Set the FlowLogDestination parameter of the PHI Guard stack to an S3 bucket ARN (or a CloudWatch "
            "Logs group ARN together with FlowLogRoleArn); PHI Guard then creates the flow logs by itself.",
            "Or create a flow log of all traffic for the VPC yourself (VPC console, Flow logs, Create).",
        )

    def remediate(self, ref: ResourceRef, evaluation: Evaluation) -> list[str]:
        destination = self.settings.flow_log_destination
        vpc_ids = [str(v.detail["vpc_id"]) for v in evaluation.fixable]
        if not destination or not vpc_ids:
            return []
        ec2 = self.clients.ec2(ref.region)
        if _is_s3(destination):
            ec2.create_flow_logs(
                ResourceIds=vpc_ids,
                ResourceType="VPC",
                TrafficType="ALL",
                LogDestinationType="s3",
                LogDestination=destination,
            )
        else:
            ec2.create_flow_logs(
                ResourceIds=vpc_ids,
                ResourceType="VPC",
                TrafficType="ALL",
                LogDestinationType="cloud-watch-logs",
                LogDestination=destination,
                DeliverLogsPermissionArn=str(self.settings.flow_log_role_arn),
            )
        return [v.fix for v in evaluation.fixable if v.fix]


def _is_s3(destination: str) -> bool:
    return destination.startswith("arn:aws:s3:::") or destination.split(":")[2:3] == ["s3"]
