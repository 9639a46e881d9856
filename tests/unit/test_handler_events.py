"""Every file in events/ through the Lambda handler, against moto state, with SNS as the inbox."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from helpers import EVENTS, SELF_ROLE, alb, authorize, group, ingress, listener_actions, load_event, vpc
from phiguard.handlers.remediate import lambda_handler
from phiguard_local.demo import LambdaContextStub

pytestmark = pytest.mark.usefixtures("aws")
BUCKET = "phi-data-123456789012"


@dataclass
class Topic:
    arn: str
    queue_url: str

    def messages(self) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs")
        out = []
        while batch := sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", []):
            for message in batch:
                out.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return out


@pytest.fixture
def topic(monkeypatch: pytest.MonkeyPatch) -> Topic:
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    arn = sns.create_topic(Name="phiguard")["TopicArn"]
    url = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)
    monkeypatch.setenv("PHIGUARD_MODE", "enforce")
    monkeypatch.setenv("PHIGUARD_TOPIC_ARN", arn)
    monkeypatch.setenv("PHIGUARD_SELF_ROLE_ARNS", SELF_ROLE)
    return Topic(arn, url)


def handle(event: dict[str, Any]) -> list[dict[str, Any]]:
    return lambda_handler(event, LambdaContextStub())  # type: ignore[arg-type]


# Each case: set up moto so the event's resource exists in its drifted state, then check the outcome.


def bucket(encryption: str | None) -> Callable[[], dict[str, str]]:
    def setup() -> dict[str, str]:
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        if encryption:
            s3.put_bucket_encryption(
                Bucket=BUCKET,
                ServerSideEncryptionConfiguration={
                    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": encryption}}]
                },
            )
        return {}

    return setup


def world_open_group(*permissions: dict[str, Any]) -> Callable[[], dict[str, str]]:
    def setup() -> dict[str, str]:
        g = group(vpc(), "backend-sg")
        for permission in permissions:
            authorize(g, **permission)
        return {"backend_sg": g}

    return setup


def by_name_group() -> dict[str, str]:
    g = boto3.client("ec2").create_security_group(GroupName="legacy-web", Description="legacy")["GroupId"]
    authorize(g, None, protocol="-1", cidrs=("0.0.0.0/0",))
    return {"backend_sg": g}


def bastion_and_database() -> dict[str, str]:
    v = vpc()
    database, backend, bastion = (
        group(v, "db-sg", "database"),
        group(v, "backend-sg"),
        group(v, "bastion-sg", "bastion"),
    )
    authorize(database, 3306, groups=(backend,))
    authorize(database, 3306, groups=(bastion,))
    return {"database_sg": database, "bastion_sg": bastion, "backend_sg": backend}


def forwarding_alb() -> dict[str, str]:
    world = alb()
    return {"lb": world.lb, "listener": world.http, "target_group": world.target_group}


TLS_LISTENER_CONTROLS_COMPLIANT = [("elbv2-acm-certificate-required", "compliant"), ("elbv2-tls-policy", "compliant")]

CASES: dict[str, tuple[Callable[[], dict[str, str]], list[tuple[str, str]]]] = {
    "s3-delete-bucket-encryption.json": (bucket(None), [("s3-default-encryption-kms", "remediated")]),
    "s3-put-bucket-encryption-sse-s3.json": (bucket("AES256"), [("s3-default-encryption-kms", "remediated")]),
    "s3-create-bucket.json": (
        bucket(None),
        [
            ("s3-default-encryption-kms", "remediated"),
            ("s3-bucket-level-public-access-prohibited", "remediated"),
            ("s3-bucket-ssl-requests-only", "remediated"),
            ("s3-bucket-versioning-enabled", "remediated"),
            ("s3-bucket-logging-enabled", "needs_attention"),  # no log bucket configured here
        ],
    ),
    "ec2-authorize-sg-ingress-ssh-world.json": (
        world_open_group({"port": 22, "cidrs": ("0.0.0.0/0",), "cidrs6": ("::/0",)}),
        [("db-no-bastion-access", "not_applicable"), ("vpc-sg-restricted-ports", "remediated")],
    ),
    "ec2-authorize-sg-ingress-legacy-mixed-cidrs.json": (
        world_open_group({"port": 5432, "cidrs": ("0.0.0.0/0", "10.20.0.0/16")}),
        [("db-no-bastion-access", "not_applicable"), ("vpc-sg-restricted-ports", "remediated")],
    ),
    "ec2-authorize-sg-ingress-by-group-name.json": (
        by_name_group,
        [("db-no-bastion-access", "not_applicable"), ("vpc-sg-restricted-ports", "remediated")],
    ),
    "ec2-modify-security-group-rules.json": (
        world_open_group({"port": 0, "to_port": 65535, "cidrs": ("0.0.0.0/0",)}),
        [("db-no-bastion-access", "not_applicable"), ("vpc-sg-restricted-ports", "remediated")],
    ),
    "ec2-create-security-group.json": (world_open_group(), [("vpc-sg-restricted-ports", "compliant")]),
    "ec2-authorize-sg-ingress-bastion-to-database.json": (
        bastion_and_database,
        [
            ("db-no-bastion-access", "remediated"),
            ("vpc-sg-restricted-ports", "compliant"),
            ("db-ingress-from-app-tier-only", "needs_attention"),
        ],  # the backend group is not tagged here
    ),
    "ec2-authorize-sg-ingress-failed-call.json": (world_open_group({"port": 22, "cidrs": ("0.0.0.0/0",)}), []),
    "ec2-authorize-sg-ingress-by-phiguard-role.json": (world_open_group({"port": 22, "cidrs": ("0.0.0.0/0",)}), []),
    "elb-modify-listener-http-forward.json": (
        forwarding_alb,
        [("alb-http-to-https-redirection-check", "remediated"), *TLS_LISTENER_CONTROLS_COMPLIANT],
    ),
    "elb-create-listener-http-forward.json": (
        forwarding_alb,
        [("alb-http-to-https-redirection-check", "remediated"), *TLS_LISTENER_CONTROLS_COMPLIANT],
    ),
    "elb-create-listener-by-aws-service.json": (
        forwarding_alb,
        [("alb-http-to-https-redirection-check", "remediated"), *TLS_LISTENER_CONTROLS_COMPLIANT],
    ),
    # The TLS controls read network load balancers too: this one does not exist in moto.
    "elb-create-listener-network-lb.json": (
        lambda: {},
        [("elbv2-acm-certificate-required", "not_applicable"), ("elbv2-tls-policy", "not_applicable")],
    ),
    "kms-schedule-key-deletion.json": (
        lambda: {"kms_key": scheduled_key()},
        [("kms-cmk-not-scheduled-for-deletion", "remediated")],
    ),
    "kms-disable-key-rotation.json": (
        lambda: {"kms_key": boto3.client("kms").create_key()["KeyMetadata"]["KeyId"]},
        [("cmk-backing-key-rotation-enabled", "remediated")],
    ),
    "ec2-disable-ebs-encryption-by-default.json": (lambda: {}, [("ec2-ebs-encryption-by-default", "remediated")]),
    "ec2-create-volume-unencrypted.json": (
        lambda: {"volume": boto3.client("ec2").create_volume(AvailabilityZone="us-east-1a", Size=8)["VolumeId"]},
        [("encrypted-volumes", "needs_attention")],
    ),
    # A service that is not HIPAA-eligible: the call itself is the evidence, nothing is read from AWS.
    "managedblockchain-create-network.json": (lambda: {}, [("hipaa-eligible-services-only", "needs_attention")]),
    # AWS Config: an item names a resource that every control of its type re-reads live.
    "config-item-change-s3-bucket.json": (
        bucket("AES256"),
        [
            ("s3-default-encryption-kms", "remediated"),
            ("s3-bucket-level-public-access-prohibited", "remediated"),
            ("s3-bucket-ssl-requests-only", "remediated"),
            ("s3-bucket-versioning-enabled", "remediated"),
            ("s3-bucket-logging-enabled", "needs_attention"),
        ],
    ),
    "config-item-change-oversized-security-group.json": (
        world_open_group({"port": 22, "cidrs": ("0.0.0.0/0",)}),
        [
            ("vpc-sg-restricted-ports", "remediated"),
            ("bastion-ssh-from-allowed-cidrs", "not_applicable"),
            ("db-ingress-from-app-tier-only", "not_applicable"),
            ("db-no-bastion-access", "not_applicable"),
            ("vpc-default-security-group-closed", "not_applicable"),
        ],
    ),
    # A drifted bucket of that name exists, yet nothing acts on an item whose resource Config saw deleted.
    "config-item-change-deleted.json": (bucket(None), []),
    "config-compliance-change-conformance-pack.json": (
        lambda: {**bucket(None)(), **conformance_pack_rule()},
        [("s3-bucket-ssl-requests-only", "remediated")],  # the rule's control only, not every bucket control
    ),
    "config-compliance-change-unknown-rule.json": (bucket(None), []),
}


def conformance_pack_rule() -> dict[str, str]:
    boto3.client("config").put_config_rule(
        ConfigRule={
            "ConfigRuleName": "s3-bucket-ssl-requests-only-conformance-pack-abcd1234",
            "Source": {"Owner": "AWS", "SourceIdentifier": "S3_BUCKET_SSL_REQUESTS_ONLY"},
            "Scope": {"ComplianceResourceTypes": ["AWS::S3::Bucket"]},
        }
    )
    return {}


def scheduled_key() -> str:
    key = boto3.client("kms").create_key()["KeyMetadata"]["KeyId"]
    boto3.client("kms").schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    return str(key)


def test_every_sample_event_has_a_case() -> None:
    assert sorted(p.name for p in EVENTS.glob("*.json")) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_sample_event_through_the_handler(name: str, topic: Topic) -> None:
    setup, expected = CASES[name]
    ids = setup()

    results = handle(load_event(name, **ids))

    # Every control the call concerns answers; those for which the resource is not in scope are left out here.
    applicable = sorted((r["control_id"], r["outcome"]) for r in results if r["outcome"] != "not_applicable")
    assert applicable == sorted(e for e in expected if e[1] != "not_applicable")
    notified = [r for r in results if r["outcome"] not in ("compliant", "not_applicable")]
    messages = topic.messages()
    assert len(messages) == len(notified)
    for message, result in zip(messages, notified, strict=True):
        body = json.loads(message["Message"])
        assert body["control_id"] == result["control_id"]
        assert body["resource"]["id"] == result["resource"]["id"]
        assert message["MessageAttributes"]["outcome"]["Value"] == result["outcome"]
        assert message["MessageAttributes"]["control_id"]["Value"] == result["control_id"]


def test_a_failed_call_changes_nothing_even_when_the_group_is_open() -> None:
    ids = world_open_group({"port": 22, "cidrs": ("0.0.0.0/0",)})()

    assert handle(load_event("ec2-authorize-sg-ingress-failed-call.json", **ids)) == []
    assert ingress(ids["backend_sg"]) == [("tcp", 22, 22, "0.0.0.0/0")]


def test_the_products_own_call_coming_back_is_ignored(topic: Topic, caplog: pytest.LogCaptureFixture) -> None:
    ids = world_open_group({"port": 22, "cidrs": ("0.0.0.0/0",)})()

    assert handle(load_event("ec2-authorize-sg-ingress-by-phiguard-role.json", **ids)) == []
    assert topic.messages() == []
    assert "own remediation call ignored" in caplog.text


def test_the_same_event_delivered_twice_makes_one_change_and_one_message(topic: Topic) -> None:
    ids = forwarding_alb()
    event = load_event("elb-modify-listener-http-forward.json", **ids)

    first, second = handle(event), handle(event)

    redirect = "alb-http-to-https-redirection-check"
    assert [r["outcome"] for r in first if r["control_id"] == redirect] == ["remediated"]
    assert [r["outcome"] for r in second if r["control_id"] == redirect] == ["compliant"]
    assert len(topic.messages()) == 1
    assert listener_actions(ids["listener"])[0]["Type"] == "redirect"


def test_a_resource_deleted_before_the_event_is_handled_is_logged_and_not_notified(
    topic: Topic, caplog: pytest.LogCaptureFixture
) -> None:
    results = handle(load_event("s3-delete-bucket-encryption.json"))

    assert [r["outcome"] for r in results] == ["not_applicable"]
    assert topic.messages() == []
    assert "resource gone" in caplog.text


def test_dry_run_mode_notifies_the_plan_and_changes_nothing(topic: Topic, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHIGUARD_MODE", "dry-run")
    ids = world_open_group({"port": 22, "cidrs": ("0.0.0.0/0",)})()

    results = handle(load_event("ec2-authorize-sg-ingress-ssh-world.json", **ids))

    assert ("vpc-sg-restricted-ports", "would_remediate") in [(r["control_id"], r["outcome"]) for r in results]
    assert ingress(ids["backend_sg"]) == [("tcp", 22, 22, "0.0.0.0/0")]
    assert json.loads(topic.messages()[0]["Message"])["mode"] == "dry-run"


def test_a_malformed_event_is_logged_and_not_retried(caplog: pytest.LogCaptureFixture) -> None:
    assert handle({"detail-type": "AWS API Call via CloudTrail", "source": "aws.s3", "detail": "garbage"}) == []
    assert "malformed event ignored" in caplog.text


def test_a_malformed_event_is_alerted_once(topic: Topic) -> None:
    handle({"detail-type": "AWS API Call via CloudTrail", "source": "aws.s3", "detail": "garbage"})

    [message] = topic.messages()
    assert message["MessageAttributes"]["severity"]["Value"] == "medium"  # "warning" on the findings' scale
    assert "could not read an event" in message["Subject"]


def test_a_bucket_name_aws_rejects_is_reported_not_retried(topic: Topic, caplog: pytest.LogCaptureFixture) -> None:
    event = load_event("s3-delete-bucket-encryption.json")
    event["detail"]["requestParameters"]["bucketName"] = "arn:aws:s3:::phi-data"

    results = handle(event)  # no exception: Lambda must not retry what cannot succeed

    assert [r["outcome"] for r in results] == ["not_applicable"]
    assert "rejects as invalid" in caplog.text
    assert [m["MessageAttributes"]["severity"]["Value"] for m in topic.messages()] == ["medium"]


def test_an_event_that_names_no_readable_resource_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    event = load_event("elb-modify-listener-http-forward.json")
    event["detail"]["requestParameters"] = None
    event["detail"]["responseElements"] = "unexpected"

    assert handle(event) == []
    assert "names no resource a control can read" in caplog.text


def test_a_group_name_outside_the_default_vpc_is_never_guessed() -> None:
    g = group(vpc(), "legacy-web")  # same name, but not in the default VPC: EC2's name form cannot reach it
    authorize(g, None, protocol="-1", cidrs=("0.0.0.0/0",))

    results = handle(load_event("ec2-authorize-sg-ingress-by-group-name.json"))

    assert {r["outcome"] for r in results} == {"not_applicable"}
    assert ingress(g) == [("-1", -1, -1, "0.0.0.0/0")]
