"""elbv2-acm-certificate-required: HTTPS and TLS listeners use ACM certificates, not IAM server certificates.

Scenarios:
- Given an HTTPS listener whose default certificate is an IAM server certificate, Then a person is told the
  steps (PHI Guard never changes a listener's certificates: a wrong one is an outage).
- Given an IAM server certificate added as an SNI certificate, Then the same for that listener.
- Given a TLS listener of a network load balancer with an IAM server certificate, Then the same.
- Given listeners with ACM certificates only, Then compliant.
- Given a load balancer with no HTTPS or TLS listener, or a gateway load balancer, Then not applicable.
- Given a load balancer deleted before the event is handled, Then not applicable.
"""

from __future__ import annotations

from typing import Any

from phiguard.core.control import Control, ResourceGone, register
from phiguard.core.lb_account import LB_TYPE, tls_load_balancers
from phiguard.core.model import Action, Evaluation, JsonDict, ResourceRef, Severity, Trigger, Violation

SECURE_PROTOCOLS = ("HTTPS", "TLS")
STEPS = (
    "Import the certificate and its private key into ACM (or request a new ACM certificate for the same names).",
    "Add the ACM certificate to the listener (as the default certificate, or with AddListenerCertificates "
    "for an SNI certificate).",
    "Remove the IAM server certificate from the listener (RemoveListenerCertificates), then delete it from IAM "
    "once nothing else uses it.",
)


def is_acm(arn: str) -> bool:
    """arn:<partition>:acm:<region>:<account>:certificate/<id>; IAM ones are arn:...:iam::...:server-certificate/."""
    parts = arn.split(":")
    return len(parts) > 2 and parts[2] == "acm"


def _certificates(elbv2: Any, listener_arn: str) -> list[str]:
    """Every certificate of the listener (default and SNI), every page."""
    found: list[str] = []
    kwargs: dict[str, Any] = {"ListenerArn": listener_arn}
    while True:
        page = elbv2.describe_listener_certificates(**kwargs)
        found += [str(c["CertificateArn"]) for c in page.get("Certificates", []) if c.get("CertificateArn")]
        if not page.get("NextMarker"):
            return list(dict.fromkeys(found))
        kwargs["Marker"] = page["NextMarker"]


@register
class Elbv2AcmCertificateRequired(Control):
    control_id = "elbv2-acm-certificate-required"
    title = "HTTPS and TLS listeners of load balancers use ACM certificates"
    resource_type = LB_TYPE
    hipaa = ("164.312(a)(2)(iv)", "164.312(e)(2)(ii)")
    action = Action.NOTIFY
    severity = Severity.HIGH
    permissions = (
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:DescribeListenerCertificates",
    )
    triggers = tuple(
        Trigger("aws.elasticloadbalancing", name, tls_load_balancers)
        for name in ("CreateListener", "ModifyListener", "AddListenerCertificates")
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
        certificates = {str(lr["ListenerArn"]): _certificates(elbv2, str(lr["ListenerArn"])) for lr in secure}
        state: JsonDict = {
            "type": lb.get("Type"),
            "listeners": [
                {
                    "arn": lr["ListenerArn"],
                    "protocol": lr.get("Protocol"),
                    "port": lr.get("Port"),
                    "certificates": certificates[str(lr["ListenerArn"])],
                }
                for lr in secure
            ],
        }
        violations = []
        for lr in secure:
            arn = str(lr["ListenerArn"])
            not_acm = [c for c in certificates[arn] if not is_acm(c)]
            if not_acm:
                violations.append(
                    Violation(
                        summary=f"{lr.get('Protocol')} listener on port {lr.get('Port')} uses certificate(s) not "
                        f"managed by ACM: {', '.join(not_acm)}",
                        fix=None,
                        detail={"listener_arn": arn, "certificates": not_acm},
                        manual_steps=STEPS,
                    )
                )
        return Evaluation.of(state, violations)
