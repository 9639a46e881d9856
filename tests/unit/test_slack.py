"""Slack: the Block Kit message a person reads, and a delivery that is never silently dropped.

The webhook is an HTTP receiver on 127.0.0.1 (the demo's receiver works the same way); the webhook URL is
a secret in moto's Secrets Manager; the SNS message is the one the topic really carries for Lambda (the
publisher publishes it to moto, an SQS subscriber shows the body). Lambda's retry is a second invocation
with the same event.
"""

from __future__ import annotations

import io
import json
import logging
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from helpers import ref
from phiguard.core.aws import Clients
from phiguard.core.model import Actor, Mode, Outcome, Result, Severity, Violation
from phiguard.core.settings import Settings, SettingsError
from phiguard.handlers import slack as slack_handler
from phiguard.notify import slack
from phiguard.notify.console import console_url
from phiguard.notify.digest import Digest
from phiguard.notify.sns import SnsPublisher
from phiguard_local.demo import LambdaContextStub

TOKEN = "T0AAAAAAA/B0BBBBBBB/s3cr3tW3bh00kT0k3n"  # the secret part of a webhook URL
ACTOR = Actor(
    arn="arn:aws:sts::123456789012:assumed-role/Admin/jane.doe@example.com",
    principal_type="AssumedRole",
    session_issuer_arn="arn:aws:iam::123456789012:role/Admin",
    event_time="2026-11-30T14:01:07Z",
    event_name="AuthorizeSecurityGroupIngress",
    event_id="8f7c1f2e-0001",
)


# --- the receiver ----------------------------------------------------------------------------------


@dataclass
class Received:
    path: str
    content_type: str
    body: bytes

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


@dataclass
class Receiver:
    """A Slack incoming webhook on 127.0.0.1: records every POST, answers with the statuses it is given."""

    port: int
    received: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answered in order; 200 once they run out
    delay: float = 0.0

    def url(self, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}/services/{TOKEN}"

    @property
    def messages(self) -> list[dict[str, Any]]:
        return [r.json() for r in self.received]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(port=0)

    class Webhook(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.received.append(Received(self.path, self.headers.get("Content-Type", ""), body))
            time.sleep(state.delay)
            status = state.statuses.pop(0) if state.statuses else 200
            reply = b"ok" if status == 200 else b"internal_error"
            self.send_response(status)
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the request line holds the token; the receiver is not under test

    server = ThreadingHTTPServer(("127.0.0.1", 0), Webhook)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


# --- the deployed function's world: the secret, its environment ------------------------------------


@pytest.fixture
def webhook(aws: None, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], str]:
    """Stores a secret value and points the function at it (loopback allowed, as in a local run)."""
    client = boto3.client("secretsmanager")
    arn = client.create_secret(Name="phiguard/slack", SecretString=receiver.url())["ARN"]
    monkeypatch.setenv("PHIGUARD_SLACK_WEBHOOK_SECRET_ARN", arn)
    monkeypatch.setenv("PHIGUARD_ALLOW_LOOPBACK_WEBHOOK", "true")
    slack_handler.settings.cache_clear()

    def store(value: str) -> str:
        client.put_secret_value(SecretId=arn, SecretString=value)
        return arn

    return store


@pytest.fixture(autouse=True)
def fresh_settings() -> Iterator[None]:
    slack_handler.settings.cache_clear()
    yield
    slack_handler.settings.cache_clear()


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
        "state_before": {"ingress_rules": [{"CidrIpv4": "0.0.0.0/0", "FromPort": 22}], "group_name": "backend"},
        "state_after": {"ingress_rules": [], "group_name": "backend"},
        "evidence_id": "ev-0001",
    }
    values.update(fields)
    return Result(**values)  # type: ignore[arg-type]


NOTIFY_ONLY = result(
    Outcome.NEEDS_ATTENTION,
    control_id="rds-storage-encrypted",
    title="RDS storage is encrypted at rest",
    hipaa=("164.312(a)(2)(iv)",),
    resource=ref("AWS::RDS::DBInstance", "patients-db"),
    violations=(
        Violation(
            "storage of patients-db is not encrypted",
            None,
            manual_steps=(
                "Take a snapshot of patients-db.",
                "Copy the snapshot with encryption on (KMS key of your choice).",
                "Restore a new instance from the encrypted copy and switch the application to it.",
            ),
        ),
    ),
    changes=(),
    state_before={"StorageEncrypted": False},
    state_after=None,
)
NOTIFY_ONLY = replace(NOTIFY_ONLY, remaining=NOTIFY_ONLY.violations)


