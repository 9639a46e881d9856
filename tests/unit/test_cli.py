"""The phiguard command: evidence for auditors, revert, and replay of failed events (Lambda emulated)."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from helpers import (
    EVIDENCE_TABLE,
    SELF_ROLE,
    STATE_TABLE,
    FaultyClients,
    alb,
    authorize,
    evidence_rows,
    group,
    ingress,
    listener_actions,
    load_event,
    make_rails_engine,
    rails_tables,
    vpc,
)
from phiguard.core.model import Outcome
from phiguard_cli.main import main
from phiguard_local.template import load_template

pytestmark = pytest.mark.usefixtures("aws")


@pytest.fixture(autouse=True)
def tables(aws: None) -> None:
    rails_tables()


def phiguard(*args: str) -> int:
    return main(["--region", "us-east-1", *args])


def fixed_group() -> tuple[str, list[Any]]:
    """A group whose world-open SSH PHI Guard revoked; returns it and its rules before the fix."""
    g = group(vpc(), "backend-sg")
    authorize(g, 22, cidrs=("203.0.113.0/24",))
    authorize(g, 22, cidrs=("0.0.0.0/0",), cidrs6=("::/0",))
    before = ingress(g)
    engine, _ = make_rails_engine()
    engine.handle_event(load_event("ec2-authorize-sg-ingress-ssh-world.json", backend_sg=g))
    assert ingress(g) == [("tcp", 22, 22, "203.0.113.0/24")]
    return g, before


# --- evidence --------------------------------------------------------------------------------


def test_evidence_lists_and_filters(capsys: pytest.CaptureFixture[str]) -> None:
    g, _ = fixed_group()

    assert phiguard("evidence", "--table", EVIDENCE_TABLE, "--control", "vpc-sg-restricted-ports") == 0
    out = capsys.readouterr().out
    assert "remediated" in out and g in out and "1 row(s)" in out

    assert phiguard("evidence", "--table", EVIDENCE_TABLE, "--outcome", "failed") == 0
    assert "0 row(s)" in capsys.readouterr().out
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert phiguard("evidence", "--table", EVIDENCE_TABLE, "--since", tomorrow) == 0
    assert "0 row(s)" in capsys.readouterr().out


def test_evidence_exports_json_and_csv_for_auditors(tmp_path: Any, capsys: pytest.CaptureFixture[str]) -> None:
    g, _ = fixed_group()
    today = datetime.now(UTC).date().isoformat()

    assert (
        phiguard(
            "evidence",
            "--table",
            EVIDENCE_TABLE,
            "--since",
            today,
            "--until",
            today,
            "--resource",
            g,
            "--format",
            "json",
            "--output",
            str(tmp_path / "e.json"),
        )
        == 0
    )
    assert phiguard("evidence", "--table", EVIDENCE_TABLE, "--format", "csv") == 0

    [row] = json.loads((tmp_path / "e.json").read_text())
    assert row["resource_id"] == g and row["outcome"] == "remediated"
    assert row["state_before"]["ingress_rules"]  # states are JSON objects in the export, not strings
    records = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["resource_id"] for r in records] == [g]
    assert records[0]["hipaa"].startswith("164.308(a)(3)(i); ")


def test_evidence_without_a_table_says_how_to_name_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert phiguard("evidence", "--stack", "no-such-stack") == 2
    assert "cannot read stack 'no-such-stack'" in capsys.readouterr().err


# --- revert ----------------------------------------------------------------------------------


def test_revert_restores_the_exact_previous_state_records_it_and_exempts_the_resource() -> None:
    g, before = fixed_group()
    [fix] = [r for r in evidence_rows() if r["outcome"] == "remediated"]

    assert (
        phiguard(
            "revert",
            fix["evidence_id"],
            "--table",
            EVIDENCE_TABLE,
            "--reason",
            "vendor needs SSH",
            "--days",
            "3",
            "--yes",
        )
        == 0
    )

    assert ingress(g) == before
    tags = {
        t["Key"]: t["Value"]
        for t in boto3.client("ec2").describe_security_groups(GroupIds=[g])["SecurityGroups"][0]["Tags"]
    }
    assert tags["phiguard:exempt"] == "vpc-sg-restricted-ports"
    assert tags["phiguard:exempt-reason"] == "vendor needs SSH"
    assert tags["phiguard:exempt-until"] == (datetime.now(UTC) + timedelta(days=3)).date().isoformat()
    [revert] = [r for r in evidence_rows() if r["kind"] == "revert"]
    assert revert["outcome"] == "reverted" and revert["event_id"] == fix["evidence_id"]
    assert json.loads(revert["state_after"])["ingress_rules"] != []

    # The same drift seen again is now left alone: the revert is not immediately undone.
    engine, _ = make_rails_engine()
    event = load_event("ec2-authorize-sg-ingress-ssh-world.json", backend_sg=g)
    event["detail"]["eventID"] = "seen-again"
    results = engine.handle_event(event)
    assert [r.outcome for r in results if r.control_id == "vpc-sg-restricted-ports"] == [Outcome.EXEMPT]
    assert ingress(g) == before


def test_revert_of_a_redirect_restores_the_forward_action() -> None:
    world = alb()
    engine, _ = make_rails_engine()
    engine.handle_event(
        load_event(
            "elb-modify-listener-http-forward.json", lb=world.lb, listener=world.http, target_group=world.target_group
        )
    )
    [fix] = evidence_rows()

    assert phiguard("revert", fix["evidence_id"], "--table", EVIDENCE_TABLE, "--reason", "load test", "--yes") == 0

    assert listener_actions(world.http)[0]["Type"] == "forward"


def test_revert_refuses_what_changed_nothing_and_asks_before_acting(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    g, _ = fixed_group()
    [fix] = [r for r in evidence_rows() if r["outcome"] == "remediated"]
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("builtins.input", lambda prompt: "n")

    assert phiguard("revert", fix["evidence_id"], "--table", EVIDENCE_TABLE, "--reason", "r") == 1
    assert ingress(g) == [("tcp", 22, 22, "203.0.113.0/24")]
    assert phiguard("revert", "no-such-row", "--table", EVIDENCE_TABLE, "--reason", "r", "--yes") == 2
    assert "no evidence row" in capsys.readouterr().err


# --- failures end on the queue, replay re-drives them ----------------------------------------


def invoke_asynchronously(handle: Any, event: dict[str, Any], failure_queue_url: str) -> bool:
    """Lambda's asynchronous invocation as the template configures it: retries, then the on-failure queue."""
    retries = load_template()["Resources"]["RemediationFunction"]["Properties"]["EventInvokeConfig"][
        "MaximumRetryAttempts"
    ]
    error: Exception | None = None
    for _ in range(1 + retries):
        try:
            handle(event)
        except Exception as e:  # noqa: BLE001 - Lambda catches everything the handler raises
            error = e
        else:
            return True
    record = {
        "version": "1.0",
        "timestamp": datetime.now(UTC).isoformat(),
        "requestContext": {
            "requestId": "emulated",
            "condition": "RetriesExhausted",
            "approximateInvokeCount": 1 + retries,
            "functionArn": "arn:aws:lambda:us-east-1:123456789012:function:phiguard:$LATEST",
        },
        "requestPayload": event,
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": "Unhandled"},
        "responsePayload": {"errorMessage": str(error), "errorType": type(error).__name__},
    }
    boto3.client("sqs").send_message(QueueUrl=failure_queue_url, MessageBody=json.dumps(record))
    return False


