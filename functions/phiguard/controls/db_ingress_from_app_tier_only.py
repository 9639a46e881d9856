"""db-ingress-from-app-tier-only: database security groups admit only the backend tier (notify).

A database group is one attached to an RDS instance, tagged `phiguard:role=database`, or listed in the
settings; the backend tier is the groups tagged `phiguard:role=backend`. Revoking on a guess could cut
production traffic, so every other source is reported for a person to act on.

Scenarios:
- Given a database group admitting a CIDR or a non-backend group, Then each such rule is listed with steps
  and nothing changes.
- Given a database group admitting only backend groups, Then compliant.
- Given a group that is not a database group, Then not applicable.
- Given a group deleted before the event is handled, Then not applicable.
"""

from __future__ import annotations

from phiguard.core import security_groups as sg
from phiguard.core.control import Control, register
from phiguard.core.events import security_groups
from phiguard.core.model import Action, Evaluation, ResourceRef, Severity, Trigger, Violation
from phiguard.core.roles import BACKEND, ROLE_TAG, is_database_group, tagged_groups


@register
class DbIngressFromAppTierOnly(Control):
    control_id = "db-ingress-from-app-tier-only"
    title = "Database security groups admit only the backend tier"
    resource_type = "AWS::EC2::SecurityGroup"
    hipaa = ("164.312(a)(1)", "164.312(e)(1)")
    action = Action.NOTIFY
    severity = Severity.HIGH
    permissions = (
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSecurityGroupRules",
        "ec2:DescribeVpcs",
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
        backend = tagged_groups(self.context, ref.region, BACKEND)
        violations = [
            Violation(
                summary=f"the database group admits {sg.source(rule)}, which is not the backend tier: "
                f"{sg.describe(rule)}",
                fix=None,
                detail={"rule_id": str(rule["SecurityGroupRuleId"])},
                manual_steps=(
                    f"Find out what connects to the database through rule {rule['SecurityGroupRuleId']}.",
                    "If it is the application, put it in the backend security group (tagged "
                    f"{ROLE_TAG}={BACKEND}) and admit that group on the database port instead.",
                    f"Then revoke rule {rule['SecurityGroupRuleId']}.",
                ),
            )
            for rule in rules
            if rule.get("ReferencedGroupInfo", {}).get("GroupId") not in backend
        ]
        state = {"ingress_rules": sg.rule_state(rules), "backend_groups": sorted(backend)}
        return Evaluation.of(state, violations)