def published(publish: Callable[[SnsPublisher], None]) -> str:
    """The message body the topic carries for a Lambda subscriber (the sqs and lambda bodies are the same)."""
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="phiguard")["TopicArn"]
    queue = sqs.create_queue(QueueName="subscriber")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    publish(SnsPublisher(Clients(), topic))
    [message] = sqs.receive_message(QueueUrl=queue)["Messages"]
    body: str = json.loads(message["Body"])["Message"]
    return body


def sns_event(message: str) -> dict[str, Any]:
    """What SNS hands a subscribed function."""
    topic = "arn:aws:sns:us-east-1:123456789012:phiguard-NotificationTopic-1A2B3C"
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic}:0d7f1e2c-0001",
                "Sns": {
                    "Type": "Notification",
                    "MessageId": "95df01b4-ee98-5cb9-9903-4c221d41eb5e",
                    "TopicArn": topic,
                    "Subject": "PHI Guard",
                    "Message": message,
                    "Timestamp": "2026-11-30T14:01:09.000Z",
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLE",
                    "SigningCertUrl": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-0000.pem",
                    "UnsubscribeUrl": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe",
                    "MessageAttributes": {},
                },
            }
        ]
    }


def invoke(message: str) -> dict[str, int]:
    return slack_handler.lambda_handler(sns_event(message), LambdaContextStub())  # type: ignore[arg-type]


def sections(message: dict[str, Any]) -> dict[str, str]:
    """{title: text} of the message's titled sections ("*Title*\\n...")."""
    found = {}
    for block in message["blocks"]:
        text = block.get("text", {}).get("text", "")
        if block["type"] == "section" and text.startswith("*") and "\n" in text:
            title, _, rest = text.partition("\n")
            found[title.strip("*")] = rest
    return found


def fields(message: dict[str, Any]) -> dict[str, str]:
    found = {}
    for block in message["blocks"]:
        for item in block.get("fields", []):
            title, _, rest = item["text"].partition("\n")
            found[title.strip("*")] = rest
    return found


def header(message: dict[str, Any]) -> str:
    [block] = [b for b in message["blocks"] if b["type"] == "header"]
    text: str = block["text"]["text"]
    return text


# --- what people read -------------------------------------------------------------------------------


def test_a_fix_is_posted_with_what_was_wrong_what_changed_who_when_where_and_a_console_link(
    webhook: Callable[[str], str], receiver: Receiver
) -> None:
    message = published(lambda publisher: publisher(result()))

    assert invoke(message) == {"posted": 1}

    [post] = receiver.received
    assert post.path == f"/services/{TOKEN}"
    assert post.content_type.startswith("application/json")
    body = post.json()
    assert body == slack.render(message)
    assert header(body) == ":white_check_mark: Fixed: vpc-sg-restricted-ports"
    text = sections(body)
    assert text["What was wrong"] == "• tcp 22 is open to the world (0.0.0.0/0)"
    assert text["What PHI Guard changed"] == "• revoke rule sgr-1 (tcp 22 from 0.0.0.0/0)"
    assert "What a person must do" not in text
    short = text["Before / after, in short"]
    assert 'ingress_rules: [{"CidrIpv4": "0.0.0.0/0", "FromPort": 22}] → []' in short
    assert "group_name" not in short  # unchanged keys are left out
    facts = fields(body)
    link = console_url("AWS::EC2::SecurityGroup", "sg-0a1b2c3d4e5f60001", "us-east-1")
    assert link == "https://console.aws.amazon.com/ec2/home?region=us-east-1#SecurityGroup:groupId=sg-0a1b2c3d4e5f60001"
    assert facts["Resource"].startswith(f"<{link}|sg-0a1b2c3d4e5f60001>")
    assert facts["Account / region"] == "123456789012 / us-east-1"
    assert facts["Control"] == "`vpc-sg-restricted-ports`"
    assert facts["HIPAA"] == "45 CFR 164.312(a)(1), 164.312(e)(1)"
    assert facts["Changed by"] == ACTOR.arn
    assert facts["When"] == "2026-11-30T14:01:07Z (AuthorizeSecurityGroupIngress)"
    assert facts["Mode"] == "enforce"
    assert facts["Evidence"] == "ev-0001"
    assert body["text"].startswith("PHI Guard: Fixed: vpc-sg-restricted-ports on sg-0a1b2c3d4e5f60001")


