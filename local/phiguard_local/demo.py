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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from phiguard_local import cloudtrail, drifts, state
from phiguard_local.embedded import ACCOUNT_ID, REGION, embedded_aws
from phiguard_local.eventbus import LocalEventBus
from phiguard_local.refarch import RefArch, build
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


def deploy(mode: str, kms_key_arn: str) -> Deployment:
    sns, sqs, iam = boto3.client("sns"), boto3.client("sqs"), boto3.client("iam")
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
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "lambda.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    os.environ.update(
        {
            "PHIGUARD_MODE": mode,
            "PHIGUARD_TOPIC_ARN": topic_arn,
            "PHIGUARD_SELF_ROLE_ARNS": role_arn,
            "PHIGUARD_S3_KMS_KEY_ID": kms_key_arn,
            "POWERTOOLS_SERVICE_NAME": "phiguard",
            "POWERTOOLS_METRICS_NAMESPACE": "PHIGuard",
            "POWERTOOLS_TRACE_DISABLED": "true",
        }
    )
    return Deployment(topic_arn, role_arn, inbox_url)


@contextmanager
def lambda_logs_to(path: Path) -> Iterator[None]:
    """The function's structured log lines go to a file, so the demo's output stays readable."""
    from phiguard.handlers import remediate

    remediate.engine.cache_clear()
    handlers = logging.getLogger("phiguard").handlers
    with path.open("w") as log:
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


def reevaluate(arch: RefArch) -> list[dict[str, Any]]:
    """Every control over every resource of its type in the architecture, read-only."""
    from phiguard.core.aws import Clients
    from phiguard.core.control import Context, all_controls
    from phiguard.core.model import ResourceRef, Status
    from phiguard.core.settings import Settings

    context = Context(Settings.from_env(), Clients())
    resources = {
        "AWS::S3::Bucket": [arch.bucket, arch.trail_bucket],
        "AWS::EC2::SecurityGroup": list(arch.groups.values()),
        "AWS::ElasticLoadBalancingV2::LoadBalancer": list(arch.load_balancers.values()),
    }
    findings = []
    for control in all_controls():
        for resource_id in resources[control.resource_type]:
            ref = ResourceRef(control.resource_type, resource_id, REGION, ACCOUNT_ID)
            evaluation = control(context).evaluate(ref)
            if evaluation.status is Status.NON_COMPLIANT:
                findings.append(
                    {
                        "control_id": control.control_id,
                        "resource_id": resource_id,
                        "violations": [v.summary for v in evaluation.violations],
                    }
                )
    return findings


def remediated(drift: drifts.Drift, arch: RefArch, after: dict[str, Any]) -> bool:
    checks = {
        "s3-default-encryption-kms": lambda: state.bucket_encrypted_with_kms(after, drift.resource_id),
        "vpc-sg-restricted-ports": lambda: state.group_world_open_only_on(after, drift.resource_id, {80, 443}),
        "alb-http-to-https-redirection-check": lambda: state.http_listeners_redirect(after, drift.resource_id),
        "db-no-bastion-access": lambda: state.group_excludes_source(after, drift.resource_id, arch.groups["bastion"]),
    }
    return checks[drift.control_id]()


def legitimate_preserved(baseline: dict[str, Any], after: dict[str, Any]) -> dict[str, bool]:
    """Everything that was compliant before the drifts is exactly as it was."""
    frontend_lb = after["security_groups"]["frontend-lb"]["ingress"]
    return {
        "whole_state_equals_baseline": baseline == after,
        "frontend_lb_world_443_80": all(
            any(r.get(k) == cidr and r["FromPort"] == port for r in frontend_lb)
            for port in (80, 443)
            for k, cidr in (("CidrIpv4", "0.0.0.0/0"), ("CidrIpv6", "::/0"))
        ),
        "backend_to_database_rule": baseline["security_groups"]["database"] == after["security_groups"]["database"],
        "https_listeners": all(
            baseline["load_balancers"][t]["listeners"]["HTTPS:443"]
            == after["load_balancers"][t]["listeners"]["HTTPS:443"]
            for t in ("frontend", "backend")
        ),
    }


