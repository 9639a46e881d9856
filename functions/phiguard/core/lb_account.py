"""Where load balancer and account-level API calls name their resource."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from phiguard.core.events import items
from phiguard.core.model import ApiCall, ResourceRef

if TYPE_CHECKING:
    pass

LB_TYPE = "AWS::ElasticLoadBalancingV2::LoadBalancer"
ACCOUNT_TYPE = "AWS::::Account"
_LB_KINDS = (":loadbalancer/app/", ":loadbalancer/net/")


def tls_load_balancers(call: ApiCall) -> list[ResourceRef]:
    """Application and network load balancer ARNs, also derived from listener ARNs (gateway LBs have no TLS)."""
    arns = [
        call.request.get("loadBalancerArn"),
        _lb_arn_from_listener(call.request.get("listenerArn")),
        *(listener.get("loadBalancerArn") for listener in items(call.response.get("listeners"))),
        *(_lb_arn_from_listener(listener.get("listenerArn")) for listener in items(call.response.get("listeners"))),
    ]
    refs = [call.ref(LB_TYPE, arn) for arn in arns if isinstance(arn, str) and any(kind in arn for kind in _LB_KINDS)]
    return list(dict.fromkeys(refs))


def _lb_arn_from_listener(arn: Any) -> str | None:
    """arn:...:listener/app/name/lb-id/listener-id -> arn:...:loadbalancer/app/name/lb-id."""
    if not isinstance(arn, str) or ":listener/" not in arn:
        return None
    head, _, path = arn.partition(":listener/")
    return f"{head}:loadbalancer/" + "/".join(path.split("/")[:-1])


def root_account(call: ApiCall) -> list[ResourceRef]:
    """The account, when the root user itself made the call (an IAM user's key is no root key)."""
    if call.actor.principal_type != "Root":
        return []
    return [call.ref(ACCOUNT_TYPE, call.account_id)]