def test_a_notify_only_finding_is_posted_with_the_manual_steps_and_no_claim_of_a_change(
    webhook: Callable[[str], str], receiver: Receiver
) -> None:
    message = published(lambda publisher: publisher(NOTIFY_ONLY))

    invoke(message)

    [body] = receiver.messages
    assert header(body) == ":warning: Action needed: rds-storage-encrypted"
    text = sections(body)
    assert text["What was wrong"] == "• storage of patients-db is not encrypted"
    assert text["What a person must do"] == (
        "• storage of patients-db is not encrypted\n"
        "    1. Take a snapshot of patients-db.\n"
        "    2. Copy the snapshot with encryption on (KMS key of your choice).\n"
        "    3. Restore a new instance from the encrypted copy and switch the application to it."
    )
    assert "What PHI Guard changed" not in text
    assert "nothing was changed" in text["Before / after, in short"]
    assert fields(body)["Resource"].startswith(
        "<https://console.aws.amazon.com/rds/home?region=us-east-1#database:id=patients-db;is-cluster=false|"
    )
    assert fields(body)["HIPAA"] == "45 CFR 164.312(a)(2)(iv)"


def test_an_alert_about_phiguard_itself_is_posted_with_its_severity_subject_and_text(
    webhook: Callable[[str], str], receiver: Receiver
) -> None:
    subject = "PHI Guard CRITICAL: blast-radius brake engaged in 123456789012"
    text = "51 fixes in the last hour; PHI Guard is notify-only until 15:00 UTC."
    message = published(lambda publisher: publisher.alert(subject, text, "critical"))

    invoke(message)

    [body] = receiver.messages
    assert header(body) == ":rotating_light: PHI Guard alert (critical)"
    assert sections(body) == {subject: text}
    assert body["text"] == f"PHI Guard alert (critical): {subject}"


def test_an_unparseable_message_is_posted_as_plain_text(webhook: Callable[[str], str], receiver: Receiver) -> None:
    invoke("Someone published this by hand: <b>disk</b> & more")

    assert receiver.messages == [{"text": "Someone published this by hand: &lt;b&gt;disk&lt;/b&gt; &amp; more"}]


def test_json_that_is_not_a_result_is_posted_as_text_too(webhook: Callable[[str], str], receiver: Receiver) -> None:
    invoke('{"outcome": "remediated", "note": "half a result"}')

    assert receiver.messages == [{"text": '{"outcome": "remediated", "note": "half a result"}'}]


def test_the_failure_queue_alarm_reads_as_an_alarm(webhook: Callable[[str], str], receiver: Receiver) -> None:
    alarm = {
        "AlarmName": "phiguard-FailureQueueAlarm-1A2B",
        "AlarmDescription": "PHI Guard could not process an event; it waits in the failure queue.",
        "AWSAccountId": "123456789012",
        "NewStateValue": "ALARM",
        "OldStateValue": "OK",
        "NewStateReason": "Threshold Crossed: 1 datapoint [1.0] was greater than the threshold (0.0).",
        "StateChangeTime": "2026-11-30T14:06:00.000+0000",
        "AlarmArn": "arn:aws:cloudwatch:us-east-1:123456789012:alarm:phiguard-FailureQueueAlarm-1A2B",
    }

    invoke(json.dumps(alarm))

    [body] = receiver.messages
    assert header(body) == ":rotating_light: Alarm ALARM: phiguard-FailureQueueAlarm-1A2B"
    assert "waits in the failure queue" in sections(body)["What happened"]
    assert fields(body)["Console"] == (
        "<https://console.aws.amazon.com/cloudwatch/home?region=us-east-1#alarmsV2:alarm/"
        "phiguard-FailureQueueAlarm-1A2B|the alarm>"
    )


@pytest.mark.parametrize(
    "stored",
    [
        pytest.param(lambda url: url, id="plain URL"),
        pytest.param(lambda url: json.dumps({"url": url}), id="url key"),
        pytest.param(lambda url: json.dumps({"webhook_url": url}), id="webhook_url key"),
    ],
)
def test_the_secret_holds_the_url_plain_or_as_json(
    webhook: Callable[[str], str], receiver: Receiver, stored: Callable[[str], str]
) -> None:
    webhook(stored(receiver.url()))

    invoke(published(lambda publisher: publisher(result())))

    assert len(receiver.received) == 1