def run(out: Path = OUT, mode: str = "enforce") -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    print("Building the HIPAA reference architecture in the embedded AWS ...")
    arch = build()
    deployment = deploy(mode, arch.kms_key_arn)
    bus = LocalEventBus()
    baseline = state.snapshot(arch)
    print(f"Mode: {mode}. Injecting {len(drifts.HEADLINE_DRIFTS)} drifts the way a person would ...")
    injected = [inject(arch) for inject in drifts.HEADLINE_DRIFTS]
    drifted = state.snapshot(arch)
    rows, ignored = [], []
    with lambda_logs_to(out / "lambda.log"):
        for drift in injected:
            delivered = bus.route(drift.event)
            for event in delivered:
                for result in invoke(event):
                    rows.append((drift, result))
            if not delivered:
                rows.append((drift, {"outcome": "NOT ROUTED", "control_id": drift.control_id, "changes": []}))
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
    after = state.snapshot(arch)
    remaining = reevaluate(arch)
    messages = inbox_messages(deployment.inbox_url)
    emails = published_emails(deployment.topic_arn)
    preserved = legitimate_preserved(baseline, after)

    report = {
        "drifts": [
            {
                "control_id": d.control_id,
                "resource_id": d.resource_id,
                "description": d.description,
                "remediated": remediated(d, arch, after),
            }
            for d in injected
        ],
        "still_non_compliant": len(remaining),
        "legitimate_rules_preserved": all(preserved.values()),
        "notifications": len(messages),
        "published": len(emails),
        "checks": preserved,
        "remaining_findings": remaining,
        "own_calls_ignored": all(not any(results) for _, _, results in ignored),
        "failed_call_routed": bool(failed_routed),
        "mode": mode,
    }
    (out / "state.json").write_text(
        json.dumps({"baseline": baseline, "drifted": drifted, "after": after}, indent=2, sort_keys=True, default=str)
    )
    (out / "report.json").write_text(json.dumps(report, indent=2, sort_keys=True))
    (out / "notifications.json").write_text(json.dumps(messages, indent=2, sort_keys=True))
    show(rows, ignored, failed_routed, emails, report, out)
    return report


def show(  # noqa: PLR0917 - the parts of one report
    rows: list[tuple[drifts.Drift, dict[str, Any]]],
    ignored: list[tuple[str, str, Any]],
    failed_routed: list[dict[str, Any]],
    emails: list[str],
    report: dict[str, Any],
    out: Path,
) -> None:
    print("\nWhat PHI Guard did")
    line = f"{'drift':<58} {'control':<38} {'outcome':<16} change"
    print(line)
    print("-" * len(line))
    for drift, result in rows:
        changes = result.get("changes") or ["-"]
        for i, change in enumerate(changes):
            first = i == 0
            print(
                f"{drift.description[:57] if first else '':<58} {result['control_id'] if first else '':<38} "
                f"{result['outcome'] if first else '':<16} {change}"
            )
    print("\nLoop prevention: PHI Guard's own calls coming back as events")
    for source, name, results in ignored:
        print(f"  {source} {name} by PHI Guard's role -> {'ignored' if not any(results) else results}")
    print(f"A failed call (errorCode present) -> {'routed (wrong!)' if failed_routed else 'filtered out by the rule'}")
    print(
        f"\nNotifications: {report['notifications']} received by the SQS subscriber, "
        f"{report['published']} published. As an email reader sees them:"
    )
    for n, email in enumerate(emails, 1):
        print(f"\n======== e-mail {n} of {len(emails)} ========\n{email}")
    print("Result")
    for drift in report["drifts"]:
        print(
            f"  {'fixed  ' if drift['remediated'] else 'NOT FIXED'}  {drift['control_id']:<38} {drift['resource_id']}"
        )
    print(f"  still non-compliant: {report['still_non_compliant']}")
    for name, ok in report["checks"].items():
        print(f"  {'ok  ' if ok else 'FAIL'}  legitimate: {name}")
    print(f"\nWrote {out / 'state.json'}, {out / 'report.json'}; the function's log lines: {out / 'lambda.log'}")


def succeeded(report: dict[str, Any]) -> bool:
    return (
        all(d["remediated"] for d in report["drifts"])
        and report["legitimate_rules_preserved"]
        and report["still_non_compliant"] == 0
        and report["own_calls_ignored"]
        and not report["failed_call_routed"]
        and report["notifications"] == len(report["drifts"])
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
