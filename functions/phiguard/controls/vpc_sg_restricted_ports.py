"""vpc-sg-restricted-ports: no ingress from 0.0.0.0/0 or ::/0 except on the authorized public ports.

Scenarios:
- Given SSH open to 0.0.0.0/0 and ::/0, Then both world ranges are revoked and nothing else.
- Given one permission that mixes 0.0.0.0/0 with a private CIDR, Then only the world range goes.
- Given tcp 0-65535 or protocol -1 open to the world on a group of an internet-facing load balancer,
  Then the world range is revoked and exactly the authorized ports are re-added for the world, first.
- Given the same on a group that serves no internet-facing load balancer, Then it is revoked only.
- Given world-open tcp 80 or 443 (the authorized public ports), Then it is compliant.
- Given a prefix-list or security-group source, Then it is not world-open and stays.
- Given a rule added by group name, Then the group is resolved in the default VPC and judged.
- Given a group deleted before the event is handled, Then it is not applicable.
- Given a database port (or every port) open to the world, Then the finding is critical; any other port, high.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from phiguard.core import security_groups as sg
from phiguard.core.control import Control, register
from phiguard.core.events import security_groups
from phiguard.core.model import Action, Evaluation, ResourceRef, Result, Severity, Trigger, Violation
from phiguard.core.roles import public_lb_group_ids

if TYPE_CHECKING:
    from mypy_boto3_ec2.type_defs import IpPermissionTypeDef, SecurityGroupRuleTypeDef

REAUTHORIZE_DESCRIPTION = "PHI Guard: authorized public port kept open"
# Database engines' default ports (SQL Server, Oracle, MySQL/Aurora/MariaDB, PostgreSQL, Redshift, Redis, Neptune,
# Cassandra/Keyspaces, OpenSearch, Memcached, MongoDB/DocumentDB): the world reaching one is a critical finding.
DATABASE_PORTS = (1433, 1521, 3306, 5432, 5439, 6379, 8182, 9042, 9200, 11211, 27017)


@register
class VpcSgRestrictedPorts(Control):
    control_id = "vpc-sg-restricted-ports"
    title = "Security groups admit the world only on the authorized public ports"
    resource_type = "AWS::EC2::SecurityGroup"
    hipaa = ("164.308(a)(3)(i)", "164.308(a)(4)(ii)(B)", "164.312(a)(1)", "164.312(e)(1)")
    action = Action.FIX
    severity = Severity.HIGH
    permissions = (
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSecurityGroupRules",
        "ec2:DescribeVpcs",
        "ec2:RevokeSecurityGroupIngress",
        "ec2:AuthorizeSecurityGroupIngress",
        "elasticloadbalancing:DescribeLoadBalancers",
    )
    triggers = tuple(
        Trigger("aws.ec2", name, security_groups)
        for name in ("AuthorizeSecurityGroupIngress", "ModifySecurityGroupRules", "CreateSecurityGroup")
    )

    @classmethod
    def severity_of(cls, result: Result) -> Severity:
        """Critical when the world reaches a database port (or every port); high for any other port."""
        rules = result.state_before.get("ingress_rules")
        by_id = (
            {r.get("SecurityGroupRuleId"): r for r in rules if isinstance(r, dict)} if isinstance(rules, list) else {}
        )
        offending = [by_id.get(v.detail.get("rule_id")) for v in result.violations]
        return Severity.CRITICAL if any(r and _reaches_a_database(r) for r in offending) else cls.severity

    def resolve(self, ref: ResourceRef) -> ResourceRef:
        return sg.resolve(self.context, ref)

    def evaluate(self, ref: ResourceRef) -> Evaluation:
        rules = sg.ingress_rules(self.context, ref)
        offending = [r for r in rules if _world_open(r) and not self._authorized(r)]
        reopen_ports: dict[str, list[int]] = {}
        if any(self._covered_public_ports(r) for r in offending) and self._serves_public_lb(ref):
            reopen_ports = {str(r["SecurityGroupRuleId"]): self._ports_to_reopen(r, rules) for r in offending}
        violations = []
        for rule in offending:
            reopen = reopen_ports.get(str(rule["SecurityGroupRuleId"]), [])
            fix = f"revoke rule {sg.describe(rule)}"
            if reopen:
                ports = ", ".join(str(p) for p in reopen)
                fix = f"first re-add tcp {ports} from {sg.source(rule)} (public load balancer entrance), then {fix}"
            violations.append(
                Violation(
                    summary=f"{sg.ports(rule)} is open to the world ({sg.source(rule)})",
                    fix=fix,
                    detail={
                        "rule_id": rule["SecurityGroupRuleId"],
                        "reopen_ports": reopen,
                        "cidr": sg.source(rule),
                    },
                )
            )
        return Evaluation.of({"ingress_rules": sg.rule_state(rules)}, violations)

    def remediate(self, ref: ResourceRef, evaluation: Evaluation) -> list[str]:
        ec2 = self.clients.ec2(ref.region)
        for violation in evaluation.fixable:
            cidr, reopen = str(violation.detail["cidr"]), list(violation.detail["reopen_ports"])
            if reopen:  # open the entrance again before closing the wide range: no gap for users
                try:
                    ec2.authorize_security_group_ingress(
                        GroupId=ref.resource_id, IpPermissions=[_world_permission(cidr, p) for p in reopen]
                    )
                except ClientError as e:
                    if e.response.get("Error", {}).get("Code") != "InvalidPermission.Duplicate":
                        raise
        sg.revoke(self.context, ref, [str(v.detail["rule_id"]) for v in evaluation.fixable])
        return [v.fix for v in evaluation.fixable if v.fix]

    def revert(self, ref: ResourceRef, fixed: Result) -> list[str]:
        return sg.revert_revoked(self.context, ref, fixed, also_revoke_description=REAUTHORIZE_DESCRIPTION)

    def _authorized(self, rule: SecurityGroupRuleTypeDef) -> bool:
        if str(rule.get("IpProtocol")) not in ("tcp", "6"):
            return False
        low, high = rule.get("FromPort", -1), rule.get("ToPort", -1)
        return low >= 0 and all(p in self.settings.authorized_public_ports for p in range(low, high + 1))

    def _covered_public_ports(self, rule: SecurityGroupRuleTypeDef) -> list[int]:
        protocol = str(rule.get("IpProtocol"))
        if protocol == sg.ALL_PROTOCOLS:
            return sorted(self.settings.authorized_public_ports)
        if protocol not in ("tcp", "6"):
            return []
        low, high = rule.get("FromPort", -1), rule.get("ToPort", -1)
        if low == -1:
            return sorted(self.settings.authorized_public_ports)
        return sorted(p for p in self.settings.authorized_public_ports if low <= p <= high)

    def _ports_to_reopen(self, rule: SecurityGroupRuleTypeDef, rules: list[SecurityGroupRuleTypeDef]) -> list[int]:
        """Public ports the revoked range covered that no other rule keeps open from the same CIDR."""
        cidr = sg.source(rule)
        kept = {
            r.get("FromPort")
            for r in rules
            if sg.source(r) == cidr and self._authorized(r) and r.get("FromPort") == r.get("ToPort")
        }
        return [p for p in self._covered_public_ports(rule) if p not in kept]

    def _serves_public_lb(self, ref: ResourceRef) -> bool:
        return ref.resource_id in public_lb_group_ids(self.context, ref.region)


def _reaches_a_database(rule: Mapping[str, Any]) -> bool:
    protocol = str(rule.get("IpProtocol"))
    if protocol == sg.ALL_PROTOCOLS:
        return True
    low, high = rule.get("FromPort"), rule.get("ToPort")
    if protocol not in ("tcp", "6") or not isinstance(low, int) or not isinstance(high, int):
        return False
    return low == -1 or any(low <= port <= high for port in DATABASE_PORTS)


def _world_open(rule: SecurityGroupRuleTypeDef) -> bool:
    return rule.get("CidrIpv4") == sg.WORLD_V4 or rule.get("CidrIpv6") == sg.WORLD_V6


def _world_permission(cidr: str, port: int) -> IpPermissionTypeDef:
    permission: IpPermissionTypeDef = {"IpProtocol": "tcp", "FromPort": port, "ToPort": port}
    if cidr == sg.WORLD_V6:
        permission["Ipv6Ranges"] = [{"CidrIpv6": cidr, "Description": REAUTHORIZE_DESCRIPTION}]
    else:
        permission["IpRanges"] = [{"CidrIp": cidr, "Description": REAUTHORIZE_DESCRIPTION}]
    return permission
