"""What people and programs receive: readable e-mail text, full JSON, filterable attributes."""

from __future__ import annotations

import json

import boto3
import pytest
from helpers import ref
from phiguard.core.aws import Clients
from phiguard.core.control import all_controls
from phiguard.core.model import Actor, Mode, Outcome, Result, Severity, Violation
from phiguard.notify.render import (
    CHAT_DESCRIPTION_LIMIT,
    CHAT_STEP_LIMIT,
    CHAT_STEPS,
    CHAT_TITLE_LIMIT,
    EMAIL_LIMIT,
    SUBJECT_LIMIT,
    alert_message,
    email_text,
    sns_message,
    subject,
)
from phiguard.notify.severity import named, severity_of
from phiguard.notify.sns import SnsPublisher
from phiguard_local.template import load_template

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
        "Severity:   high",  # tcp 22: not a database port
        "Console:    https://console.aws.amazon.com/ec2/home?region=us-east-1#SecurityGroup:groupId=sg-0a1b2c3d4e5f60001",
        "Before / after, in short",
        'ingress_rules: [{"CidrIpv4": "0.0.0.0/0", "FromPort": 22}] -> []',
    ):
        assert expected in text
    assert "{" not in text.split("Before / after")[0]  # no JSON before the short before/after


def test_a_notify_only_finding_lists_the_manual_steps() -> None:
    finding = Violation("HTTP listener forwards", None, manual_steps=("Request a certificate.", "Create HTTPS."))
    text = email_text(
        result(Outcome.NEEDS_ATTENTION, violations=(finding,), changes=(), remaining=(finding,), state_after=None)
    )

    assert "What a person must do:" in text
    assert "1. Request a certificate." in text
    assert "Why it was not changed:" in text and "What PHI Guard changed" not in text
    assert "after: (not read again: nothing was changed)" in text


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
    assert json.loads(message["sqs"]) == json.loads(message["lambda"]) == {**result().to_json(), "severity": "high"}
    assert json.loads(message["https"])["source"] == "custom"  # AWS Chatbot's custom notification


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
    assert body["Subject"].startswith("PHI Guard CRITICAL: FAILED to fix")
    assert body["MessageAttributes"]["severity"]["Value"] == "critical"


def test_a_huge_state_still_fits_one_sns_message_and_the_email_stays_readable() -> None:
    rules = [{"SecurityGroupRuleId": f"sgr-{n:017d}", "Description": "x" * 250} for n in range(1200)]
    big = result(state_before={"ingress_rules": rules}, state_after={"ingress_rules": rules[1:]}, evidence_id="ev-1")

    message = sns_message(big)

    assert len(message.encode()) <= 200_000
    assert "see evidence row ev-1" in json.loads(json.loads(message)["sqs"])["state_before"]["omitted"]
    email = json.loads(message)["email"]
    assert len(email) < 5_000  # only what changed, never the whole states
    assert "ingress_rules: [" in email and "Evidence:   ev-1" in email


def test_subjects_name_load_balancers_by_name_not_by_arn() -> None:
    arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/frontend-alb/50dc6c495c0c9188"

    assert subject(result(resource=ref("AWS::ElasticLoadBalancingV2::LoadBalancer", arn))).endswith("on frontend-alb")


# --- severity: one rule for every channel and filter ----------------------------------------------------------


