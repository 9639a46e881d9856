"""elbv2-tls-policy: HTTPS and TLS listeners of application and network load balancers use an accepted TLS policy.

Scenarios:
- Given an HTTPS listener with a policy outside the accepted set, Then only its TLS policy becomes the
  configured one (its certificates, SNI ones included, and its actions are untouched).
- Given a TLS listener of a network load balancer with such a policy, Then the same.
- Given a listener whose policy is already in the accepted set, Then it is compliant and never replaced.
- Given a configured policy that is itself outside the accepted set, Then a person is told (no fix loop).
- Given a load balancer with no HTTPS or TLS listener, or a gateway load balancer, Then not applicable.
- Given a load balancer deleted before the event is handled, Then not applicable.
- Given a fix reverted, Then each listener has its previous policy again.
"""

from __future__ import annotations

from phiguard.core.control import Control, ResourceGone, register
from phiguard.core.lb_account import LB_TYPE, tls_load_balancers
from phiguard.core.model import Action, Evaluation, JsonDict, ResourceRef, Result, Severity, Trigger, Violation

SECURE_PROTOCOLS = ("HTTPS", "TLS")


@register
class Elbv2TlsPolicy(Control):
    control_id = "elbv2-tls-policy"
    title = "HTTPS and TLS listeners of load balancers use an accepted TLS policy"
    resource_type = LB_TYPE
    hipaa = ("164.312(a)(2)(iv)", "164.312(e)(1)", "164.312(e)(2)(i)", "164.312(e)(2)(ii)")
    action = Action.FIX
    severity = Severity.HIGH
    permissions = (
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:ModifyListener",
    )
    triggers = tuple(
        Trigger("aws.elasticloadbalancing", name, tls_load_balancers) for name in ("CreateListener", "ModifyListener")
    )

    def evaluate(self, ref: ResourceRef) -> Evaluation:
        elbv2 = self.clients.elbv2(ref.region)
        try:
            lb = elbv2.describe_load_balancers(LoadBalancerArns=[ref.resource_id])["LoadBalancers"][0]
        except elbv2.exceptions.LoadBalancerNotFoundException as e:
            raise ResourceGone(f"load balancer {ref.resource_id} does not exist") from e
        if lb.get("Type") not in ("application", "network"):
            return Evaluation.not_applicable(f"a {lb.get('Type')} load balancer has no HTTPS or TLS listeners")
        pages = elbv2.get_paginator("describe_listeners").paginate(LoadBalancerArn=ref.resource_id)
        secure = [lr for page in pages for lr in page["Listeners"] if lr.get("Protocol") in SECURE_PROTOCOLS]
        if not secure:
            return Evaluation.not_applicable("the load balancer has no HTTPS or TLS listener")
        state: JsonDict = {
            "type": lb.get("Type"),
            "listeners": [
                {
                    "arn": lr["ListenerArn"],
                    "protocol": lr.get("Protocol"),
                    "port": lr.get("Port"),
                    "ssl_policy": lr.get("SslPolicy"),
                }
                for lr in secure
            ],
            "accepted_tls_policies": list(self.settings.accepted_tls_policies),
        }
        target = self.settings.tls_policy
        blocker = (
            ()
            if target in self.settings.accepted_tls_policies
            else (
                f"The configured TLS policy {target} is not one of the accepted policies: PHI Guard will not set it.",
                "Set PHIGUARD_TLS_POLICY to one of PHIGUARD_ACCEPTED_TLS_POLICIES, or choose a policy for the "
                "listener by hand (ModifyListener with SslPolicy only, so SNI certificates stay).",
            )
        )
        violations = [
            Violation(
                summary=f"{lr.get('Protocol')} listener on port {lr.get('Port')} uses TLS policy "
                f"{lr.get('SslPolicy') or 'none'}, which is not accepted",
                fix=None if blocker else f"set listener {lr['ListenerArn']} TLS policy to {target}",
                detail={"listener_arn": lr["ListenerArn"], "ssl_policy": lr.get("SslPolicy")},
                manual_steps=blocker,
            )
            for lr in secure
            if lr.get("SslPolicy") not in self.settings.accepted_tls_policies
        ]
        return Evaluation.of(state, violations)

    def remediate(self, ref: ResourceRef, evaluation: Evaluation) -> list[str]:
        """SslPolicy only: sending Certificates would replace the listener's certificate list (and drop SNI ones)."""
        elbv2 = self.clients.elbv2(ref.region)
        changes = []
        for violation in evaluation.fixable:
            arn = str(violation.detail["listener_arn"])
            elbv2.modify_listener(ListenerArn=arn, SslPolicy=self.settings.tls_policy)
            changes.append(f"set listener {arn} TLS policy to {self.settings.tls_policy}")
        return changes

    def revert(self, ref: ResourceRef, fixed: Result) -> list[str]:
        elbv2 = self.clients.elbv2(ref.region)
        restored = []
        for violation in fixed.violations:
            previous = violation.detail.get("ssl_policy")
            if not violation.fixable or not previous:
                continue
            arn = str(violation.detail["listener_arn"])
            elbv2.modify_listener(ListenerArn=arn, SslPolicy=str(previous))
            restored.append(f"restored TLS policy {previous} on listener {arn}")
        return restored
