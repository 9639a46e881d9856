"""Scenarios of elbv2-acm-certificate-required, against moto state."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from helpers import alb, make_engine, ref
from phiguard.controls.elbv2_acm_certificate_required import Elbv2AcmCertificateRequired, is_acm
from phiguard.core.model import Mode, Outcome, Result

pytestmark = pytest.mark.usefixtures("aws")
LB_TYPE = "AWS::ElasticLoadBalancingV2::LoadBalancer"
IAM_CERT = "arn:aws:iam::123456789012:server-certificate/legacy-web"


def run(lb_arn: str, mode: Mode = Mode.ENFORCE, **settings: Any) -> Result:
    engine, _ = make_engine(mode, **settings)
    return engine.run(Elbv2AcmCertificateRequired(engine.context), ref(LB_TYPE, lb_arn), None)


def certificates(arn: str) -> list[str]:
    found = boto3.client("elbv2").describe_listener_certificates(ListenerArn=arn)["Certificates"]
    return sorted(c["CertificateArn"] for c in found)


def test_given_an_https_listener_with_an_iam_default_certificate_then_a_person_is_told_the_steps() -> None:
    world = alb(https=False)
    elbv2 = boto3.client("elbv2")
    https = elbv2.create_listener(
        LoadBalancerArn=world.lb,
        Protocol="HTTPS",
        Port=443,
        Certificates=[{"CertificateArn": IAM_CERT}],
        DefaultActions=[{"Type": "forward", "TargetGroupArn": world.target_group}],
    )["Listeners"][0]["ListenerArn"]

    result = run(world.lb)

    assert result.outcome is Outcome.NEEDS_ATTENTION
    assert result.remaining[0].detail == {"listener_arn": https, "certificates": [IAM_CERT]}
    assert any("ACM" in step for step in result.remaining[0].manual_steps)
    assert certificates(https) == [IAM_CERT]


def test_given_an_iam_certificate_added_as_sni_then_a_person_is_told_and_nothing_changes() -> None:
    world = alb()
    https = world.https or ""
    boto3.client("elbv2").add_listener_certificates(ListenerArn=https, Certificates=[{"CertificateArn": IAM_CERT}])
    before = certificates(https)

    result = run(world.lb, Mode.ENFORCE)

    assert result.outcome is Outcome.NEEDS_ATTENTION
    assert result.remaining[0].detail["certificates"] == [IAM_CERT]
    assert certificates(https) == before


def test_given_a_tls_listener_of_a_network_load_balancer_with_an_iam_certificate_then_a_person_is_told() -> None:
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
    elbv2.create_listener(
        LoadBalancerArn=nlb,
        Protocol="TLS",
        Port=443,
        Certificates=[{"CertificateArn": IAM_CERT}],
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}],
    )

    assert run(nlb).outcome is Outcome.NEEDS_ATTENTION


def test_given_listeners_with_acm_certificates_only_then_compliant() -> None:
    world = alb()
    extra = boto3.client("acm").request_certificate(DomainName="api.example.com")["CertificateArn"]
    boto3.client("elbv2").add_listener_certificates(
        ListenerArn=world.https or "", Certificates=[{"CertificateArn": extra}]
    )

    assert run(world.lb).outcome is Outcome.COMPLIANT


def test_given_no_https_or_tls_listener_then_not_applicable() -> None:
    assert run(alb(https=False).lb).outcome is Outcome.NOT_APPLICABLE


def test_given_a_load_balancer_deleted_before_the_event_is_handled_then_not_applicable() -> None:
    world = alb()
    boto3.client("elbv2").delete_load_balancer(LoadBalancerArn=world.lb)

    assert run(world.lb).outcome is Outcome.NOT_APPLICABLE


@pytest.mark.parametrize(
    ("arn", "acm"),
    [
        ("arn:aws:acm:us-east-1:123456789012:certificate/0f1e2d3c", True),
        ("arn:aws-us-gov:acm:us-gov-west-1:123456789012:certificate/0f1e2d3c", True),
        (IAM_CERT, False),
        ("arn:aws-cn:iam::123456789012:server-certificate/cloudfront/legacy", False),
    ],
)
def test_given_certificate_arns_of_every_partition_then_only_acm_ones_count_as_acm(arn: str, acm: bool) -> None:
    assert is_acm(arn) is acm


def test_given_a_gateway_load_balancer_then_not_applicable() -> None:
    world = alb(https=False)
    elbv2 = boto3.client("elbv2")
    zones = elbv2.describe_load_balancers(LoadBalancerArns=[world.lb])["LoadBalancers"][0]["AvailabilityZones"]
    gwy = elbv2.create_load_balancer(Name="inspect-gwlb", Type="gateway", Subnets=[z["SubnetId"] for z in zones])[
        "LoadBalancers"
    ][0]["LoadBalancerArn"]

    result = run(gwy)

    assert result.outcome is Outcome.NOT_APPLICABLE
    assert "gateway" in result.reason