@pytest.mark.parametrize(
    ("outcome", "control_id", "state", "expected"),
    [
        (Outcome.REMEDIATED, "vpc-sg-restricted-ports", {"port": 5432}, Severity.CRITICAL),  # a database port
        (Outcome.REMEDIATED, "vpc-sg-restricted-ports", {"port": 22}, Severity.HIGH),
        (Outcome.WOULD_REMEDIATE, "s3-bucket-level-public-access-prohibited", None, Severity.CRITICAL),
        (Outcome.NEEDS_ATTENTION, "rds-snapshots-public-prohibited", None, Severity.CRITICAL),
        (Outcome.REMEDIATED, "cloudtrail-enabled", None, Severity.CRITICAL),
        (Outcome.REMEDIATED, "kms-cmk-not-scheduled-for-deletion", None, Severity.CRITICAL),
        (Outcome.REMEDIATED, "s3-default-encryption-kms", None, Severity.HIGH),
        (Outcome.REMEDIATED, "s3-bucket-versioning-enabled", None, Severity.MEDIUM),
        (Outcome.REMEDIATED, "rds-multi-az-support", None, Severity.LOW),
        (Outcome.FAILED, "rds-multi-az-support", None, Severity.CRITICAL),  # a failure is always critical
        (Outcome.HELD, "s3-bucket-versioning-enabled", None, Severity.HIGH),  # held by the brake: at least high
        (Outcome.EXEMPT, "s3-bucket-level-public-access-prohibited", None, Severity.LOW),  # left alone on purpose
    ],
)
def test_severity_follows_the_control_and_is_raised_or_lowered_by_the_outcome(
    outcome: Outcome, control_id: str, state: dict[str, int] | None, expected: Severity
) -> None:
    fields: dict[str, object] = {"control_id": control_id}
    if state:
        rule = {"SecurityGroupRuleId": "sgr-1", "IpProtocol": "tcp", "FromPort": state["port"], "ToPort": state["port"]}
        violation = Violation(f"tcp {state['port']} is open to the world", "revoke", {"rule_id": "sgr-1"})
        fields.update(state_before={"ingress_rules": [rule]}, violations=(violation,))

    assert severity_of(result(outcome, **fields)) is expected


def test_every_control_has_a_severity_on_the_scale() -> None:
    assert [c.control_id for c in all_controls() if not isinstance(c.severity, Severity)] == []


def test_alert_severities_are_read_on_the_same_scale() -> None:
    assert [named(s) for s in ("critical", "warning", "HIGH", "whatever")] == [
        Severity.CRITICAL,
        Severity.MEDIUM,
        Severity.HIGH,
        Severity.MEDIUM,
    ]


def test_a_critical_finding_says_so_in_the_subject() -> None:
    failed = subject(result(Outcome.FAILED, error="boom"))
    assert failed.startswith("PHI Guard CRITICAL: FAILED to fix: vpc-sg-restricted-ports")
    assert subject(result()).startswith("PHI Guard: Fixed:")


# --- the e-mail: everything the issue lists, readable ------------------------------------------------------------


def test_a_dry_run_email_says_what_would_change_and_why_nothing_did() -> None:
    text = email_text(result(Outcome.WOULD_REMEDIATE, mode=Mode.DRY_RUN, state_after=None))

    assert "What PHI Guard would change in enforce mode:" in text and "revoke rule sgr-1" in text
    assert "Why it was not changed:\n  Dry-run mode" in text and "Mode=enforce" in text
    assert "What PHI Guard changed:" not in text


def test_a_held_fix_says_why_it_was_held() -> None:
    reason = "blast-radius brake engaged: more than 50 fixes in this account's window"
    text = email_text(result(Outcome.HELD, reason=reason, state_after=None))

    assert f"Why it was not changed:\n  {reason}" in text
    assert "Severity:   high" in text


def test_the_email_links_the_resource_in_the_console_and_is_cut_when_enormous() -> None:
    bucket = result(resource=ref("AWS::S3::Bucket", "phi-data"), control_id="s3-default-encryption-kms")
    assert "Console:    https://console.aws.amazon.com/s3/buckets/phi-data?region=us-east-1" in email_text(bucket)

    many = tuple(Violation(f"rule {n} " + "x" * 300, f"revoke {n}") for n in range(1000))
    text = email_text(result(violations=many, changes=tuple(v.fix or "" for v in many), evidence_id="ev-7"))
    assert len(text) <= EMAIL_LIMIT and text.endswith("(shortened; evidence row ev-7 has everything)\n")


# --- AWS Chatbot (Amazon Q Developer in chat applications): the https body ----------------------------------------


def chat_of(message: str) -> dict[str, object]:
    body: dict[str, object] = json.loads(json.loads(message)["https"])
    return body


def test_the_https_body_is_a_chatbot_custom_notification() -> None:
    finding = Violation("HTTP listener forwards", None, manual_steps=("Request a certificate.", "Create HTTPS."))
    needs = result(Outcome.NEEDS_ATTENTION, violations=(finding,), changes=(), remaining=(finding,), state_after=None)

    chat = chat_of(sns_message(needs))

    assert (chat["version"], chat["source"]) == ("1.0", "custom")
    content = chat["content"]
    assert isinstance(content, dict)
    assert content["textType"] == "client-markdown"
    assert content["title"] == ":warning: Action needed: vpc-sg-restricted-ports on sg-0a1b2c3d4e5f60001"
    assert "HTTP listener forwards" in content["description"]
    assert "Console: https://console.aws.amazon.com/ec2/home?region=us-east-1#SecurityGroup:" in content["description"]
    assert "45 CFR 164.312(a)(1)" in content["description"]
    assert content["nextSteps"] == ["Request a certificate.", "Create HTTPS."]
    assert content["keywords"] == ["high", "needs_attention", "vpc-sg-restricted-ports"]
    metadata = chat["metadata"]
    assert isinstance(metadata, dict)
    assert metadata["threadId"].startswith("phiguard-vpc-sg-restricted-ports-")
    assert metadata["additionalContext"]["severity"] == "high"


