"""Load balancer and account API calls in, resource references out; the ACM and IAM clients."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import ACCOUNT, REGION
from phiguard.core.aws import Clients
from phiguard.core.lb_account import root_account, tls_load_balancers
from phiguard.core.model import Actor, ApiCall

APP = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/app/web-alb/50dc6c495c0c9188"
NET = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/net/partner-nlb/6b1c2d3e4f5a6b7c"
GWY = f"arn:aws:elasticloadbalancing:{REGION}:{ACCOUNT}:loadbalancer/gwy/inspect/0a1b2c3d4e5f6a7b"


def listener_of(lb: str, listener_id: str = "f2f7dc8efc522ab2") -> str:
    return lb.replace(":loadbalancer/", ":listener/") + f"/{listener_id}"


def call(
    event_name: str, request: dict[str, Any] | None = None, response: dict[str, Any] | None = None, who: str = "IAMUser"
) -> ApiCall:
    actor = Actor(f"arn:aws:iam::{ACCOUNT}:user/jane", who, None, "2026-01-01T00:00:00Z", event_name, "e1")
    source = "aws.iam" if event_name == "CreateAccessKey" else "aws.elasticloadbalancing"
    return ApiCall(
        source, source[4:] + ".amazonaws.com", event_name, REGION, ACCOUNT, request or {}, response or {}, actor
    )


def ids(refs: list) -> list[str]:  # type: ignore[type-arg]
    return [r.resource_id for r in refs]


@pytest.mark.parametrize("lb", [APP, NET])
def test_create_listener_names_the_load_balancer_once_from_request_and_response(lb: str) -> None:
    refs = tls_load_balancers(
        call(
            "CreateListener",
            {"loadBalancerArn": lb, "protocol": "HTTPS"},
            {"listeners": [{"listenerArn": listener_of(lb), "loadBalancerArn": lb}]},
        )
    )

    assert ids(refs) == [lb]
    assert refs[0].resource_type == "AWS::ElasticLoadBalancingV2::LoadBalancer"


@pytest.mark.parametrize("lb", [APP, NET])
@pytest.mark.parametrize("event_name", ["ModifyListener", "AddListenerCertificates"])
def test_listener_calls_name_the_load_balancer_derived_from_the_listener_arn(lb: str, event_name: str) -> None:
    assert ids(tls_load_balancers(call(event_name, {"listenerArn": listener_of(lb)}))) == [lb]


def test_a_gateway_load_balancer_or_nothing_usable_names_nothing() -> None:
    assert tls_load_balancers(call("ModifyListener", {"listenerArn": listener_of(GWY)})) == []
    assert tls_load_balancers(call("ModifyListener", {"listenerArn": 42})) == []
    assert tls_load_balancers(call("ModifyListener")) == []


def test_a_root_call_names_the_account_and_any_other_caller_nothing() -> None:
    (account,) = root_account(call("CreateAccessKey", who="Root"))

    assert (account.resource_type, account.resource_id, account.account_id) == ("AWS::::Account", ACCOUNT, ACCOUNT)
    assert root_account(call("CreateAccessKey", who="IAMUser")) == []
    assert root_account(call("CreateAccessKey", who="AssumedRole")) == []


@pytest.mark.usefixtures("aws")
def test_the_clients_are_cached_per_service_and_region_and_iam_has_no_region() -> None:
    clients = Clients()

    assert clients.acm(REGION) is clients.acm(REGION)
    assert clients.acm(REGION).meta.region_name == REGION
    assert clients.iam() is clients.iam()
    assert clients.iam().meta.service_model.service_name == "iam"
