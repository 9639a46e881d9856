"""alb-http-to-https-redirection-check: every HTTP listener of an application LB only redirects to HTTPS.

Scenarios:
- Given an HTTP listener that forwards, on a load balancer with an HTTPS listener whose security
  groups admit 443 from every source that may reach 80, Then its default action becomes a 301
  redirect to HTTPS and nothing else of the listener changes (internet-facing and internal alike).
- Given a listener rule that forwards on the HTTP listener, Then that rule's actions become the redirect.
- Given an HTTP listener that redirects to plain HTTP, Then it is a violation like forwarding.
- Given HTTPS only on ports other than 443, Then a person chooses (PHI Guard never guesses the port).
- Given no HTTPS listener and a configured ACM certificate, Then an HTTPS:443 listener is created
  with that certificate and the HTTP listener's forward target, then the HTTP listener redirects.
- Given no HTTPS listener and no certificate, Then a person is told the steps (no redirect to nothing).
- Given security groups that admit 80 but not 443 from some source, Then a person is told (a redirect
  to a closed port is an outage).
- Given a network or gateway load balancer, Then the control is not applicable.
- Given a load balancer deleted before the event is handled, Then it is not applicable.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from phiguard.core import security_groups as sg
from phiguard.core.control import Control, ResourceGone, register
from phiguard.core.events import application_load_balancers
from phiguard.core.model import Action, Evaluation, JsonDict, ResourceRef, Result, Severity, Trigger, Violation

if TYPE_CHECKING:
    from mypy_boto3_elbv2.type_defs import ActionTypeDef, ListenerTypeDef, LoadBalancerTypeDef, RuleTypeDef


def redirect_action(port: int) -> ActionTypeDef:
    return {
        "Type": "redirect",
        "RedirectConfig": {
            "Protocol": "HTTPS",
            "Port": str(port),
            "Host": "#{host}",
            "Path": "/#{path}",
            "Query": "#{query}",
            "StatusCode": "HTTP_301",
        },
    }


def _forwards(actions: Any) -> bool:
    return any(a.get("Type") == "forward" for a in actions or [])


def _insecure(actions: Any) -> bool:
    """Traffic stays on plain HTTP: it is forwarded, or redirected anywhere but HTTPS."""
    return _forwards(actions) or any(
        a.get("Type") == "redirect" and a.get("RedirectConfig", {}).get("Protocol") != "HTTPS" for a in actions or []
    )


def _what(actions: Any) -> str:
    return "forwards traffic unencrypted" if _forwards(actions) else "redirects to plain HTTP"


def _rules(elbv2: Any, listener_arn: str) -> list[RuleTypeDef]:
    """The listener's non-default rules, every page."""
    found: list[RuleTypeDef] = []
    kwargs: dict[str, Any] = {"ListenerArn": listener_arn}
    while True:
        page = elbv2.describe_rules(**kwargs)
        found += [r for r in page["Rules"] if not r.get("IsDefault")]
        if not page.get("NextMarker"):
            return found
        kwargs["Marker"] = page["NextMarker"]


