"""db-no-bastion-access: no database security-group rule admits the bastion host.

A database group is one attached to an RDS instance, tagged `phiguard:role=database`, or listed in
the settings; the bastion is a group or instance tagged `phiguard:role=bastion` or listed.

Scenarios:
- Given the bastion's group admitted to the database group, Then exactly that rule is revoked and the
  backend group's rule stays.
- Given a /32 (the bastion's own address) admitted to the database group, Then that rule is revoked.
- Given a wider CIDR that covers the bastion's address, Then a person is asked to narrow it (it may
  carry legitimate traffic): notify with the steps.
- Given a group that is not a database group, Then the control is not applicable.
- Given a group the bastion shares with other instances admitted to the database, Then a person is asked
  (revoking it could cut legitimate traffic).
- Given no bastion can be found, Then the database group is compliant.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from phiguard.core import security_groups as sg
from phiguard.core.control import Control, register
from phiguard.core.events import security_groups
from phiguard.core.model import Action, Evaluation, ResourceRef, Result, Severity, Trigger, Violation
from phiguard.core.roles import Bastions, bastions, is_database_group

if TYPE_CHECKING:
    from mypy_boto3_ec2.type_defs import SecurityGroupRuleTypeDef


@register
class DbNoBastionAccess(Control):
    control_id = "db-no-bastion-access"
    title = "Database security groups never admit the bastion host"
    resource_type = "AWS::EC2::SecurityGroup"
    hipaa = ("164.308(a)(4)(ii)(C)", "164.312(a)(1)")
    action = Action.FIX
    severity = Severity.HIGH
    permissions = (
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSecurityGroupRules",
        "ec2:DescribeVpcs",
        "ec2:DescribeInstances",
        "ec2:RevokeSecurityGroupIngress",
        "rds:DescribeDBInstances",
    )
    triggers = tuple(
        Trigger("aws.ec2", name, security_groups)
        for name in ("AuthorizeSecurityGroupIngress", "ModifySecurityGroupRules")
    )

    def resolve(self, ref: ResourceRef) -> ResourceRef:
        return sg.resolve(self.context, ref)

    def evaluate(self, ref: ResourceRef) -> Evaluation:
        if not is_database_group(self.context, ref):
            return Evaluation.not_applicable(f"{ref.resource_id} is not a database security group")
        rules = sg.ingress_rules(self.context, ref)
        # The bastion's addresses matter only to rules from a CIDR (the world's are vpc-sg-restricted-ports' part).
        by_address = any(_cidr(r) not in (None, sg.WORLD_V4, sg.WORLD_V6) for r in rules)
        found = bastions(self.context, ref.region, addresses=by_address)
        addresses = [ipaddress.ip_address(a) for a in found.addresses]
        violations = [v for rule in rules if (v := self._judge(rule, found, addresses))]
        state = {
            "ingress_rules": sg.rule_state(rules),
            "bastion_groups": sorted(found.groups),
            "groups_shared_with_the_bastion": sorted(found.shared_groups),
        }
        return Evaluation.of(state, violations)

    def _judge(
        self,
        rule: SecurityGroupRuleTypeDef,
        found: Bastions,
        addresses: list[ipaddress.IPv4Address | ipaddress.IPv6Address],
    ) -> Violation | None:
        rule_id = str(rule["SecurityGroupRuleId"])
        referenced = rule.get("ReferencedGroupInfo", {}).get("GroupId")
        if referenced in found.shared_groups:
            return Violation(
                summary=f"a group the bastion shares with other instances is admitted: {sg.describe(rule)}",
                fix=None,
                detail={"rule_id": rule_id},
                manual_steps=(
                    f"Group {referenced} is attached to the bastion and to other instances, so revoking it "
                    "could cut legitimate database traffic.",
                    "Remove that group from the bastion instance (give the bastion its own group), or admit the "
                    "other instances' own group to the database instead and revoke this rule.",
                ),
            )
        if referenced in found.groups:
            return Violation(
                summary=f"the bastion's group is admitted: {sg.describe(rule)}",
                fix=f"revoke rule {sg.describe(rule)}",
                detail={"rule_id": rule_id},
            )
        cidr = _cidr(rule)
        if not cidr or cidr in (sg.WORLD_V4, sg.WORLD_V6):  # world-open: vpc-sg-restricted-ports' part
            return None
        network = ipaddress.ip_network(cidr, strict=False)
        covered = sorted(str(a) for a in addresses if a.version == network.version and a in network)
        if not covered:
            return None
        if network.num_addresses == 1:
            return Violation(
                summary=f"the bastion's address is admitted: {sg.describe(rule)}",
                fix=f"revoke rule {sg.describe(rule)}",
                detail={"rule_id": rule_id, "bastion_addresses": covered},
            )
        return Violation(
            summary=f"{cidr} admits the bastion ({', '.join(covered)}) as well as other hosts: {sg.describe(rule)}",
            fix=None,
            detail={"rule_id": rule_id, "bastion_addresses": covered},
            manual_steps=(
                "Find which hosts of that range really need the database (normally only the backend tier).",
                "Authorize the database port from the backend security group instead of the CIDR.",
                f"Then revoke rule {rule_id}; the bastion must reach the database through no rule.",
            ),
        )

    def remediate(self, ref: ResourceRef, evaluation: Evaluation) -> list[str]:
        sg.revoke(self.context, ref, [str(v.detail["rule_id"]) for v in evaluation.fixable])
        return [v.fix for v in evaluation.fixable if v.fix]

    def revert(self, ref: ResourceRef, fixed: Result) -> list[str]:
        return sg.revert_revoked(self.context, ref, fixed)


def _cidr(rule: SecurityGroupRuleTypeDef) -> str | None:
    return rule.get("CidrIpv4") or rule.get("CidrIpv6")
