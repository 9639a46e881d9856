"""bastion-ssh-from-allowed-cidrs: the bastion admits SSH only from the organisation's admin CIDRs.

The bastion's groups are the bastion-only groups (core.roles.bastions); the admin CIDRs are the
AdminCidrs parameter (settings.admin_cidrs). A CIDR inside an admin CIDR is allowed.

Scenarios:
- Given SSH from a CIDR outside the admin CIDRs on the bastion group, Then exactly that rule is revoked
  and the admin CIDR's rule stays.
- Given a port range or protocol -1 covering 22 from outside, Then that rule is revoked.
- Given SSH from another security group, Then it counts as outside and is revoked.
- Given SSH from a CIDR inside an admin CIDR only, Then compliant.
- Given a rule on another port from anywhere, Then it is not this control's part and stays.
- Given a prefix list admitted to SSH, Then a person is asked (its entries may be the admin CIDRs).
- Given no admin CIDRs configured, Then a person is asked to set the AdminCidrs parameter, nothing changes.
- Given a group that is not a bastion-only group, Then not applicable.
- Given a group deleted before the event is handled, Then not applicable.
- Given a fix, Then revert re-authorizes the revoked rules.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from phiguard.core import security_groups as sg
from phiguard.core.control import Control, register
from phiguard.core.events import security_groups
from phiguard.core.model import Action, Evaluation, ResourceRef, Result, Severity, Trigger, Violation
from phiguard.core.roles import is_bastion_only

if TYPE_CHECKING:
    from mypy_boto3_ec2.type_defs import SecurityGroupRuleTypeDef

SSH = 22
SET_ADMIN_CIDRS = (
    "Set the AdminCidrs parameter of the PHI Guard stack to your organisation's address ranges (VPN, office).",
    "PHI Guard then revokes bastion SSH rules from any other source by itself.",
)


@register
class BastionSshFromAllowedCidrs(Control):
    control_id = "bastion-ssh-from-allowed-cidrs"
    title = "The bastion admits SSH only from the organisation's admin CIDRs"
    resource_type = "AWS::EC2::SecurityGroup"
    hipaa = ("164.312(a)(1)", "164.308(a)(4)(ii)(B)")
    action = Action.FIX
    severity = Severity.HIGH
    permissions = (
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSecurityGroupRules",
        "ec2:DescribeVpcs",
        "ec2:DescribeInstances",
        "ec2:RevokeSecurityGroupIngress",
        "ec2:AuthorizeSecurityGroupIngress",
    )
    triggers = tuple(
        Trigger("aws.ec2", name, security_groups)
        for name in ("AuthorizeSecurityGroupIngress", "ModifySecurityGroupRules")
    )

    def resolve(self, ref: ResourceRef) -> ResourceRef:
        return sg.resolve(self.context, ref)

    def evaluate(self, ref: ResourceRef) -> Evaluation:
        if not is_bastion_only(self.context, ref):
            return Evaluation.not_applicable(f"{ref.resource_id} is not a bastion-only security group")
        rules = sg.ingress_rules(self.context, ref)
        allowed = [ipaddress.ip_network(c, strict=False) for c in self.settings.admin_cidrs]
        violations = [v for rule in rules if _covers_ssh(rule) and (v := self._judge(ref, rule, allowed))]
        state = {"ingress_rules": sg.rule_state(rules), "admin_cidrs": list(self.settings.admin_cidrs)}
        return Evaluation.of(state, violations)

    def _judge(
        self,
        ref: ResourceRef,
        rule: SecurityGroupRuleTypeDef,
        allowed: list[ipaddress.IPv4Network | ipaddress.IPv6Network],
    ) -> Violation | None:
        rule_id = str(rule["SecurityGroupRuleId"])
        referenced = rule.get("ReferencedGroupInfo", {}).get("GroupId")
        if referenced == ref.resource_id:  # bastions of the same group reaching each other
            return None
        cidr = rule.get("CidrIpv4") or rule.get("CidrIpv6")
        if cidr and _inside(cidr, allowed):
            return None
        summary = f"SSH is admitted from {sg.source(rule)}, outside the admin CIDRs: {sg.describe(rule)}"
        if not allowed:
            return Violation(
                summary=f"SSH is admitted from {sg.source(rule)} and no admin CIDRs are configured: "
                f"{sg.describe(rule)}",
                fix=None,
                detail={"rule_id": rule_id},
                manual_steps=SET_ADMIN_CIDRS,
            )
        if rule.get("PrefixListId"):
            return Violation(
                summary=summary,
                fix=None,
                detail={"rule_id": rule_id},
                manual_steps=(
                    f"Check that every entry of prefix list {rule.get('PrefixListId')} is inside the admin CIDRs "
                    f"({', '.join(self.settings.admin_cidrs)}).",
                    f"If not, authorize SSH from the admin CIDRs instead and revoke rule {rule_id}.",
                ),
            )
        return Violation(summary=summary, fix=f"revoke rule {sg.describe(rule)}", detail={"rule_id": rule_id})

    def remediate(self, ref: ResourceRef, evaluation: Evaluation) -> list[str]:
        sg.revoke(self.context, ref, [str(v.detail["rule_id"]) for v in evaluation.fixable])
        return [v.fix for v in evaluation.fixable if v.fix]

    def revert(self, ref: ResourceRef, fixed: Result) -> list[str]:
        return sg.revert_revoked(self.context, ref, fixed)


def _covers_ssh(rule: SecurityGroupRuleTypeDef) -> bool:
    protocol = str(rule.get("IpProtocol"))
    if protocol == sg.ALL_PROTOCOLS:
        return True
    if protocol not in ("tcp", "6"):
        return False
    low, high = rule.get("FromPort", -1), rule.get("ToPort", -1)
    return low == -1 or low <= SSH <= high


def _inside(cidr: str, allowed: list[ipaddress.IPv4Network | ipaddress.IPv6Network]) -> bool:
    network = ipaddress.ip_network(cidr, strict=False)
    return any(
        network.version == a.version and network.subnet_of(a)  # type: ignore[arg-type]
        for a in allowed
    )
