"""CloudTrail events in, resource references out: both EC2 API shapes, names, ARNs, bad input."""

from __future__ import annotations

import pytest
from helpers import PLACEHOLDERS, load_event
from phiguard.core.events import (
    MalformedEvent,
    api_call_from_event,
    application_load_balancers,
    s3_bucket,
    security_groups,
)


def ids(refs: list) -> list[str]:  # type: ignore[type-arg]
    return [r.resource_id for r in refs]


def test_a_bucket_event_names_the_bucket_and_the_person() -> None:
    call = api_call_from_event(load_event("s3-delete-bucket-encryption.json"))

    assert ids(s3_bucket(call)) == [PLACEHOLDERS["bucket"]]
    assert call.actor.arn.endswith("assumed-role/Admin/jane.doe@example.com")
    assert call.actor.session_issuer_arn == "arn:aws:iam::123456789012:role/Admin"
    assert (call.region, call.account_id, call.error_code) == ("us-east-1", "123456789012", None)


@pytest.mark.parametrize(
    "name",
    [
        "ec2-authorize-sg-ingress-ssh-world.json",  # newer shape: securityGroupRuleSet in the response
        "ec2-authorize-sg-ingress-legacy-mixed-cidrs.json",  # older shape: groupId in the request only
        "ec2-modify-security-group-rules.json",  # ModifySecurityGroupRulesRequest.GroupId
        "ec2-create-security-group.json",  # groupId in the response only
    ],
)
def test_every_ec2_shape_yields_the_group_id_once(name: str) -> None:
    refs = security_groups(api_call_from_event(load_event(name)))

    assert ids(refs) == [PLACEHOLDERS["backend_sg"]]
    assert not refs[0].by_name


def test_a_rule_added_by_group_name_yields_a_reference_by_name() -> None:
    refs = security_groups(api_call_from_event(load_event("ec2-authorize-sg-ingress-by-group-name.json")))

    assert ids(refs) == ["legacy-web"]
    assert refs[0].by_name


def test_a_listener_arn_yields_its_load_balancer() -> None:
    call = api_call_from_event(load_event("elb-modify-listener-http-forward.json"))

    assert ids(application_load_balancers(call)) == [PLACEHOLDERS["lb"]]


def test_a_rule_arn_yields_its_load_balancer() -> None:
    event = load_event("elb-modify-listener-http-forward.json")
    event["detail"]["requestParameters"] = {
        "ruleArn": PLACEHOLDERS["listener"].replace(":listener/", ":listener-rule/") + "/9683b2d02a6cabee"
    }
    event["detail"]["responseElements"] = None

    assert ids(application_load_balancers(api_call_from_event(event))) == [PLACEHOLDERS["lb"]]


def test_network_load_balancers_are_not_application_load_balancers() -> None:
    call = api_call_from_event(load_event("elb-create-listener-network-lb.json"))

    assert application_load_balancers(call) == []


def test_an_event_from_an_aws_service_has_no_session_issuer() -> None:
    call = api_call_from_event(load_event("elb-create-listener-by-aws-service.json"))

    assert call.actor.session_issuer_arn is None
    assert call.actor.principal_type == "AWSService"
    assert call.actor.display == "elasticbeanstalk.amazonaws.com"


def test_a_failed_call_keeps_its_error_code() -> None:
    call = api_call_from_event(load_event("ec2-authorize-sg-ingress-failed-call.json"))

    assert call.error_code == "Client.UnauthorizedOperation"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda e: e.update({"detail-type": "AWS Console Sign In via CloudTrail"}), "detail-type"),
        (lambda e: e.pop("detail"), "no detail"),
        (lambda e: e["detail"].pop("eventName"), "eventName"),
        (lambda e: e["detail"].update(awsRegion=None) or e.pop("region"), "awsRegion"),
        (lambda e: e["detail"].pop("recipientAccountId") and e.pop("account"), "account"),
    ],
)
def test_malformed_events_are_refused_with_a_reason(mutate, message: str) -> None:  # type: ignore[no-untyped-def]
    event = load_event("s3-delete-bucket-encryption.json")
    mutate(event)

    with pytest.raises(MalformedEvent, match=message):
        api_call_from_event(event)


def test_a_non_object_event_is_refused() -> None:
    with pytest.raises(MalformedEvent):
        api_call_from_event(["not", "an", "event"])  # type: ignore[arg-type]


def test_a_cloudtrail_event_from_a_made_up_region_is_malformed() -> None:
    from phiguard.core.events import MalformedEvent, api_call_from_event
    from phiguard_local.cloudtrail import detail, envelope

    with pytest.raises(MalformedEvent, match="not an AWS region name"):
        api_call_from_event(envelope("aws.s3", detail("s3", "CreateBucket", {}, None, region="us-east-1; rm")))
