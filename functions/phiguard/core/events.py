"""EventBridge payloads in, ApiCall values out; and where each service puts its resource ids."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from phiguard.core.model import REGION_NAME, Actor, ApiCall, JsonDict, ResourceRef

CLOUDTRAIL_DETAIL_TYPE = "AWS API Call via CloudTrail"


class MalformedEvent(ValueError):
    """The payload is not a CloudTrail API-call event PHI Guard can read."""


def api_call_from_event(event: Mapping[str, Any]) -> ApiCall:
    if not isinstance(event, Mapping):
        raise MalformedEvent(f"event is a {type(event).__name__}, not an object")
    if event.get("detail-type") != CLOUDTRAIL_DETAIL_TYPE:
        raise MalformedEvent(f"detail-type is {event.get('detail-type')!r}, not {CLOUDTRAIL_DETAIL_TYPE!r}")
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise MalformedEvent("event has no detail object")
    event_name, event_source = detail.get("eventName"), detail.get("eventSource")
    region = detail.get("awsRegion") or event.get("region")
    account_id = detail.get("recipientAccountId") or event.get("account")
    for name, value in (("eventName", event_name), ("eventSource", event_source), ("awsRegion", region)):
        if not isinstance(value, str) or not value:
            raise MalformedEvent(f"detail.{name} is missing")
    if not isinstance(account_id, str) or not account_id:
        raise MalformedEvent("event names no account")
    check_region(str(region), "detail.awsRegion")
    identity = _mapping(detail.get("userIdentity"))
    issuer = _mapping(_mapping(identity.get("sessionContext")).get("sessionIssuer"))
    actor = Actor(
        arn=str(identity.get("arn") or identity.get("invokedBy") or ""),
        principal_type=str(identity.get("type") or "unknown"),
        session_issuer_arn=issuer.get("arn"),
        event_time=str(detail.get("eventTime") or event.get("time") or ""),
        event_name=str(event_name),
        event_id=str(detail.get("eventID") or event.get("id") or ""),
        source_ip=detail.get("sourceIPAddress"),
    )
    return ApiCall(
        source=str(event.get("source") or ""),
        event_source=str(event_source),
        event_name=str(event_name),
        region=str(region),
        account_id=account_id,
        request=_mapping(detail.get("requestParameters")),
        response=_mapping(detail.get("responseElements")),
        actor=actor,
        error_code=detail.get("errorCode") or None,
        read_only=_read_only(detail.get("readOnly")),
    )


def _read_only(value: Any) -> bool | None:
    """detail.readOnly: a JSON boolean in CloudTrail's record ("true"/"false" accepted too); anything else unknown."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None


def check_region(region: str, where: str) -> str:
    """An AWS region name, or MalformedEvent: a client made for a made-up region cannot help, retried or not."""
    if not REGION_NAME.match(region):
        raise MalformedEvent(f"{where} {region[:60]!r} is not an AWS region name")
    return region


def _mapping(value: Any) -> JsonDict:
    return dict(value) if isinstance(value, Mapping) else {}


def items(value: Any) -> Iterator[JsonDict]:
    """CloudTrail writes EC2 lists as {"items": [...]} and other services' as plain lists."""
    if isinstance(value, Mapping):
        value = value.get("items", [])
    if isinstance(value, list):
        yield from (dict(item) for item in value if isinstance(item, Mapping))


def _unique(refs: list[ResourceRef]) -> list[ResourceRef]:
    return list(dict.fromkeys(refs))


# Where each service's API calls name their resource ---------------------------------------


def s3_bucket(call: ApiCall) -> list[ResourceRef]:
    name = call.request.get("bucketName")
    return [call.ref("AWS::S3::Bucket", name)] if isinstance(name, str) and name else []


def security_groups(call: ApiCall) -> list[ResourceRef]:
    """Group ids from both EC2 API shapes (per-permission and ModifySecurityGroupRules)."""
    ids = [
        call.request.get("groupId"),
        _mapping(call.request.get("ModifySecurityGroupRulesRequest")).get("GroupId"),
        call.response.get("groupId"),  # CreateSecurityGroup
        *(rule.get("groupId") for rule in items(call.response.get("securityGroupRuleSet"))),
    ]
    refs = [call.ref("AWS::EC2::SecurityGroup", i) for i in ids if isinstance(i, str) and i.startswith("sg-")]
    name = call.request.get("groupName")
    if not refs and isinstance(name, str) and name:
        refs.append(call.ref("AWS::EC2::SecurityGroup", name, by_name=True))
    return _unique(refs)


def application_load_balancers(call: ApiCall) -> list[ResourceRef]:
    """Load balancer ARNs, also derived from listener and rule ARNs; only application LBs."""
    arns = [
        call.request.get("loadBalancerArn"),
        _lb_arn_from(call.request.get("listenerArn"), "listener/", drop=1),
        _lb_arn_from(call.request.get("ruleArn"), "listener-rule/", drop=2),
        *(lb.get("loadBalancerArn") for lb in items(call.response.get("loadBalancers"))),
        *(listener.get("loadBalancerArn") for listener in items(call.response.get("listeners"))),
    ]
    return _unique(
        [
            call.ref("AWS::ElasticLoadBalancingV2::LoadBalancer", arn)
            for arn in arns
            if isinstance(arn, str) and ":loadbalancer/app/" in arn
        ]
    )


def _lb_arn_from(arn: Any, kind: str, drop: int) -> str | None:
    if not isinstance(arn, str) or f":{kind}" not in arn:
        return None
    head, _, path = arn.partition(f":{kind}")
    return f"{head}:loadbalancer/" + "/".join(path.split("/")[:-drop])


def the_account(call: ApiCall) -> list[ResourceRef]:
    """Account-level settings (in the call's region, where they are regional)."""
    return [call.ref("AWS::::Account", call.account_id)]


def volumes_and_instances(call: ApiCall) -> list[ResourceRef]:
    """CreateVolume names a volume; RunInstances names instances, whose volumes are read when evaluated."""
    refs = []
    volume = call.response.get("volumeId")
    if isinstance(volume, str) and volume.startswith("vol-"):
        refs.append(call.ref("AWS::EC2::Volume", volume))
    for instance in items(call.response.get("instancesSet")):
        if isinstance(instance.get("instanceId"), str):
            refs.append(call.ref("AWS::EC2::Instance", instance["instanceId"]))
    return _unique(refs)
