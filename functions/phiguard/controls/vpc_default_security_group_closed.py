"""vpc-default-security-group-closed: the default security group of every VPC has no rules at all.

Anything launched without a group of its own lands in the default group; closed, it admits nothing.

Scenarios:
- Given a new VPC (CreateVpc), Then its default group is found by the VPC id and its rules are revoked.
- Given ingress and egress rules on a default group no interface uses, Then every rule is revoked.
- Given a default group with no rules, Then compliant.
- Given a default group that network interfaces use, Then a person is asked (revoking could cut their
  traffic) and nothing changes.
- Given a group that is not a VPC's default group, Then not applicable.
- Given a group or VPC deleted before the event is handled, Then not applicable.
- Given a fix, Then revert re-authorizes the revoked ingress and egress rules.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from phiguard.core import security_groups as sg
from phiguard.core.control import Control, ResourceGone, register
from phiguard.core.events import security_groups
from phiguard.core.model import Action, Evaluation, ResourceRef, Result, Severity, Trigger, Violation
from phiguard.core.network import default_security_groups, resolve_default_group

if TYPE_CHECKING:
    from mypy_boto3_ec2.type_defs import SecurityGroupRuleTypeDef


@register
class VpcDefaultSecurityGroupClosed(Control):
    control_id = "vpc-default-security-group-closed"
    title = "The default security group of every VPC admits and sends nothing"
    resource_type = "AWS::EC2::SecurityGroup"
    hipaa = ("164.312(e)(1)",)
    action = Action.FIX
    severity = Severity.HIGH
    permissions = (
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSecurityGroupRules",
        "ec2:DescribeVpcs",
        "ec2:DescribeNetworkInterfaces",
        "ec2:RevokeSecurityGroupIngress",
        "ec2:RevokeSecurityGroupEgress",
        "ec2:AuthorizeSecurityGroupIngress",
        "ec2:AuthorizeSecurityGroupEgress",
    )
    triggers = (
        Trigger("aws.ec2", "AuthorizeSecurityGroupIngress", security_groups),
        Trigger("aws.ec2", "AuthorizeSecurityGroupEgress", security_groups),
        Trigger("aws.ec2", "CreateVpc", default_security_groups),
    )

    def resolve(self, ref: ResourceRef) -> ResourceRef:
        return resolve_default_group(self.context, ref)

    def evaluate(self, ref: ResourceRef) -> Evaluation:
        ec2 = self.clients.ec2(ref.region)
        try:
            found = ec2.describe_security_groups(GroupIds=[ref.resource_id])["SecurityGroups"]
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") in ("InvalidGroup.NotFound", "InvalidGroupId.NotFound"):
                raise ResourceGone(f"security group {ref.resource_id} does not exist") from e
            raise
        if not found:
            raise ResourceGone(f"security group {ref.resource_id} does not exist")
        if found[0].get("GroupName") != "default":
            return Evaluation.not_applicable(f"{ref.resource_id} is not a VPC's default security group")
        pages = ec2.get_paginator("describe_security_group_rules").paginate(
            Filters=[{"Name": "group-id", "Values": [ref.resource_id]}]
        )
        rules = [rule for page in pages for rule in page["SecurityGroupRules"]]
        ingress = [r for r in rules if not r.get("IsEgress")]
        egress = [r for r in rules if r.get("IsEgress")]
        interfaces = sorted(
            i["NetworkInterfaceId"]
            for i in ec2.describe_network_interfaces(Filters=[{"Name": "group-id", "Values": [ref.resource_id]}])[
                "NetworkInterfaces"
            ]
        )
        state = {
            "vpc_id": found[0].get("VpcId"),
            "ingress_rules": sg.rule_state(ingress),
            "egress_rules": sg.rule_state(egress),
            "network_interfaces": interfaces,
        }
        violations = [self._judge(rule, interfaces) for rule in [*ingress, *egress]]
        return Evaluation.of(state, violations)

    def _judge(self, rule: SecurityGroupRuleTypeDef, interfaces: list[str]) -> Violation:
        direction = "egress" if rule.get("IsEgress") else "ingress"
        rule_id = str(rule["SecurityGroupRuleId"])
        summary = f"the default group has an {direction} rule: {sg.describe(rule)}"
        detail = {"rule_id": rule_id, "egress": bool(rule.get("IsEgress"))}
        if interfaces:
            return Violation(
                summary=summary,
                fix=None,
                detail=detail,
                manual_steps=(
                    f"Network interfaces use the default group ({', '.join(interfaces[:10])}"
                    f"{', ...' if len(interfaces) > 10 else ''}): revoking its rules could cut their traffic.",
                    "Create a security group for each workload with only the rules it needs, attach it to those "
                    "interfaces (instances, load balancers, endpoints) and detach the default group.",
                    f"Then revoke {direction} rule {rule_id} of the default group (or let PHI Guard do it).",
                ),
            )
        return Violation(summary=summary, fix=f"revoke {direction} rule {sg.describe(rule)}", detail=detail)

    def remediate(self, ref: ResourceRef, evaluation: Evaluation) -> list[str]:
        ingress = [str(v.detail["rule_id"]) for v in evaluation.fixable if not v.detail["egress"]]
        egress = [str(v.detail["rule_id"]) for v in evaluation.fixable if v.detail["egress"]]
        sg.revoke(self.context, ref, ingress)
        self._revoke_egress(ref, egress)
        return [v.fix for v in evaluation.fixable if v.fix]

    def _revoke_egress(self, ref: ResourceRef, rule_ids: list[str]) -> None:
        if not rule_ids:
            return
        try:
            self.clients.ec2(ref.region).revoke_security_group_egress(
                GroupId=ref.resource_id, SecurityGroupRuleIds=rule_ids
            )
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") not in (
                "InvalidSecurityGroupRuleId.NotFound",
                "InvalidPermission.NotFound",
            ):
                raise
            if len(rule_ids) > 1:  # someone removed one first: the rest one by one
                for rule_id in rule_ids:
                    self._revoke_egress(ref, [rule_id])

    def revert(self, ref: ResourceRef, fixed: Result) -> list[str]:
        restored = sg.revert_revoked(self.context, ref, fixed)
        before = {r.get("SecurityGroupRuleId"): r for r in fixed.state_before.get("egress_rules", [])}
        for violation in fixed.violations:
            rule = before.get(violation.detail.get("rule_id"))
            if violation.fixable and rule:
                sg.reauthorize(self.context, ref, rule, egress=True)
                restored.append(f"re-authorized egress {rule.get('IpProtocol')} to {sg.state_source(rule)}")
        return restored
