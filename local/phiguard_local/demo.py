"""`make demo`: the main job end to end on an embedded AWS.

Builds the reference architecture compliant, injects the headline drifts with real API calls,
delivers their CloudTrail events through EventBridge with the template's own patterns into the
handler Lambda runs, then reads everything back and checks that the drifts are gone and nothing
legitimate changed. Writes build/demo/state.json and build/demo/report.json; exits 1 on any miss.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# As in the deployed function's environment; Powertools reads these when its modules are imported.
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "phiguard")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "PHIGuard")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

import boto3
from phiguard.core.aws import Clients
from phiguard.core.control import get_control
from phiguard.core.evidence import DynamoEvidence
from phiguard.handlers import sweep
from phiguard_cli.main import render_evidence

from phiguard_local import cloudtrail, drifts, state
from phiguard_local.embedded import ACCOUNT_ID, REGION, embedded_aws
from phiguard_local.eventbus import LocalEventBus
from phiguard_local.refarch import ORG_CIDR, RefArch, build
from phiguard_local.template import ROOT

OUT = ROOT / "build" / "demo"
ROLE_NAME = "phiguard-RemediationRole-DEMO"


class LambdaContextStub:
    """What the handler's decorators read from Lambda's context object."""

    function_name = "phiguard-RemediationFunction"
    function_version = "$LATEST"
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:phiguard-RemediationFunction"
    memory_limit_in_mb = 256
    aws_request_id = "demo-request"
    log_group_name = "/aws/lambda/phiguard-RemediationFunction"
    log_stream_name = "demo"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 120_000


@dataclass
class Deployment:
    """What `sam deploy` would have created around the function, made in the embedded AWS."""

    topic_arn: str
    role_arn: str
    inbox_url: str


EVIDENCE_TABLE, STATE_TABLE = "phiguard-evidence", "phiguard-state"
# The brake part of the demo redeploys with a small limit and a short window, so a burst of 8 trips it quickly
# (the catalogue's drifts before it run with the default limit).
BRAKE_WINDOW_SECONDS, BRAKE_LIMIT, BURST = 12, 6, 8


def deploy(mode: str, arch: RefArch) -> Deployment:
    """What `sam deploy` creates around the function (topic, role, tables), and the function's settings."""
    sns, sqs, iam, dynamodb = boto3.client("sns"), boto3.client("sqs"), boto3.client("iam"), boto3.client("dynamodb")
    topic_arn = sns.create_topic(Name="phiguard-notifications")["TopicArn"]
    inbox_url = sqs.create_queue(QueueName="phiguard-notifications-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=inbox_arn)
    sns.subscribe(TopicArn=topic_arn, Protocol="email", Endpoint="security-team@example.com")
    role_arn = iam.create_role(
        RoleName=ROLE_NAME,
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        ),
    )["Role"]["Arn"]
    for name, key in ((EVIDENCE_TABLE, "evidence_id"), (STATE_TABLE, "id")):
        dynamodb.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        )
    os.environ.update(
        {
            "PHIGUARD_MODE": mode,
            "PHIGUARD_TOPIC_ARN": topic_arn,
            "PHIGUARD_SELF_ROLE_ARNS": role_arn,
            "PHIGUARD_S3_KMS_KEY_ID": arch.kms_key_arn,
            "PHIGUARD_LOG_BUCKET": arch.log_bucket,
            "PHIGUARD_ADMIN_CIDRS": ORG_CIDR,
            "PHIGUARD_FLOW_LOG_DESTINATION": f"arn:aws:s3:::{arch.log_bucket}",
            "PHIGUARD_CLOUDTRAIL_KMS_KEY_ID": arch.kms_key_arn,
            "PHIGUARD_CLOUDTRAIL_LOG_GROUP_ARN": arch.trail_log_group,
            "PHIGUARD_CLOUDTRAIL_LOGS_ROLE_ARN": arch.trail_logs_role,
            "PHIGUARD_EVIDENCE_TABLE": EVIDENCE_TABLE,
            "PHIGUARD_STATE_TABLE": STATE_TABLE,
            "POWERTOOLS_SERVICE_NAME": "phiguard",
            "POWERTOOLS_METRICS_NAMESPACE": "PHIGuard",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_IDEMPOTENCY_DISABLED": "false",
        }
    )
    return Deployment(topic_arn, role_arn, inbox_url)