# --- delivery failures: raised for Lambda's retries and the failure destination -------------------


def test_a_500_raises_after_slack_saw_it_and_the_retry_delivers_the_same_message(
    webhook: Callable[[str], str], receiver: Receiver
) -> None:
    message = published(lambda publisher: publisher(result()))
    receiver.statuses = [500]

    with pytest.raises(slack.SlackDeliveryError, match="HTTP 500: internal_error") as raised:
        invoke(message)

    assert raised.value.status == 500
    assert len(receiver.received) == 1  # it reached Slack, which refused it

    assert invoke(message) == {"posted": 1}  # Lambda's retry: the same event again

    first, second = receiver.received
    assert first.body == second.body


def test_a_timeout_raises(webhook: Callable[[str], str], receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(slack_handler, "TIMEOUT_SECONDS", 0.2)
    receiver.delay = 1.0

    with pytest.raises(slack.SlackDeliveryError, match=r"could not be reached: .*timed out"):
        invoke(published(lambda publisher: publisher(result())))


def test_an_unreachable_webhook_raises(receiver: Receiver) -> None:
    with pytest.raises(slack.SlackDeliveryError, match="could not be reached"):
        slack.post("http://127.0.0.1:9/services/x", {"text": "hello"}, 2, allow_loopback=True)


def test_a_redirect_is_not_followed(receiver: Receiver) -> None:
    receiver.statuses = [302]

    with pytest.raises(slack.SlackDeliveryError, match="HTTP 302"):
        slack.post(receiver.url(), {"text": "hello"}, 2, allow_loopback=True)


# --- only https; loopback http only when a local run allows it -------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://hooks.slack.com/services/" + TOKEN,
        "http://10.0.0.5/services/" + TOKEN,
        "ftp://hooks.slack.com/services/" + TOKEN,
        "hooks.slack.com/services/" + TOKEN,
        "https:///services/" + TOKEN,
        "https://hooks.slack.com/services/ " + TOKEN,
    ],
)
def test_anything_but_https_is_refused_even_when_loopback_is_allowed(url: str, receiver: Receiver) -> None:
    with pytest.raises(slack.WebhookRefused) as refused:
        slack.post(url, {"text": "hello"}, 2, allow_loopback=True)

    assert TOKEN not in str(refused.value)
    assert receiver.received == []


