"""Scenarios of elbv2-tls-policy, against moto state."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from helpers import alb, listener_actions, make_engine, ref
from phiguard.controls.elbv2_tls_policy import Elbv2TlsPolicy
from phiguard.core.model import Mode, Outcome, Result

pytestmark = pytest.mark.usefixtures("aws")
LB_TYPE = "AWS::ElasticLoadBalancingV2::LoadBalancer"
WEAK = "ELBSecurityPolicy-2016-08"
DEFAULT = "ELBSecurityPolicy-TLS13-1-2-2021-06"


def run(lb_arn: str, mode: Mode = Mode.ENFORCE, **settings: Any) -> Result:
    engine, _ = make_engine(mode, **settings)
    return engine.run(Elbv2TlsPolicy(engine.context), ref(LB_TYPE, lb_arn), None)


def listener(arn: str) -> Any:
    return boto3.client("elbv2").describe_listeners(ListenerArns=[arn])["Listeners"][0]


def certificates(arn: str) -> list[str]:
    found = boto3.client("elbv2").describe_listener_certificates(ListenerArn=arn)["Certificates"]
    return sorted(c["CertificateArn"] for c in found)


def weak_https() -> tuple[str, str]:
    world = alb()
    https = world.https or ""
    boto3.client("elbv2").modify_listener(ListenerArn=https, SslPolicy=WEAK)
    return world.lb, https


def nlb_tls(policy: str) -> tuple[str, str]:
    world = alb(https=False)
    elbv2 = boto3.client("elbv2")
    zones = elbv2.describe_load_balancers(LoadBalancerArns=[world.lb])["LoadBalancers"][0]["AvailabilityZones"]
    nlb = elbv2.create_load_balancer(
        Name="partner-nlb", Type="network", Scheme="internal", Subnets=[z["SubnetId"] for z in zones]
    )["LoadBalancers"][0]["LoadBalancerArn"]
    vpc_id = elbv2.describe_target_groups(TargetGroupArns=[world.target_group])["TargetGroups"][0]["VpcId"]
    tg = elbv2.create_target_group(Name="tls-tg", Protocol="TCP", Port=443, VpcId=vpc_id)["TargetGroups"][0][
        "TargetGroupArn"
    ]
    cert = boto3.client("acm").request_certificate(DomainName="partner.example.com")["CertificateArn"]
    tls = elbv2.create_listener(
        LoadBalancerArn=nlb,
        Protocol="TLS",
        Port=443,
        SslPolicy=policy,
        Certificates=[{"CertificateArn": cert}],
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}],
    )["Listeners"][0]["ListenerArn"]
    return nlb, tls


def test_given_an_https_listener_with_a_weak_policy_then_only_its_policy_changes() -> None:
    lb, https = weak_https()
    actions_before = listener_actions(https)

    result = run(lb)

    assert result.outcome is Outcome.REMEDIATED
    assert listener(https)["SslPolicy"] == DEFAULT
    assert listener_actions(https) == actions_before
    assert result.state_before["listeners"][0]["ssl_policy"] == WEAK


def test_given_a_listener_with_several_sni_certificates_then_all_of_them_stay_after_the_fix() -> None:
    lb, https = weak_https()
    acm = boto3.client("acm")
    extra = [acm.request_certificate(DomainName=f"{n}.example.com")["CertificateArn"] for n in ("api", "portal")]
    boto3.client("elbv2").add_listener_certificates(
        ListenerArn=https, Certificates=[{"CertificateArn": c} for c in extra]
    )
    before = certificates(https)
    assert len(before) == 3

    assert run(lb).outcome is Outcome.REMEDIATED

    assert certificates(https) == before
    assert listener(https)["SslPolicy"] == DEFAULT


def test_given_a_tls_listener_of_a_network_load_balancer_with_a_weak_policy_then_its_policy_changes() -> None:
    nlb, tls = nlb_tls(WEAK)

    assert run(nlb).outcome is Outcome.REMEDIATED
    assert listener(tls)["SslPolicy"] == DEFAULT


@pytest.mark.parametrize("policy", [DEFAULT, "ELBSecurityPolicy-FS-1-2-Res-2020-10"])
def test_given_a_policy_already_accepted_then_compliant_and_never_replaced(policy: str) -> None:
    world = alb()
    https = world.https or ""
    boto3.client("elbv2").modify_listener(ListenerArn=https, SslPolicy=policy)

    assert run(world.lb, tls_policy="ELBSecurityPolicy-TLS13-1-3-2021-06").outcome is Outcome.COMPLIANT
    assert listener(https)["SslPolicy"] == policy


def test_given_a_configured_policy_outside_the_accepted_set_then_a_person_is_told() -> None:
    lb, https = weak_https()

    result = run(lb, tls_policy="ELBSecurityPolicy-2015-05")

    assert result.outcome is Outcome.NEEDS_ATTENTION
    assert "not one of the accepted" in result.remaining[0].manual_steps[0]
    assert listener(https)["SslPolicy"] == WEAK


def test_given_dry_run_then_the_policy_change_is_only_planned() -> None:
    lb, https = weak_https()

    result = run(lb, Mode.DRY_RUN)

    assert result.outcome is Outcome.WOULD_REMEDIATE
    assert result.changes == (f"set listener {https} TLS policy to {DEFAULT}",)
    assert listener(https)["SslPolicy"] == WEAK


def test_given_no_https_or_tls_listener_then_not_applicable() -> None:
    world = alb(https=False)

    assert run(world.lb).outcome is Outcome.NOT_APPLICABLE


def test_given_a_load_balancer_deleted_before_the_event_is_handled_then_not_applicable() -> None:
    lb, _ = weak_https()
    boto3.client("elbv2").delete_load_balancer(LoadBalancerArn=lb)

    assert run(lb).outcome is Outcome.NOT_APPLICABLE


def test_given_a_fix_reverted_then_the_listener_has_its_previous_policy_again() -> None:
    lb, https = weak_https()
    result = run(lb)
    engine, _ = make_engine()

    restored = Elbv2TlsPolicy(engine.context).revert(result.resource, result)

    assert listener(https)["SslPolicy"] == WEAK
    assert restored == [f"restored TLS policy {WEAK} on listener {https}"]


def test_given_a_gateway_load_balancer_then_not_applicable() -> None:
    world = alb(https=False)
    elbv2 = boto3.client("elbv2")
    zones = elbv2.describe_load_balancers(LoadBalancerArns=[world.lb])["LoadBalancers"][0]["AvailabilityZones"]
    gwy = elbv2.create_load_balancer(Name="inspect-gwlb", Type="gateway", Subnets=[z["SubnetId"] for z in zones])[
        "LoadBalancers"
    ][0]["LoadBalancerArn"]

    assert run(gwy).outcome is Outcome.NOT_APPLICABLE