@register
class AlbHttpToHttpsRedirectionCheck(Control):
    control_id = "alb-http-to-https-redirection-check"
    title = "HTTP listeners of application load balancers redirect to HTTPS"
    resource_type = "AWS::ElasticLoadBalancingV2::LoadBalancer"
    hipaa = ("164.312(a)(2)(iv)", "164.312(e)(1)", "164.312(e)(2)(i)", "164.312(e)(2)(ii)")
    action = Action.FIX
    severity = Severity.HIGH
    permissions = (
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:DescribeRules",
        "elasticloadbalancing:ModifyListener",
        "elasticloadbalancing:ModifyRule",
        "elasticloadbalancing:CreateListener",
        "ec2:DescribeSecurityGroupRules",
    )
    _described: LoadBalancerTypeDef | None = None
    triggers = tuple(
        Trigger("aws.elasticloadbalancing", name, application_load_balancers)
        for name in ("CreateLoadBalancer", "CreateListener", "ModifyListener", "CreateRule", "ModifyRule")
    )

    def evaluate(self, ref: ResourceRef) -> Evaluation:
        elbv2 = self.clients.elbv2(ref.region)
        lb = self._load_balancer(ref)
        if lb.get("Type") != "application":
            return Evaluation.not_applicable(f"a {lb.get('Type')} load balancer has no HTTP listeners")
        pages = elbv2.get_paginator("describe_listeners").paginate(LoadBalancerArn=ref.resource_id)
        listeners = [listener for page in pages for listener in page["Listeners"]]
        http = [lr for lr in listeners if lr.get("Protocol") == "HTTP"]
        https = [lr for lr in listeners if lr.get("Protocol") == "HTTPS"]
        rules = {str(lr["ListenerArn"]): _rules(elbv2, str(lr["ListenerArn"])) for lr in http}
        state: JsonDict = {
            "scheme": lb.get("Scheme"),
            "listeners": [_listener_state(lr) for lr in listeners],
            "http_listener_rules": {arn: [_rule_state(r) for r in rs] for arn, rs in rules.items()},
        }
        insecure = [lr for lr in http if _insecure(lr.get("DefaultActions"))]
        insecure_rules = [r for rs in rules.values() for r in rs if _insecure(r.get("Actions"))]
        if not insecure and not insecure_rules:
            return Evaluation.of(state, [])
        has_443 = any(lr.get("Port") == 443 for lr in https)
        forward_actions = next((list(lr["DefaultActions"]) for lr in insecure if _forwards(lr["DefaultActions"])), [])
        create_https = not has_443 and not https and bool(self.settings.https_certificate_arn) and bool(forward_actions)
        blocker = self._blocker(ref, lb.get("SecurityGroups", []), http, https, create_https)
        plan = "create an HTTPS:443 listener with the configured certificate, then " if create_https else ""
        violations = [
            Violation(
                summary=f"HTTP listener on port {lr.get('Port')} {_what(lr.get('DefaultActions'))}",
                fix=None
                if blocker
                else f"{plan}set listener {lr['ListenerArn']} default action to a 301 redirect to HTTPS:443",
                detail={"listener_arn": lr["ListenerArn"]},
                manual_steps=blocker,
            )
            for lr in insecure
        ]
        violations += [
            Violation(
                summary=f"rule {r['RuleArn']} of an HTTP listener {_what(r.get('Actions'))}",
                fix=None if blocker else f"{plan}set rule {r['RuleArn']} actions to a 301 redirect to HTTPS:443",
                detail={"rule_arn": r["RuleArn"]},
                manual_steps=blocker,
            )
            for r in insecure_rules
        ]
        if create_https and not blocker:
            violations[0] = replace(violations[0], detail={**violations[0].detail, "create_https": forward_actions})
        return Evaluation.of(state, violations)

    def _load_balancer(self, ref: ResourceRef) -> LoadBalancerTypeDef:
        """The load balancer itself (type, scheme, groups), read once per run: a fix changes listeners and
        rules only, so the verifying evaluation reads those live and not this again."""
        if self._described is None or self._described["LoadBalancerArn"] != ref.resource_id:
            elbv2 = self.clients.elbv2(ref.region)
            try:
                self._described = elbv2.describe_load_balancers(LoadBalancerArns=[ref.resource_id])["LoadBalancers"][0]
            except elbv2.exceptions.LoadBalancerNotFoundException as e:
                raise ResourceGone(f"load balancer {ref.resource_id} does not exist") from e
        return self._described

    def _blocker(
        self,
        ref: ResourceRef,
        groups: list[str],
        http: list[ListenerTypeDef],
        https: list[ListenerTypeDef],
        create_https: bool,
    ) -> tuple[str, ...]:
        """Why redirecting to HTTPS:443 would be unsafe, as the steps a person takes; empty when it is safe."""
        other_ports = sorted({int(lr.get("Port", 0)) for lr in https} - {443})
        if not any(lr.get("Port") == 443 for lr in https) and other_ports:
            return (
                f"The load balancer has HTTPS only on port(s) {', '.join(map(str, other_ports))}, not 443: which "
                "one HTTP clients belong on is a decision PHI Guard does not make.",
                "Add an HTTPS:443 listener, or redirect the HTTP listener to the right HTTPS port by hand.",
            )
        if not https and not create_https:
            return (
                "Request or import an ACM certificate for the load balancer's domain name.",
                "Create an HTTPS:443 listener with it and the HTTP listener's forward target "
                f"(TLS policy {self.settings.tls_policy}).",
                "Then change the HTTP listener's default action to a 301 redirect to HTTPS:443.",
            )
        http_ports = [int(lr.get("Port", 80)) for lr in http]
        rules = []
        for group_id in groups:
            group = ResourceRef("AWS::EC2::SecurityGroup", group_id, ref.region, ref.account_id)
            rules += sg.ingress_rules(self.context, group)
        sources_http = {sg.source(r) for r in rules if any(_admits(r, p) for p in http_ports)}
        sources_https = {sg.source(r) for r in rules if _admits(r, 443)}
        missing = sorted(sources_http - sources_https)
        if not missing:
            return ()
        return (
            f"The load balancer's security groups admit HTTP but not port 443 from: {', '.join(missing)}; a "
            "redirect would send those clients to a closed port.",
            f"Authorize tcp 443 from exactly those sources on the load balancer's group ({', '.join(groups)}).",
            "Then change the HTTP listener's default action to a 301 redirect to HTTPS:443.",
        )

    def remediate(self, ref: ResourceRef, evaluation: Evaluation) -> list[str]:
        elbv2 = self.clients.elbv2(ref.region)
        changes = []
        for violation in evaluation.fixable:
            detail = violation.detail
            if detail.get("create_https"):  # at most one violation carries it: the listener is created once
                elbv2.create_listener(
                    LoadBalancerArn=ref.resource_id,
                    Protocol="HTTPS",
                    Port=443,
                    SslPolicy=self.settings.tls_policy,
                    Certificates=[{"CertificateArn": str(self.settings.https_certificate_arn)}],
                    DefaultActions=list(detail["create_https"]),
                )
                changes.append(f"created HTTPS:443 listener with certificate {self.settings.https_certificate_arn}")
            if "listener_arn" in detail:
                elbv2.modify_listener(ListenerArn=str(detail["listener_arn"]), DefaultActions=[redirect_action(443)])
                changes.append(f"set listener {detail['listener_arn']} default action to a 301 redirect to HTTPS:443")
            else:
                elbv2.modify_rule(RuleArn=str(detail["rule_arn"]), Actions=[redirect_action(443)])
                changes.append(f"set rule {detail['rule_arn']} actions to a 301 redirect to HTTPS:443")
        return changes

    def revert(self, ref: ResourceRef, fixed: Result) -> list[str]:
        """Put back the recorded actions; an HTTPS listener the fix created stays (never delete a listener)."""
        elbv2 = self.clients.elbv2(ref.region)
        listeners = {lr["arn"]: lr for lr in fixed.state_before.get("listeners", [])}
        rules = {r["arn"]: r for rs in fixed.state_before.get("http_listener_rules", {}).values() for r in rs}
        restored = []
        for violation in fixed.violations:
            if not violation.fixable:
                continue
            if "listener_arn" in violation.detail:
                arn = str(violation.detail["listener_arn"])
                elbv2.modify_listener(ListenerArn=arn, DefaultActions=listeners[arn]["default_actions"])
                restored.append(f"restored the default actions of listener {arn}")
            else:
                arn = str(violation.detail["rule_arn"])
                elbv2.modify_rule(RuleArn=arn, Actions=rules[arn]["actions"])
                restored.append(f"restored the actions of rule {arn}")
        return restored


def _admits(rule: Any, port: int) -> bool:
    protocol = str(rule.get("IpProtocol"))
    if protocol == sg.ALL_PROTOCOLS:
        return True
    low, high = rule.get("FromPort", -1), rule.get("ToPort", -1)
    return protocol in ("tcp", "6") and (low == -1 or low <= port <= high)


def _listener_state(listener: ListenerTypeDef) -> JsonDict:
    return {
        "arn": listener.get("ListenerArn"),
        "protocol": listener.get("Protocol"),
        "port": listener.get("Port"),
        "ssl_policy": listener.get("SslPolicy"),
        "default_actions": [_action_state(a) for a in listener.get("DefaultActions", [])],
    }


def _rule_state(rule: RuleTypeDef) -> JsonDict:
    return {
        "arn": rule.get("RuleArn"),
        "priority": rule.get("Priority"),
        "actions": [_action_state(a) for a in rule.get("Actions", [])],
    }


def _action_state(action: Any) -> JsonDict:
    keep = ("Type", "TargetGroupArn", "RedirectConfig", "Order")
    return {k: action[k] for k in keep if k in action}