@contextmanager
def lambda_logs_to(path: Path) -> Iterator[None]:
    """The function's structured log lines go to a file, so the demo's output stays readable."""
    from phiguard.handlers import remediate

    remediate.engine.cache_clear()
    handlers = logging.getLogger("phiguard").handlers
    with path.open("w") as log, redirect_stdout(log):  # log lines and EMF metrics
        streams = [h.setStream(log) for h in handlers if isinstance(h, logging.StreamHandler)]
        try:
            yield
        finally:
            for handler, stream in zip(handlers, streams, strict=False):
                if isinstance(handler, logging.StreamHandler) and stream is not None:
                    handler.setStream(stream)


def invoke(event: dict[str, Any]) -> list[dict[str, Any]]:
    """The handler Lambda runs, called in-process (no Docker here)."""
    from phiguard.handlers.remediate import lambda_handler

    return lambda_handler(event, LambdaContextStub())  # type: ignore[arg-type]


def echo_event(drift: drifts.Drift, role_arn: str) -> dict[str, Any]:
    """The CloudTrail event PHI Guard's own fix produces: it must be ignored (loop prevention)."""
    detail = drift.event["detail"]
    issued = f"arn:aws:sts::{ACCOUNT_ID}:assumed-role/{ROLE_NAME}/phiguard-RemediationFunction"
    names = {
        "aws.s3": "PutBucketEncryption",
        "aws.ec2": "AuthorizeSecurityGroupIngress",
        "aws.elasticloadbalancing": "ModifyListener",
        "aws.kms": "EnableKeyRotation",
        "aws.cloudtrail": "StartLogging",
        "aws.rds": "ModifyDBInstance",
        "aws.iam": "UpdateAccountPasswordPolicy",
        "aws.managedblockchain": "CreateNetwork",
    }
    body = cloudtrail.detail(
        detail["eventSource"].split(".")[0],
        names[drift.event["source"]],
        detail["requestParameters"],
        detail["responseElements"],
        actor_arn=issued,
        issuer_arn=role_arn,
    )
    body["userAgent"] = "Boto3/1.40 md/Botocore#1.40 ua/2.1 os/linux lang/python exec-env/AWS_Lambda_python3.12"
    return cloudtrail.envelope(drift.event["source"], body)


def published_emails(topic_arn: str) -> list[str]:
    """The `email` body of every message the topic published (moto records them; it sends no mail)."""
    from moto.sns import sns_backends

    topic = sns_backends[ACCOUNT_ID][REGION].topics[topic_arn]
    return [json.loads(message)["email"] for _, message, *_ in topic.sent_notifications]


def inbox_messages(inbox_url: str) -> list[dict[str, Any]]:
    sqs = boto3.client("sqs")
    messages: list[dict[str, Any]] = []
    while batch := sqs.receive_message(QueueUrl=inbox_url, MaxNumberOfMessages=10).get("Messages", []):
        for message in batch:
            messages.append(json.loads(json.loads(message["Body"])["Message"]))
            sqs.delete_message(QueueUrl=inbox_url, ReceiptHandle=message["ReceiptHandle"])
    return messages