def test_access_denied_ends_on_the_failure_queue_with_evidence_and_replay_succeeds_once_fixed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    g = group(vpc(), "backend-sg")
    authorize(g, 22, cidrs=("0.0.0.0/0",))
    queue = boto3.client("sqs").create_queue(QueueName="phiguard-failures")["QueueUrl"]
    event = load_event("ec2-authorize-sg-ingress-ssh-world.json", backend_sg=g)
    denied = FaultyClients()
    denied.fail(
        "RevokeSecurityGroupIngress", "UnauthorizedOperation", "You are not authorized to perform this operation."
    )
    engine, inbox = make_rails_engine(clients=denied)

    delivered = invoke_asynchronously(engine.handle_event, event, queue)

    assert delivered is False
    assert ingress(g) == [("tcp", 22, 22, "0.0.0.0/0")]
    failures = [r for r in evidence_rows() if r["outcome"] == "failed"]
    assert denied.injected == 3  # one revoke per attempt: the first try and Lambda's two retries
    assert len(failures) == 3 and "ec2:RevokeSecurityGroupIngress" in failures[0]["error"]
    assert [r.outcome for r in inbox.results if r.control_id == "vpc-sg-restricted-ports"] == [Outcome.FAILED] * 3

    # The cause is fixed (the permission granted): replay re-drives the queued event.
    for name, value in {
        "PHIGUARD_MODE": "enforce",
        "PHIGUARD_SELF_ROLE_ARNS": SELF_ROLE,
        "PHIGUARD_EVIDENCE_TABLE": EVIDENCE_TABLE,
        "PHIGUARD_STATE_TABLE": STATE_TABLE,
    }.items():
        monkeypatch.setenv(name, value)
    assert phiguard("replay", "--queue-url", queue, "--in-process") == 0

    assert ingress(g) == []
    assert "remediated" in [r["outcome"] for r in evidence_rows()]
    assert boto3.client("sqs").receive_message(QueueUrl=queue).get("Messages", []) == []


