"""What people and programs receive: readable e-mail text, full JSON, filterable attributes."""

from __future__ import annotations

import json

import boto3
import pytest
from helpers import ref
from phiguard.core.aws import Clients
from phiguard.core.model import Actor, Mode, Outcome, Result, Violation
from phiguard.notify.render import SUBJECT_LIMIT, email_text, sns_message, subject
from phiguard.notify.sns import SnsPublisher

ACTOR = Actor(
    arn="arn:aws:sts::123456789012:assumed-role/Admin/jane.doe@example.com",
    principal_type="AssumedRole",
    session_issuer_arn="arn:aws:iam::123456789012:role/Admin",
    event_time="2026-11-30T14:01:07Z",
    event_name="AuthorizeSecurityGroupIngress",
    event_id="8f7c1f2e-0001",
)


def result(outcome: Outcome = Outcome.REMEDIATED, **fields: object) -> Result:
    values: dict[str, object] = {
        "control_id": "vpc-sg-restricted-ports",
        "title": "Security groups admit the world only on the authorized public ports",
        "hipaa": ("164.312(a)(1)", "164.312(e)(1)"),
        "resource": ref("AWS::EC2::SecurityGroup", "sg-0a1b2c3d4e5f60001"),
        "outcome": outcome,
        "mode": Mode.ENFORCE,
        "actor": ACTOR,
        "violations": (
            Violation("tcp 22 is open to the world (0.0.0.0/0)", "revoke rule sgr-1 (tcp 22 from 0.0.0.0/0)"),
        ),
        "changes": ("revoke rule sgr-1 (tcp 22 from 0.0.0.0/0)",),
        "state_before": {"ingress_rules": [{"CidrIpv4": "0.0.0.0/0", "FromPort": 22}]},
        "state_after": {"ingress_rules": []},
    }
    values.update(fields)
    return Result(**values)  # type: ignore[arg-type]


def test_the_email_says_what_was_wrong_what_changed_who_when_where_and_why() -> None:
    text = email_text(result())

    for expected in (
        "PHI Guard fixed",
        "tcp 22 is open to the world",
        "What PHI Guard changed:",
        "revoke rule sgr-1",
        "sg-0a1b2c3d4e5f60001",
        "123456789012",
        "us-east-1",
        "jane.doe@example.com",
        "2026-11-30T14:01:07Z",
        "vpc-sg-restricted-ports",
        "45 CFR 164.312(a)(1), 164.312(e)(1)",
        "State before:",
        "State after:",
    ):
        assert expected in text
    assert not text.lstrip().startswith("{")


def test_a_notify_only_finding_lists_the_manual_steps() -> None:
    finding = Violation("HTTP listener forwards", None, manual_steps=("Request a certificate.", "Create HTTPS."))
    text = email_text(
        result(Outcome.NEEDS_ATTENTION, violations=(finding,), changes=(), remaining=(finding,), state_after=None)
    )

    assert "What a person must do:" in text
    assert "1. Request a certificate." in text
    assert "State after:" not in text


def test_a_failure_says_why() -> None:
    text = email_text(
        result(Outcome.FAILED, changes=(), state_after=None, error="AccessDenied on RevokeSecurityGroupIngress")
    )

    assert "could not fix" in text
    assert "AccessDenied on RevokeSecurityGroupIngress" in text


def test_the_subject_fits_sns_limits_whatever_the_resource_name() -> None:
    long = result(
        resource=ref("AWS::ElasticLoadBalancingV2::LoadBalancer", "arn:aws:elasticloadbalancing:" + "x" * 200)
    )

    assert len(subject(long)) <= SUBJECT_LIMIT
    assert all(32 <= ord(c) < 127 for c in subject(result(resource=ref("AWS::S3::Bucket", "bücket\nname"))))


def test_each_protocol_gets_its_own_body() -> None:
    message = json.loads(sns_message(result()))

    assert message["email"] == message["default"] == email_text(result())
    assert json.loads(message["sqs"]) == json.loads(message["lambda"]) == result().to_json()


@pytest.mark.usefixtures("aws")
def test_published_messages_carry_filterable_attributes() -> None:
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="phiguard")["TopicArn"]
    url = sqs.create_queue(QueueName="only-failures")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=arn, Attributes={"FilterPolicy": json.dumps({"outcome": ["failed"]})}
    )
    publish = SnsPublisher(Clients(), topic)

    publish(result(Outcome.REMEDIATED))
    publish(result(Outcome.FAILED, error="boom"))

    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    assert len(messages) == 1
    body = json.loads(messages[0]["Body"])
    assert json.loads(body["Message"])["outcome"] == "failed"
    assert body["Subject"].startswith("PHI Guard: FAILED to fix")


def test_a_huge_state_still_fits_one_sns_message_and_the_email_stays_readable() -> None:
    rules = [{"SecurityGroupRuleId": f"sgr-{n:017d}", "Description": "x" * 250} for n in range(1200)]
    big = result(state_before={"ingress_rules": rules}, state_after={"ingress_rules": rules[1:]}, evidence_id="ev-1")

    message = sns_message(big)

    assert len(message.encode()) <= 200_000
    assert "see evidence row ev-1" in json.loads(json.loads(message)["sqs"])["state_before"]["omitted"]
    assert "shortened; the whole state is in evidence row ev-1" in json.loads(message)["email"]


def test_subjects_name_load_balancers_by_name_not_by_arn() -> None:
    arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/frontend-alb/50dc6c495c0c9188"

    assert subject(result(resource=ref("AWS::ElasticLoadBalancingV2::LoadBalancer", arn))).endswith("on frontend-alb")