def test_the_chatbot_body_keeps_within_its_limits_whatever_the_finding() -> None:
    steps = tuple(f"step {n} " + "y" * 900 for n in range(30))
    many = tuple(Violation(f"problem {n} " + "z" * 500, None, manual_steps=steps) for n in range(40))
    huge = result(Outcome.NEEDS_ATTENTION, violations=many, remaining=many, changes=(), state_after=None)

    content = chat_of(sns_message(huge))["content"]

    assert isinstance(content, dict)
    assert len(content["title"]) <= CHAT_TITLE_LIMIT and len(content["description"]) <= CHAT_DESCRIPTION_LIMIT
    assert len(content["nextSteps"]) == CHAT_STEPS and all(len(s) <= CHAT_STEP_LIMIT for s in content["nextSteps"])
    assert content["nextSteps"][-1].startswith("... and ")


def test_an_alert_has_a_chatbot_body_too_and_its_severity_on_the_scale() -> None:
    message = json.loads(
        alert_message("PHI Guard CRITICAL: brake engaged", "Look at the recent changes.", Severity.CRITICAL)
    )

    assert message["email"] == "Look at the recent changes."
    assert json.loads(message["sqs"]) == {
        "kind": "alert",
        "severity": "critical",
        "subject": "PHI Guard CRITICAL: brake engaged",
        "text": "Look at the recent changes.",
    }
    chat = json.loads(message["https"])
    assert chat["content"]["title"] == ":rotating_light: PHI Guard CRITICAL: brake engaged"
    assert chat["content"]["description"] == "Look at the recent changes."


# --- the e-mail subscription's filter, as the template sets it ----------------------------------------------------


def email_filter(severities: str) -> dict[str, object]:
    """The template's FilterPolicy with EmailSeverities substituted (what CloudFormation's !Split gives)."""
    policy = load_template()["Resources"]["EmailSubscription"]["Properties"]["FilterPolicy"]
    split = json.dumps({"Fn::Split": [",", {"Ref": "EmailSeverities"}]})
    assert split in json.dumps(policy)
    return dict(json.loads(json.dumps(policy).replace(split, json.dumps(severities.split(",")))))


@pytest.mark.usefixtures("aws")
def test_an_email_subscription_for_critical_only_gets_failures_critical_drifts_the_brake_and_alarms() -> None:
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="phiguard")["TopicArn"]
    url = sqs.create_queue(QueueName="like-the-email")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(
        TopicArn=topic,
        Protocol="sqs",
        Endpoint=arn,
        Attributes={"FilterPolicy": json.dumps(email_filter("critical")), "FilterPolicyScope": "MessageAttributes"},
    )
    publish = SnsPublisher(Clients(), topic)

    publish(result(Outcome.REMEDIATED))  # high: not for this e-mail
    publish(result(Outcome.FAILED, error="boom"))  # critical
    publish(result(control_id="s3-bucket-level-public-access-prohibited", resource=ref("AWS::S3::Bucket", "b")))
    publish.alert("PHI Guard could not read an event", "...", "warning")  # medium
    publish.alert("PHI Guard CRITICAL: blast-radius brake engaged", "...", "critical")
    sns.publish(TopicArn=topic, Message=json.dumps({"AlarmName": "FailureQueueAlarm"}))  # an alarm: no attributes

    bodies = [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]]
    assert sorted(b.get("Subject") or "alarm" for b in bodies) == [
        "PHI Guard CRITICAL: FAILED to fix: vpc-sg-restricted-ports on sg-0a1b2c3d4e5f60001",
        "PHI Guard CRITICAL: Fixed: s3-bucket-level-public-access-prohibited on b",
        "PHI Guard CRITICAL: blast-radius brake engaged",
        "alarm",
    ]
