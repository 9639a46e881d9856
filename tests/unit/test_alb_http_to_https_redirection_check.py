"""Scenarios of alb-http-to-https-redirection-check, against moto state."""

from __future__ import annotations

import boto3
import pytest
from helpers import alb, authorize, listener_actions, make_engine, ref
from phiguard.controls.alb_http_to_https_redirection_check import AlbHttpToHttpsRedirectionCheck, redirect_action
from phiguard.core.model import Mode, Outcome, Result

pytestmark = pytest.mark.usefixtures("aws")
LB_TYPE = "AWS::ElasticLoadBalancingV2::LoadBalancer"


def run(lb_arn: str, mode: Mode = Mode.ENFORCE, **settings: object) -> Result:
    engine, _ = make_engine(mode, **settings)  # type: ignore[arg-type]
    return engine.run(AlbHttpToHttpsRedirectionCheck(engine.context), ref(LB_TYPE, lb_arn), None)


@pytest.mark.parametrize("scheme", ["internet-facing", "internal"])
def test_given_http_listener_forwarding_then_it_redirects_to_https_and_nothing_else_changes(scheme: str) -> None:
    world = alb(scheme)
    https_before = listener_actions(world.https or "")

    result = run(world.lb)

    assert result.outcome is Outcome.REMEDIATED
    actions = listener_actions(world.http)
    assert actions[0]["Type"] == "redirect"
    assert actions[0]["RedirectConfig"]["Protocol"] == "HTTPS"
    assert actions[0]["RedirectConfig"]["Port"] == "443"
    assert actions[0]["RedirectConfig"]["StatusCode"] == "HTTP_301"
    assert listener_actions(world.https or "") == https_before
    listener = boto3.client("elbv2").describe_listeners(ListenerArns=[world.http])["Listeners"][0]
    assert (listener["Protocol"], listener["Port"]) == ("HTTP", 80)


def test_given_http_listener_already_redirecting_then_compliant() -> None:
    world = alb()
    boto3.client("elbv2").modify_listener(ListenerArn=world.http, DefaultActions=[redirect_action(443)])

    assert run(world.lb).outcome is Outcome.COMPLIANT


def test_given_a_listener_rule_forwarding_on_the_http_listener_then_it_becomes_a_redirect() -> None:
    world = alb()
    elbv2 = boto3.client("elbv2")
    elbv2.modify_listener(ListenerArn=world.http, DefaultActions=[redirect_action(443)])
    rule = elbv2.create_rule(
        ListenerArn=world.http,
        Priority=10,
        Conditions=[{"Field": "path-pattern", "Values": ["/api/*"]}],
        Actions=[{"Type": "forward", "TargetGroupArn": world.target_group}],
    )["Rules"][0]

    result = run(world.lb)

    assert result.outcome is Outcome.REMEDIATED
    actions = elbv2.describe_rules(RuleArns=[rule["RuleArn"]])["Rules"][0]["Actions"]
    assert [a["Type"] for a in actions] == ["redirect"]


def test_given_no_https_listener_and_no_certificate_then_a_person_is_told_the_steps() -> None:
    world = alb(https=False)

    result = run(world.lb)

    assert result.outcome is Outcome.NEEDS_ATTENTION
    assert listener_actions(world.http)[0]["Type"] == "forward"
    assert any("ACM certificate" in step for step in result.remaining[0].manual_steps)


def test_given_no_https_listener_and_a_configured_certificate_then_https_is_created_then_http_redirects() -> None:
    world = alb(https=False)
    cert = boto3.client("acm").request_certificate(DomainName="web.example.com")["CertificateArn"]

    result = run(world.lb, https_certificate_arn=cert)

    assert result.outcome is Outcome.REMEDIATED
    listeners = boto3.client("elbv2").describe_listeners(LoadBalancerArn=world.lb)["Listeners"]
    https = [lr for lr in listeners if lr["Protocol"] == "HTTPS"]
    assert len(https) == 1
    assert https[0]["Port"] == 443
    assert https[0]["Certificates"][0]["CertificateArn"] == cert
    assert https[0]["DefaultActions"][0]["TargetGroupArn"] == world.target_group
    assert listener_actions(world.http)[0]["Type"] == "redirect"


def test_given_security_groups_admitting_80_but_not_443_then_notify_instead_of_redirecting() -> None:
    world = alb(open_443=False)

    result = run(world.lb)

    assert result.outcome is Outcome.NEEDS_ATTENTION
    assert listener_actions(world.http)[0]["Type"] == "forward"
    assert "0.0.0.0/0" in result.remaining[0].manual_steps[0]