def reevaluate(
    arch: RefArch, extra_groups: list[str], injected: list[drifts.Drift]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every control over every resource of its type, read-only: (non-compliant findings, exempt ones)."""
    from phiguard.core.control import all_controls
    from phiguard.core.model import ResourceRef, Status
    from phiguard.core.settings import Settings
    from phiguard.core.wiring import build_engine

    engine = build_engine(Settings.from_env())
    resources = {
        "AWS::S3::Bucket": [arch.bucket, arch.trail_bucket, arch.sandbox_bucket, arch.log_bucket],
        "AWS::::Account": [arch.account_id],
        "AWS::KMS::Key": [arch.kms_key_arn.rsplit("/", 1)[-1], arch.backup_key_arn.rsplit("/", 1)[-1]],
        "AWS::CloudTrail::Trail": [arch.trail_arn],
        "AWS::RDS::DBInstance": [arch.db_instance, "phi-scratch-mysql"],
        "AWS::ACM::Certificate": [
            d.resource_id for d in injected if d.control_id == "acm-certificate-expiration-check"
        ],
        "AWS::RDS::DBCluster": ["phi-aurora-reports"],
        "AWS::RDS::DBSnapshot": ["phi-mysql-nightly"],
        "AWS::RDS::DBClusterSnapshot": ["phi-aurora-reports-nightly"],
        "AWS::EC2::Volume": [d.resource_id for d in injected if d.control_id == "encrypted-volumes"],
        "AWS::EC2::SecurityGroup": [*arch.groups.values(), arch.default_group, *extra_groups],
        "AWS::EC2::VPC": [arch.vpc_id],
        "AWS::EC2::Subnet": list(arch.subnets.values()),
        "AWS::EC2::Instance": [d.resource_id for d in injected if d.control_id == "ec2-instance-no-public-ip"],
        "AWS::ElasticLoadBalancingV2::LoadBalancer": list(arch.load_balancers.values()),
        "PHIGuard::AWS::Service": [d.resource_id for d in injected if d.control_id == "hipaa-eligible-services-only"],
    }
    findings, exempt = [], []
    for control_class in all_controls():
        control = control_class(engine.context)
        for resource_id in resources.get(control.resource_type, []):
            ref = ResourceRef(control.resource_type, resource_id, REGION, ACCOUNT_ID)
            evaluation = control.evaluate(ref)
            if evaluation.status is Status.NON_COMPLIANT:
                verdict = engine.exemption_for(control, ref)
                finding = {
                    "action": str(control.action),
                    "control_id": control.control_id,
                    "resource_id": resource_id,
                    "violations": [v.summary for v in evaluation.violations],
                }
                (exempt if verdict and verdict.honoured else findings).append(finding)
    return findings, exempt


def remediated(drift: drifts.Drift, arch: RefArch, after: dict[str, Any], remaining: list[dict[str, Any]]) -> bool:
    """The headline drifts are checked on the state read back, independently of PHI Guard's code; the rest of
    the catalogue by the read-only re-evaluation of every control."""
    checks = {
        "s3-default-encryption-kms": lambda: state.bucket_encrypted_with_kms(after, drift.resource_id),
        "vpc-sg-restricted-ports": lambda: state.group_world_open_only_on(after, drift.resource_id, {80, 443}),
        "alb-http-to-https-redirection-check": lambda: state.http_listeners_redirect(after, drift.resource_id),
        "db-no-bastion-access": lambda: state.group_excludes_source(after, drift.resource_id, arch.groups["bastion"]),
    }
    if drift.control_id in checks:
        return checks[drift.control_id]()
    return not any(f["control_id"] == drift.control_id and f["resource_id"] == drift.resource_id for f in remaining)


def scheduled(drift: drifts.Drift, rows: list[Row]) -> bool:
    """A fix AWS applies later (Multi-AZ in the maintenance window) is reported as scheduled, not done."""
    return any(
        r["control_id"] == drift.control_id
        and r["resource"]["id"] == drift.resource_id
        and any(v["detail"].get("scheduled") for v in r.get("violations", []))
        for _, r in rows
        if "resource" in r
    )


def _legitimate(snapshot: dict[str, Any]) -> dict[str, Any]:
    """Everything but what PHI Guard must leave as it is: the exempt bucket's drift, and notify-only drifts."""
    kept = {k: v for k, v in snapshot.items() if k != "exempt_bucket_encryption"}
    kept["security_groups"] = {
        tier: {**group, "ingress": [r for r in group["ingress"] if r.get("Description") != drifts.LEFT_FOR_A_PERSON]}
        for tier, group in snapshot["security_groups"].items()
    }
    return kept


def legitimate_preserved(baseline: dict[str, Any], after: dict[str, Any]) -> dict[str, bool]:
    """Everything that was compliant before the drifts is exactly as it was."""
    frontend_lb = after["security_groups"]["frontend-lb"]["ingress"]
    https = [
        (baseline["load_balancers"][t]["listeners"]["HTTPS:443"], after["load_balancers"][t]["listeners"]["HTTPS:443"])
        for t in ("frontend", "backend")
    ]
    return {
        "whole_state_equals_baseline": _legitimate(baseline) == _legitimate(after),
        "frontend_lb_world_443_80": all(
            any(r.get(k) == cidr and r["FromPort"] == port for r in frontend_lb)
            for port in (80, 443)
            for k, cidr in (("CidrIpv4", "0.0.0.0/0"), ("CidrIpv6", "::/0"))
        ),
        "backend_to_database_rule": _legitimate(baseline)["security_groups"]["database"]
        == _legitimate(after)["security_groups"]["database"],
        "https_listeners": all(before == now for before, now in https),
    }


Row = tuple[drifts.Drift, dict[str, Any]]


def deliver(bus: LocalEventBus, drift: drifts.Drift) -> list[Row]:
    if drift.scheduled_only:  # what the scheduled sweep does for it: the engine's evaluation of the resource
        from phiguard.core.model import ResourceRef
        from phiguard.handlers.remediate import engine

        control = get_control(drift.control_id)
        ref = ResourceRef(control.resource_type, drift.resource_id, REGION, ACCOUNT_ID)
        return [(drift, engine().run(control(engine().context), ref, None).to_json())]
    delivered = bus.route(drift.event)
    if not delivered:
        return [(drift, {"outcome": "NOT ROUTED", "control_id": drift.control_id, "changes": []})]
    return [(drift, result) for event in delivered for result in invoke(event)]


def wait_for_next_window(seconds: int) -> None:
    time.sleep(seconds - time.time() % seconds + 0.05)


def brake_phase(arch: RefArch, bus: LocalEventBus) -> tuple[list[Row], list[Row], list[str]]:
    """A burst above the brake's limit in one window: the first fixes go through, the rest are held;
    when the window has passed the brake has released by itself and the held drifts are fixed."""
    from phiguard.handlers import remediate

    os.environ.update(
        PHIGUARD_BRAKE_MAX_FIXES=str(BRAKE_LIMIT), PHIGUARD_BRAKE_WINDOW_SECONDS=str(BRAKE_WINDOW_SECONDS)
    )
    remediate.engine.cache_clear()  # as a redeploy with these two parameters would
    burst = drifts.ssh_burst(arch, BURST)
    wait_for_next_window(BRAKE_WINDOW_SECONDS)  # the burst's events all arrive in one fresh window
    rows = [row for drift in burst for row in deliver(bus, drift)]
    held = [d for d, r in rows if r["control_id"] == d.control_id and r["outcome"] == "held"]
    wait_for_next_window(BRAKE_WINDOW_SECONDS)
    again = []
    for drift in held:  # seen again after the window (the scheduled sweep's job; here, the event again)
        event = json.loads(json.dumps(drift.event))
        event["detail"]["eventID"] += "-after-window"
        again += deliver(bus, drifts.Drift(drift.control_id, drift.resource_id, drift.description, event))
    return rows, again, [d.resource_id for d in burst]


class SweepContextStub(LambdaContextStub):
    function_name = "phiguard-sweep"
    invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:phiguard-sweep"

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 900_000


def sweep_phase(arch: RefArch) -> dict[str, Any]:
    """A drift no event reports (made before PHI Guard was deployed, or its event lost): the sweep finds it."""
    s3 = boto3.client("s3")
    s3.put_bucket_versioning(Bucket=arch.bucket, VersioningConfiguration={"Status": "Suspended"})
    started = time.time()
    outcome = sweep.lambda_handler({"source": "aws.events", "detail-type": "Scheduled Event"}, SweepContextStub())
    recorded = [
        r for r in DynamoEvidence(Clients(), EVIDENCE_TABLE, 2190).rows() if r.get("event_name") == "ScheduledSweep"
    ]
    rows = [r for r in recorded if r["outcome"] == "remediated"]
    return {
        "outcomes": outcome["outcomes"],
        "evidence_rows": len(recorded),  # one per notified outcome; only the fixes are messages of their own
        "done": outcome["done"],
        "seconds": round(time.time() - started, 1),
        "fixed": sorted(f"{r['control_id']} {r['resource_id']}" for r in rows),
        "unreported_drift_fixed": s3.get_bucket_versioning(Bucket=arch.bucket).get("Status") == "Enabled"
        and any(r["control_id"] == "s3-bucket-versioning-enabled" and r["resource_id"] == arch.bucket for r in rows),
    }


def compliance_reports(out: Path) -> list[Path]:
    """The account's final posture, through the code of `phiguard report` (every format)."""
    from datetime import UTC, datetime, timedelta

    from phiguard.core.control import all_controls
    from phiguard.core.settings import Settings
    from phiguard.core.sweep import Walker
    from phiguard.core.wiring import build_engine
    from phiguard_cli import posture

    settings = Settings.from_env()
    since = datetime.now(UTC) - timedelta(days=1)
    fixed = posture.fixed_since(settings, Clients(), since)
    walker = Walker(Clients(), ACCOUNT_ID, [REGION], all_controls())
    document = posture.compliance_report(build_engine(settings), walker, fixed, since)
    return posture.write_reports(document, out)


# --- the channels: what a Slack webhook and an e-mail reader received -------------------------------------------


@contextmanager
def webhook_receiver() -> Iterator[tuple[str, list[bytes]]]:
    """A Slack incoming webhook on 127.0.0.1 (a free port): (its URL, every POST body as received)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    received: list[bytes] = []

    class Webhook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers.get("Content-Length", 0))))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the request line holds the webhook's secret path

    server = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/services/T0DEMO/B0DEMO/demo-webhook-token", received
    finally:
        server.shutdown()
        server.server_close()


def published_messages(topic_arn: str) -> list[tuple[str, str, dict[str, str]]]:
    """(message id, subject, the body of each protocol) of every message the topic published, in order."""
    from moto.sns import sns_backends

    topic = sns_backends[ACCOUNT_ID][REGION].topics[topic_arn]
    return [
        (message_id, subject or "", json.loads(message))
        for message_id, message, subject, *_ in topic.sent_notifications
    ]


def slack_event(topic_arn: str, message_id: str, subject: str, body: str) -> dict[str, Any]:
    """What SNS hands a subscribed function (moto does not run Lambda): one record with the lambda body."""
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic_arn}:demo-slack",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id,
                    "TopicArn": topic_arn,
                    "Subject": subject,
                    "Message": body,
                    "Timestamp": "1970-01-01T00:00:00.000Z",
                    "SignatureVersion": "1",
                    "Signature": "DEMO",
                    "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/demo.pem",
                    "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
                    "MessageAttributes": {},
                },
            }
        ]
    }


def _about(lambda_body: str) -> str:
    """The control a message is about, for its file name ("alert" for alerts about PHI Guard itself)."""
    data = json.loads(lambda_body)
    if data.get("kind") == "digest":
        return f"summary-{data['first']['control_id']}"
    return str(data.get("control_id") or data.get("kind") or "message")


def deliver_channels(deployment: Deployment, out: Path) -> dict[str, int]:
    """Every published message through the Slack notifier to a local webhook, and its e-mail body to a file:
    build/demo/slack/NNN-<control>.json (the exact POST bodies) and build/demo/email/NNN-<control>.txt."""
    import shutil

    from phiguard.handlers import slack as slack_handler

    published = published_messages(deployment.topic_arn)
    slack_dir, email_dir = out / "slack", out / "email"
    for directory in (slack_dir, email_dir):
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True)
    with webhook_receiver() as (url, received), lambda_logs_to(out / "slack.log"):
        secret = boto3.client("secretsmanager").create_secret(Name="phiguard/slack-webhook", SecretString=url)
        os.environ.update(PHIGUARD_SLACK_WEBHOOK_SECRET_ARN=secret["ARN"], PHIGUARD_ALLOW_LOOPBACK_WEBHOOK="true")
        slack_handler.settings.cache_clear()
        for n, (message_id, subject, bodies) in enumerate(published, 1):
            name = f"{n:03d}-{_about(bodies['lambda'])}"
            (email_dir / f"{name}.txt").write_text(bodies["email"])
            posted = len(received)
            event = slack_event(deployment.topic_arn, message_id, subject, bodies["lambda"])
            slack_handler.lambda_handler(event, LambdaContextStub())  # type: ignore[arg-type]
            for body in received[posted:]:
                (slack_dir / f"{name}.json").write_bytes(body)
    return {
        "published": len(published),
        "slack": len(received),
        "slack_files": len(list(slack_dir.glob("*.json"))),
        "email": len(list(email_dir.glob("*.txt"))),
    }


def run(out: Path = OUT, mode: str = "enforce") -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    print("Building the HIPAA reference architecture in the embedded AWS ...")
    arch = build()
    deployment = deploy(mode, arch)
    bus = LocalEventBus()
    baseline = state.snapshot(arch)
    drift_count = len(drifts.HEADLINE_DRIFTS) + len(drifts.CATALOGUE_DRIFTS)
    print(f"Mode: {mode}. Injecting {drift_count} drifts the way a person would ...")
    injected = [inject(arch) for inject in (*drifts.HEADLINE_DRIFTS, *drifts.CATALOGUE_DRIFTS)]
    drifted = state.snapshot(arch)
    rows: list[Row] = []
    ignored = []
    with lambda_logs_to(out / "lambda.log"):
        for drift in injected:
            rows += deliver(bus, drift)
            if drift.scheduled_only:
                continue
            echo = echo_event(drift, deployment.role_arn)
            ignored.append((drift.event["source"], echo["detail"]["eventName"], [invoke(e) for e in bus.route(echo)]))
        failed_call = cloudtrail.envelope(
            "aws.ec2",
            cloudtrail.detail(
                "ec2",
                "AuthorizeSecurityGroupIngress",
                injected[1].event["detail"]["requestParameters"],
                None,
                error_code="Client.UnauthorizedOperation",
            ),
        )
        failed_routed = bus.route(failed_call)
        print(
            f"A bad rollout: {BURST} groups opened to the world at once (brake limit {BRAKE_LIMIT} fixes "
            f"per {BRAKE_WINDOW_SECONDS} s in this demo; 50 per hour by default) ..."
        )
        burst_rows, again_rows, burst_groups = brake_phase(arch, bus) if mode == "enforce" else ([], [], [])
    after = state.snapshot(arch)
    remaining, exempt = reevaluate(arch, burst_groups, injected)
    print("A drift no event reported (versioning suspended before PHI Guard was deployed): the scheduled sweep ...")
    with lambda_logs_to(out / "sweep.log"):
        swept = sweep_phase(arch) if mode == "enforce" else {}
    after_sweep = state.snapshot(arch)
    messages = inbox_messages(deployment.inbox_url)
    emails = published_emails(deployment.topic_arn)
    preserved = legitimate_preserved(baseline, after_sweep)  # the events and the sweep together
    preserved["their_bucket_policy_statements_kept"] = "OnlyThroughTheVpcEndpoint" in state.policy_sids(arch.bucket)
    preserved["snapshot_share_with_their_account_kept"] = state.snapshot_shares("phi-mysql-nightly") == ["111122223333"]
    evidence = list(DynamoEvidence(Clients(), EVIDENCE_TABLE, 2190).rows())
    all_rows = rows + burst_rows + again_rows
    alerts = [m for m in messages if m.get("kind") == "alert"]
    brake_alerts = [m for m in alerts if "brake" in m.get("subject", "")]
    burst_outcomes = [r["outcome"] for d, r in burst_rows if r["control_id"] == d.control_id]
    report = {
        "drifts": [
            {
                "control_id": d.control_id,
                "resource_id": d.resource_id,
                "description": d.description,
                "remediated": remediated(d, arch, after, remaining),
                "exempt": d.exempt,
                "action": str(get_control(d.control_id).action),
                "scheduled": scheduled(d, rows),
            }
            for d in injected
        ],
        "still_non_compliant": len(remaining),  # notify-only drifts stay by design; a fix left over is a failure
        "fixable_left": sum(1 for f in remaining if f["action"] == "fix"),
        "notify_only_drifts": sum(1 for d in injected if get_control(d.control_id).action == "notify"),
        "legitimate_rules_preserved": all(preserved.values()),
        "notifications": len(messages),
        "published": len(emails),
        "expected_notifications": sum(1 for _, r in all_rows if r["outcome"] not in ("compliant", "not_applicable"))
        + len(alerts)
        + len(swept.get("fixed", [])),  # the sweep tells each fix; the rest goes into its one summary alert
        "evidence_rows": len(evidence),
        "exemptions_honoured": sum(1 for d, r in rows if d.exempt and r["outcome"] == "exempt"),
        "exempt_left_alone": state.bucket_encryption_unchanged(drifted, after_sweep, arch.sandbox_bucket),
        "sweep": swept,
        "brake": {
            "limit": BRAKE_LIMIT,
            "window_seconds": BRAKE_WINDOW_SECONDS,
            "burst": BURST,
            "fixed": burst_outcomes.count("remediated"),
            "held": burst_outcomes.count("held"),
            "critical_alerts": len(brake_alerts),
            "fixed_after_window": sum(
                1 for d, r in again_rows if r["control_id"] == d.control_id and r["outcome"] == "remediated"
            ),
        },
        "checks": preserved,
        "remaining_findings": remaining,
        "exempt_findings": exempt,
        "own_calls_ignored": all(not any(results) for _, _, results in ignored),
        "failed_call_routed": bool(failed_routed),
        "mode": mode,
    }
    (out / "state.json").write_text(
        json.dumps({"baseline": baseline, "drifted": drifted, "after": after}, indent=2, sort_keys=True, default=str)
    )
    (out / "report.json").write_text(json.dumps(report, indent=2, sort_keys=True))
    (out / "notifications.json").write_text(json.dumps(messages, indent=2, sort_keys=True))
    (out / "evidence.json").write_text(render_evidence(sorted(evidence, key=lambda r: r["evidence_id"]), "json"))
    report["compliance_reports"] = [str(p) for p in compliance_reports(out)]
    print("Every message through the Slack notifier to a local webhook, and as the e-mail reader gets it ...")
    report["channels"] = deliver_channels(deployment, out)
    (out / "report.json").write_text(json.dumps(report, indent=2, sort_keys=True))
    show(rows, burst_rows + again_rows, ignored, failed_routed, emails, evidence, report, out)
    return report


def show(  # noqa: PLR0917 - the parts of one report
    rows: list[Row],
    brake_rows: list[Row],
    ignored: list[tuple[str, str, Any]],
    failed_routed: list[dict[str, Any]],
    emails: list[str],
    evidence: list[dict[str, Any]],
    report: dict[str, Any],
    out: Path,
) -> None:
    print("\nWhat PHI Guard did (one block per drift; every control the event concerns)")
    for drift in [d for n, (d, _) in enumerate(rows) if all(d is not e for e, _ in rows[:n])]:
        print(f"\n  {drift.description}")
        for d, result in rows:
            if d is drift:
                changes = result.get("changes") or [result.get("exemption") or result.get("reason") or "-"]
                print(f"    {result['control_id']:<38} {result['outcome']:<16} {changes[0]}")
                for change in changes[1:]:
                    print(f"    {'':<38} {'':<16} {change}")
    print("\nLoop prevention: PHI Guard's own calls coming back as events")
    for source, name, results in ignored:
        print(f"  {source} {name} by PHI Guard's role -> {'ignored' if not any(results) else results}")
    print(f"A failed call (errorCode present) -> {'routed (wrong!)' if failed_routed else 'filtered out by the rule'}")
    brake = report["brake"]
    if brake_rows:
        print(
            f"\nBlast-radius brake: {brake['burst']} drifts in one window, limit {brake['limit']}: "
            f"{brake['fixed']} fixed, {brake['held']} held (notify-only), {brake['critical_alerts']} critical "
            f"alert; after the window: {brake['fixed_after_window']} held drifts fixed (the brake released itself)"
        )
    print(
        f"\nNotifications: {report['notifications']} received by the SQS subscriber, {report['published']} "
        f"published. The first of each outcome, as an e-mail reader sees it (all: {out / 'notifications.json'}):"
    )
    shown: set[str] = set()
    for n, email in enumerate(emails, 1):
        headline = email.splitlines()[0]
        if headline not in shown:
            shown.add(headline)
            print(f"\n======== e-mail {n} of {len(emails)} ========\n{email}")
    print(f"Evidence: {len(evidence)} rows in the evidence table (exported to {out / 'evidence.json'})")
    print(render_evidence(sorted(evidence, key=lambda r: r["evidence_id"]), "table"))
    print("Result")
    for drift in report["drifts"]:
        status = (
            "exempt, left alone"
            if drift["exempt"]
            else "notified (by design)"
            if drift["action"] == "notify"
            else "fixed"
            if drift["remediated"]
            else "NOT FIXED"
        )
        print(f"  {status:<20} {drift['control_id']:<38} {drift['resource_id']}")
    print(
        f"  still non-compliant: {report['still_non_compliant']} (notify-only, by design: "
        f"{report['notify_only_drifts']}; exempt: {len(report['exempt_findings'])})"
    )
    for name, ok in report["checks"].items():
        print(f"  {'ok  ' if ok else 'FAIL'}  legitimate: {name}")
    sweep = report.get("sweep") or {}
    if sweep:
        print(f"\nScheduled sweep ({sweep['seconds']} s): {sweep['outcomes']}")
        print(f"  {'ok  ' if sweep['unreported_drift_fixed'] else 'FAIL'}  the drift no event reported was fixed")
        for line in sweep["fixed"]:
            print(f"  fixed: {line}")
    channels = report["channels"]
    print(
        f"\nChannels: {channels['published']} messages published; the Slack webhook (127.0.0.1) received "
        f"{channels['slack']} POSTs ({out / 'slack'}), the e-mail subscriber {channels['email']} e-mails "
        f"({out / 'email'})"
    )
    print(f"\nWrote {out / 'state.json'}, {out / 'report.json'}; the function's log lines: {out / 'lambda.log'}")
    print(f"HIPAA compliance report of the final state: {', '.join(report['compliance_reports'])}")


def succeeded(report: dict[str, Any]) -> bool:
    brake = report["brake"]
    return (
        all(d["remediated"] != (d["exempt"] or d["action"] == "notify") for d in report["drifts"])
        and report["exempt_left_alone"]
        and report["legitimate_rules_preserved"]
        and report["fixable_left"] == 0
        and report["still_non_compliant"] == report["notify_only_drifts"]
        and report["own_calls_ignored"]
        and not report["failed_call_routed"]
        and report["notifications"] == report["published"] == report["expected_notifications"]
        and report["exemptions_honoured"] == sum(d["exempt"] for d in report["drifts"])
        and brake["fixed"] == brake["limit"]
        and brake["held"] == brake["burst"] - brake["limit"] == brake["fixed_after_window"]
        and brake["critical_alerts"] == 1
        and (report["mode"] != "enforce" or report["sweep"]["unreported_drift_fixed"])
        and len(report["compliance_reports"]) == 3
        and report["channels"]["slack"] == report["channels"]["email"] == report["channels"]["published"]
        and report["channels"]["published"] == report["published"]
        and report["channels"]["slack_files"] == report["channels"]["slack"]
    )


def main() -> int:
    with embedded_aws() as endpoint:
        print(f"Embedded AWS (moto server) at {endpoint}; fake credentials, no real account is reachable.")
        report = run()
    ok = succeeded(report)
    print("\nDEMO PASSED: every drift fixed, nothing legitimate changed." if ok else "\nDEMO FAILED: see above.")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