def test_replay_leaves_what_still_fails_on_the_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    queue = boto3.client("sqs").create_queue(QueueName="phiguard-failures")["QueueUrl"]
    boto3.client("sqs").send_message(
        QueueUrl=queue, MessageBody=json.dumps({"requestPayload": load_event("s3-delete-bucket-encryption.json")})
    )
    monkeypatch.setenv("PHIGUARD_MODE", "enforce")
    monkeypatch.setenv("PHIGUARD_TOPIC_ARN", "arn:aws:sns:us-east-1:123456789012:gone")  # publishing fails

    boto3.client("s3").create_bucket(Bucket="phi-data-123456789012")
    assert phiguard("replay", "--queue-url", queue, "--in-process") == 1

    messages = boto3.client("sqs").receive_message(QueueUrl=queue, VisibilityTimeout=0).get("Messages", [])
    assert len(messages) == 1


def test_revert_refuses_a_resource_changed_since_the_fix_and_a_second_revert(
    capsys: pytest.CaptureFixture[str],
) -> None:
    g, _ = fixed_group()
    [fix] = [r for r in evidence_rows() if r["outcome"] == "remediated"]
    authorize(g, 8080, cidrs=("10.0.0.0/8",))  # someone changed the group after the fix

    assert phiguard("revert", fix["evidence_id"], "--table", EVIDENCE_TABLE, "--reason", "r", "--yes") == 2
    assert "changed since the fix" in capsys.readouterr().err
    assert phiguard("revert", fix["evidence_id"], "--table", EVIDENCE_TABLE, "--reason", "r", "--yes", "--force") == 0
    assert phiguard("revert", fix["evidence_id"], "--table", EVIDENCE_TABLE, "--reason", "r", "--yes") == 2
    assert "reverted already" in capsys.readouterr().err
    assert phiguard("revert", fix["evidence_id"], "--table", EVIDENCE_TABLE, "--reason", "  ", "--yes") == 2


def test_reverting_one_fix_leaves_the_public_ports_another_fix_kept_open() -> None:
    g = group(vpc(), "edge-sg", role="public-lb")
    authorize(g, 22, cidrs=("0.0.0.0/0",))
    engine, _ = make_rails_engine()
    engine.handle_event(load_event("ec2-authorize-sg-ingress-ssh-world.json", backend_sg=g))
    [ssh_fix] = evidence_rows()
    authorize(g, None, protocol="-1", cidrs=("0.0.0.0/0",))
    second = load_event("ec2-authorize-sg-ingress-ssh-world.json", backend_sg=g)
    second["detail"]["eventID"] = "all-traffic"
    engine.handle_event(second)  # revokes all traffic, keeps 80 and 443 open for the world
    assert ingress(g) == [("tcp", 80, 80, "0.0.0.0/0"), ("tcp", 443, 443, "0.0.0.0/0")]

    assert (
        phiguard("revert", ssh_fix["evidence_id"], "--table", EVIDENCE_TABLE, "--reason", "vendor", "--yes", "--force")
        == 0
    )

    assert ingress(g) == [("tcp", 22, 22, "0.0.0.0/0"), ("tcp", 80, 80, "0.0.0.0/0"), ("tcp", 443, 443, "0.0.0.0/0")]


def test_replay_reports_unreadable_messages_leaves_them_and_goes_on(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sqs = boto3.client("sqs")
    queue = sqs.create_queue(QueueName="phiguard-failures")["QueueUrl"]
    for body in ("not json", json.dumps("a string"), json.dumps({"requestPayload": None})):
        sqs.send_message(QueueUrl=queue, MessageBody=body)
    boto3.client("s3").create_bucket(Bucket="phi-data-123456789012")
    sqs.send_message(
        QueueUrl=queue, MessageBody=json.dumps({"requestPayload": load_event("s3-delete-bucket-encryption.json")})
    )
    monkeypatch.setenv("PHIGUARD_MODE", "enforce")

    assert phiguard("replay", "--queue-url", queue, "--in-process") == 1

    out = capsys.readouterr().out
    assert "1 replayed, 3 still failing" in out
    assert len(sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, VisibilityTimeout=0)["Messages"]) == 3