def test_given_443_admitted_from_a_different_source_only_then_still_notify() -> None:
    world = alb(open_443=False)
    authorize(world.lb_group, 443, cidrs=("10.0.0.0/8",))

    assert run(world.lb).outcome is Outcome.NEEDS_ATTENTION


def test_given_dry_run_then_the_redirect_is_only_planned() -> None:
    world = alb()

    result = run(world.lb, Mode.DRY_RUN)

    assert result.outcome is Outcome.WOULD_REMEDIATE
    assert "301 redirect to HTTPS:443" in result.changes[0]
    assert listener_actions(world.http)[0]["Type"] == "forward"


def test_given_a_network_load_balancer_then_not_applicable() -> None:
    world = alb()
    elbv2 = boto3.client("elbv2")
    zones = elbv2.describe_load_balancers(LoadBalancerArns=[world.lb])["LoadBalancers"][0]["AvailabilityZones"]
    nlb = elbv2.create_load_balancer(
        Name="partner-nlb", Type="network", Scheme="internal", Subnets=[zone["SubnetId"] for zone in zones]
    )["LoadBalancers"][0]["LoadBalancerArn"]

    assert run(nlb).outcome is Outcome.NOT_APPLICABLE


def test_given_a_load_balancer_deleted_before_the_event_is_handled_then_not_applicable() -> None:
    world = alb()
    boto3.client("elbv2").delete_load_balancer(LoadBalancerArn=world.lb)

    assert run(world.lb).outcome is Outcome.NOT_APPLICABLE


def test_given_an_http_listener_redirecting_to_plain_http_then_it_becomes_a_redirect_to_https() -> None:
    world = alb()
    insecure = {
        "Type": "redirect",
        "RedirectConfig": {"Protocol": "HTTP", "Host": "other.example.com", "Port": "80", "StatusCode": "HTTP_302"},
    }
    boto3.client("elbv2").modify_listener(ListenerArn=world.http, DefaultActions=[insecure])

    result = run(world.lb)

    assert result.outcome is Outcome.REMEDIATED
    assert "redirects to plain HTTP" in result.violations[0].summary
    assert listener_actions(world.http)[0]["RedirectConfig"]["Protocol"] == "HTTPS"


def test_given_https_on_8443_and_443_then_http_is_redirected_to_443_whatever_the_listing_order() -> None:
    world = alb(https=False)
    elbv2 = boto3.client("elbv2")
    cert = boto3.client("acm").request_certificate(DomainName="web.example.com")["CertificateArn"]
    for port in (8443, 443):
        elbv2.create_listener(
            LoadBalancerArn=world.lb,
            Protocol="HTTPS",
            Port=port,
            Certificates=[{"CertificateArn": cert}],
            DefaultActions=[{"Type": "forward", "TargetGroupArn": world.target_group}],
        )

    assert run(world.lb).outcome is Outcome.REMEDIATED
    assert listener_actions(world.http)[0]["RedirectConfig"]["Port"] == "443"


def test_given_https_only_on_another_port_then_a_person_chooses() -> None:
    world = alb(https=False)
    cert = boto3.client("acm").request_certificate(DomainName="web.example.com")["CertificateArn"]
    boto3.client("elbv2").create_listener(
        LoadBalancerArn=world.lb,
        Protocol="HTTPS",
        Port=8443,
        Certificates=[{"CertificateArn": cert}],
        DefaultActions=[{"Type": "forward", "TargetGroupArn": world.target_group}],
    )

    result = run(world.lb, https_certificate_arn=cert)

    assert result.outcome is Outcome.NEEDS_ATTENTION
    assert "8443" in result.remaining[0].manual_steps[0]
    assert listener_actions(world.http)[0]["Type"] == "forward"


def test_given_no_https_and_forwarding_rule_and_default_then_https_is_created_once_and_both_redirect() -> None:
    world = alb(https=False)
    elbv2 = boto3.client("elbv2")
    rule = elbv2.create_rule(
        ListenerArn=world.http,
        Priority=5,
        Conditions=[{"Field": "path-pattern", "Values": ["/api/*"]}],
        Actions=[{"Type": "forward", "TargetGroupArn": world.target_group}],
    )["Rules"][0]
    cert = boto3.client("acm").request_certificate(DomainName="web.example.com")["CertificateArn"]

    result = run(world.lb, https_certificate_arn=cert)

    assert result.outcome is Outcome.REMEDIATED
    listeners = elbv2.describe_listeners(LoadBalancerArn=world.lb)["Listeners"]
    assert [lr["Port"] for lr in listeners if lr["Protocol"] == "HTTPS"] == [443]
    assert elbv2.describe_rules(RuleArns=[rule["RuleArn"]])["Rules"][0]["Actions"][0]["Type"] == "redirect"