def test_loopback_http_is_refused_without_the_setting(
    webhook: Callable[[str], str], receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PHIGUARD_ALLOW_LOOPBACK_WEBHOOK")

    with pytest.raises(slack.WebhookRefused, match="PHIGUARD_ALLOW_LOOPBACK_WEBHOOK=true"):
        invoke(published(lambda publisher: publisher(result())))

    assert receiver.received == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_loopback_http_is_accepted_with_the_setting(host: str) -> None:
    slack.check_url(f"http://{host}:8080/services/x", allow_loopback=True)
    with pytest.raises(slack.WebhookRefused):
        slack.check_url(f"http://{host}:8080/services/x")


def test_the_loopback_setting_is_off_by_default_and_validated() -> None:
    assert Settings.from_env({}).allow_loopback_webhook is False
    assert Settings.from_env({"PHIGUARD_ALLOW_LOOPBACK_WEBHOOK": "true"}).allow_loopback_webhook is True
    with pytest.raises(SettingsError, match="PHIGUARD_ALLOW_LOOPBACK_WEBHOOK"):
        Settings.from_env({"PHIGUARD_ALLOW_LOOPBACK_WEBHOOK": "yes"})
    with pytest.raises(SettingsError, match="PHIGUARD_SLACK_WEBHOOK_SECRET_ARN"):
        Settings.from_env({"PHIGUARD_SLACK_WEBHOOK_SECRET_ARN": "phiguard/slack"})


@pytest.mark.parametrize(
    "value", ["", "   ", "{}", '{"url": ""}', '{"channel": "TOKEN"}', '{"url": ["TOKEN"]}', "{TOKEN, not json"]
)
def test_a_secret_without_a_url_is_refused_without_showing_it(value: str) -> None:
    with pytest.raises(slack.WebhookRefused, match="the webhook secret") as refused:
        slack.webhook_url(value.replace("TOKEN", TOKEN))

    assert TOKEN not in str(refused.value)


# --- the URL is a secret ---------------------------------------------------------------------------


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> Iterator[Callable[[], str]]:
    """Everything logged: PHI Guard's own logger (at DEBUG) and, through the root logger, the libraries'."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(slack_handler.logger.registered_formatter)
    own = logging.getLogger(slack_handler.logger.name)
    own.addHandler(handler)
    level = own.level
    own.setLevel(logging.DEBUG)
    caplog.set_level(logging.INFO)
    yield lambda: stream.getvalue() + "\n" + caplog.text
    own.setLevel(level)
    own.removeHandler(handler)


def test_the_webhook_url_never_appears_in_logs_or_errors(
    webhook: Callable[[str], str],
    receiver: Receiver,
    logs: Callable[[], str],
    capfd: pytest.CaptureFixture[str],
) -> None:
    message = published(lambda publisher: publisher(result()))
    receiver.statuses = [500]

    with pytest.raises(slack.SlackDeliveryError) as raised:
        invoke(message)
    invoke(message)
    with pytest.raises(slack.WebhookRefused) as refused:
        slack.post("http://hooks.slack.com/services/" + TOKEN, {"text": "x"}, 2)

    captured = logs()
    assert "slack refused the message" in captured  # the capture works
    assert "posted to slack" in captured
    out, err = capfd.readouterr()
    for text in (
        captured,
        out,
        err,
        str(raised.value),
        "".join(traceback.format_exception(raised.value)),
        "".join(traceback.format_exception(refused.value)),
    ):
        assert TOKEN not in text
        assert "s3cr3t" not in text


# --- Slack's limits --------------------------------------------------------------------------------


def test_a_huge_result_stays_within_slacks_limits_and_says_it_was_shortened() -> None:
    many = tuple(
        Violation(f"rule {n} <{'x' * 80}> & more", None, manual_steps=(f"step for rule {n} " + "y" * 100,))
        for n in range(400)
    )
    huge = result(
        Outcome.FAILED,
        title="T" * 5000,
        resource=ref("AWS::S3::Bucket", "b" * 63),
        violations=many,
        remaining=many,
        changes=tuple(f"change {n} " + "z" * 100 for n in range(400)),
        error="AccessDenied: " + "e" * 5000,
        state_before={f"key{n}": "v" * 500 for n in range(100)},
        state_after={f"key{n}": "w" * 500 for n in range(100)},
    )

    message = slack.render(json.dumps(huge.to_json()))

    assert len(message["blocks"]) <= 50
    assert len(message["text"]) <= 3000
    assert len(header(message)) <= 150
    for block in message["blocks"]:
        if "text" in block:
            assert len(block["text"]["text"]) <= 3000
        assert all(len(f["text"]) <= 2000 for f in block.get("fields", []))
        assert len(block.get("fields", [])) <= 10
    text = sections(message)
    assert text["What was wrong"].endswith("… (shortened)")
    assert "\n" in text["What was wrong"] and not text["What was wrong"].split("\n")[-2].endswith("&amp")
    assert text["Why it failed"].startswith("```AccessDenied") and text["Why it failed"].endswith("```")
    assert "more differences (the evidence row has them all)```" in text["Before / after, in short"]


def test_a_compact_result_without_its_states_says_where_they_are() -> None:
    omitted = {"omitted": "too large for a notification; see evidence row ev-9"}
    data = {**result(evidence_id="ev-9").to_json(), "state_before": omitted, "state_after": omitted}

    message = slack.render(json.dumps(data))

    assert "see evidence row ev-9" in sections(message)["Before / after, in short"]


# --- console links ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("resource_type", "resource_id", "region", "expected"),
    [
        ("AWS::S3::Bucket", "phi-data", "us-east-1", "s3/buckets/phi-data?region=us-east-1&tab=properties"),
        (
            "AWS::S3::Bucket",
            "arn:aws:s3:::phi-data",
            "us-east-1",
            "s3/buckets/phi-data?region=us-east-1&tab=properties",
        ),
        ("AWS::EC2::SecurityGroup", "sg-0abc", "eu-west-1", "ec2/home?region=eu-west-1#SecurityGroup:groupId=sg-0abc"),
        (
            "AWS::ElasticLoadBalancingV2::LoadBalancer",
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc",
            "us-east-1",
            "ec2/home?region=us-east-1#LoadBalancer:loadBalancerArn="
            "arn%3Aaws%3Aelasticloadbalancing%3Aus-east-1%3A123456789012%3Aloadbalancer%2Fapp%2Fweb%2F50dc",
        ),
        (
            "AWS::RDS::DBInstance",
            "patients-db",
            "us-east-1",
            "rds/home?region=us-east-1#database:id=patients-db;is-cluster=false",
        ),
        (
            "AWS::RDS::DBCluster",
            "phi-aurora",
            "us-east-1",
            "rds/home?region=us-east-1#database:id=phi-aurora;is-cluster=true",
        ),
        (
            "AWS::CloudTrail::Trail",
            "arn:aws:cloudtrail:us-east-1:123456789012:trail/org",
            "us-east-1",
            "cloudtrailv2/home?region=us-east-1#/trails/arn%3Aaws%3Acloudtrail%3Aus-east-1%3A123456789012%3Atrail%2Forg",
        ),
        ("AWS::CloudTrail::Trail", "org", "us-east-1", "cloudtrailv2/home?region=us-east-1#/trails"),
        (
            "AWS::KMS::Key",
            "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab",
            "us-east-1",
            "kms/home?region=us-east-1#/kms/keys/1234abcd-12ab",
        ),
        ("AWS::KMS::Key", "1234abcd-12ab", "us-east-1", "kms/home?region=us-east-1#/kms/keys/1234abcd-12ab"),
        ("AWS::KMS::Key", "alias/phi", "us-east-1", "kms/home?region=us-east-1#/kms/keys"),
        ("AWS::EC2::Volume", "vol-0abc", "us-east-1", "ec2/home?region=us-east-1#VolumeDetails:volumeId=vol-0abc"),
        ("AWS::EC2::Instance", "i-0abc", "us-east-1", "ec2/home?region=us-east-1#InstanceDetails:instanceId=i-0abc"),
        ("AWS::EC2::VPC", "vpc-0abc", "us-east-1", "vpcconsole/home?region=us-east-1#VpcDetails:VpcId=vpc-0abc"),
        ("AWS::EC2::VPC", "*", "us-east-1", "vpcconsole/home?region=us-east-1#vpcs:"),
        (
            "AWS::EC2::Subnet",
            "subnet-0abc",
            "us-east-1",
            "vpcconsole/home?region=us-east-1#SubnetDetails:subnetId=subnet-0abc",
        ),
        ("AWS::RDS::DBClusterSnapshot", "snap", "us-east-1", "rds/home?region=us-east-1"),
        ("AWS::::Account", "123456789012", "us-east-1", "console/home?region=us-east-1"),
    ],
)
def test_every_resource_type_gets_a_console_link(
    resource_type: str, resource_id: str, region: str, expected: str
) -> None:
    assert console_url(resource_type, resource_id, region) == f"https://console.aws.amazon.com/{expected}"


def test_console_links_follow_the_partition() -> None:
    assert console_url("AWS::EC2::Volume", "vol-1", "us-gov-west-1").startswith("https://console.amazonaws-us-gov.com/")
    assert console_url("AWS::EC2::Volume", "vol-1", "cn-north-1").startswith("https://console.amazonaws.cn/")


# --- severity and the summary of a burst ----------------------------------------------------------------------


def test_the_severity_the_topic_carries_is_shown(webhook: Callable[[str], str], receiver: Receiver) -> None:
    invoke(published(lambda publisher: publisher(result(Outcome.FAILED, error="AccessDenied"))))

    [body] = receiver.messages
    assert fields(body)["Severity"] == "critical"


def test_the_summary_of_a_burst_is_posted_with_its_count_and_where_to_see_them_all(
    webhook: Callable[[str], str], receiver: Receiver
) -> None:
    digest = Digest(
        first=replace(result(), state_before={}, state_after=None),
        severity=Severity.HIGH,
        count=49,
        window_seconds=300,
        first_at="2026-11-30T14:01:07Z",
        last_at="2026-11-30T14:05:58Z",
        last_actor=ACTOR.arn,
        last_evidence_id="ev-0050",
    )

    invoke(published(lambda publisher: publisher.digest(digest)))

    [body] = receiver.messages
    assert header(body) == ":white_check_mark: 49 more: Fixed: vpc-sg-restricted-ports"
    assert "within 300 seconds of the first" in body["blocks"][1]["text"]["text"]
    facts = fields(body)
    assert facts["Severity"] == "high" and facts["Evidence of the last"] == "ev-0050"
    assert facts["Last"] == f"2026-11-30T14:05:58Z by {ACTOR.arn}"
    assert body["text"].startswith("PHI Guard: 49 more: Fixed: vpc-sg-restricted-ports on sg-0a1b2c3d4e5f60001")
