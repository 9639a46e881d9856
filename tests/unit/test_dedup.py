"""Alert storms: a burst about one drift is one message and one summary, never fifty; evidence stays per event.

The engine runs against moto with every rail on; the topic has an SQS subscriber (the inbox) and the summary
requests go to a real (moto) digest queue, delayed by the window. The digest handler is driven with the very
message that comes out of that queue once the delay has passed, as Lambda's SQS poller would.
"""

from __future__ import annotations

import functools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from helpers import (
    STATE_TABLE,
    Clock,
    FaultyClients,
    authorize,
    evidence_rows,
    group,
    load_event,
    make_rails_engine,
    rails_tables,
    ref,
    vpc,
)
from moto.sns import sns_backends
from phiguard.core.aws import Clients
from phiguard.core.engine import Engine
from phiguard.core.model import Mode, Outcome, Result
from phiguard.core.settings import Settings
from phiguard.core.wiring import build_engine
from phiguard.handlers import digest as digest_handler
from phiguard.notify.dedup import GRACE_SECONDS, Deduplicating, DedupStore, Digester
from phiguard.notify.sns import SnsPublisher
from phiguard_local.demo import LambdaContextStub

pytestmark = pytest.mark.usefixtures("aws")
CONTROL = "vpc-sg-restricted-ports"
WINDOW = 1  # seconds: the summary request's SQS delay in these tests (a deployment's default is 300)


@dataclass
class World:
    topic_arn: str
    inbox_url: str
    digest_url: str
    clock: Clock

    def notifier(self, clients: Clients | None = None, window: int = WINDOW) -> Deduplicating:
        clients = clients or Clients()
        store = DedupStore(clients, STATE_TABLE, window, self.clock)
        return Deduplicating(SnsPublisher(clients, self.topic_arn), store, self.digest_url)

    def engine(self, clients: Clients | None = None, window: int = WINDOW) -> Engine:
        clients = clients or Clients()
        engine, _ = make_rails_engine(clients=clients, clock=self.clock, brake_max_fixes=1000)
        engine.notify = self.notifier(clients, window)
        return engine

    def messages(self) -> list[dict[str, Any]]:
        """What the topic delivered to its SQS subscriber: (attributes, the sqs body) of each message."""
        sqs, found = boto3.client("sqs"), []
        while batch := sqs.receive_message(QueueUrl=self.inbox_url, MaxNumberOfMessages=10).get("Messages", []):
            for message in batch:
                body = json.loads(message["Body"])
                found.append({"attributes": body["MessageAttributes"], **json.loads(body["Message"])})
                sqs.delete_message(QueueUrl=self.inbox_url, ReceiptHandle=message["ReceiptHandle"])
        return found

    def summary_requests(self, wait: float = WINDOW + 2.0) -> list[dict[str, Any]]:
        """The digest queue's messages as Lambda's SQS poller receives them, once their delay has passed."""
        sqs, found = boto3.client("sqs"), []
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            batch = sqs.receive_message(QueueUrl=self.digest_url, MaxNumberOfMessages=10).get("Messages", [])
            found += batch
            if not batch and found and not self.waiting_requests():
                break
            time.sleep(0.1)
        return found

    def waiting_requests(self) -> int:
        """Summary requests on the digest queue, delayed or already due."""
        attributes = boto3.client("sqs").get_queue_attributes(
            QueueUrl=self.digest_url,
            AttributeNames=["ApproximateNumberOfMessagesDelayed", "ApproximateNumberOfMessages"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessagesDelayed"]) + int(attributes["ApproximateNumberOfMessages"])


@pytest.fixture
def world(monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    rails_tables()
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="phiguard")["TopicArn"]
    inbox = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
    digest_url = sqs.create_queue(QueueName="phiguard-digest")["QueueUrl"]
    monkeypatch.setenv("PHIGUARD_TOPIC_ARN", topic)
    monkeypatch.setenv("PHIGUARD_STATE_TABLE", STATE_TABLE)
    monkeypatch.setenv("PHIGUARD_DEDUP_WINDOW_SECONDS", str(WINDOW))
    digest_handler.digester.cache_clear()
    yield World(topic, inbox, digest_url, Clock())
    digest_handler.digester.cache_clear()


def open_group(name: str = "backend-sg") -> str:
    g = group(vpc(), name)
    authorize(g, 22, cidrs=("0.0.0.0/0",))
    return g


def event(group_id: str, n: int) -> dict[str, Any]:
    found = load_event("ec2-authorize-sg-ingress-ssh-world.json", backend_sg=group_id)
    found["detail"]["eventID"] = f"burst-{group_id}-{n:04d}"
    return found


def burst(engine: Engine, group_id: str, size: int) -> list[Result]:
    """A script re-opening SSH to the world `size` times; PHI Guard closes it each time."""
    results = []
    for n in range(size):
        if n:
            authorize(group_id, 22, cidrs=("0.0.0.0/0",))
        results += [r for r in engine.handle_event(event(group_id, n)) if r.control_id == CONTROL]
    return results


def sqs_event(messages: list[dict[str, Any]]) -> dict[str, Any]:
    """The event Lambda's SQS poller passes to the digest function."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {},
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:phiguard-digest",
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


def close_windows(world: World) -> dict[str, Any]:
    """The window has passed: the delayed summary requests come out of the queue into the digest handler."""
    world.clock.now += WINDOW + 1
    return digest_handler.lambda_handler(sqs_event(world.summary_requests()), LambdaContextStub())  # type: ignore[arg-type]


def summaries(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m.get("kind") == "digest"]


def test_a_burst_of_50_events_on_one_resource_is_one_message_then_one_summary_with_the_other_49(
    world: World,
) -> None:
    g = open_group()
    engine = world.engine()

    results = burst(engine, g, 50)

    # When: the burst is over, before the window closes
    assert [r.outcome for r in results] == [Outcome.REMEDIATED] * 50  # every event still fixed
    rows = [r for r in evidence_rows() if r["control_id"] == CONTROL]
    assert len(rows) == 50 and all(r["outcome"] == "remediated" for r in rows)  # evidence per event, as always
    [first] = world.messages()
    assert (first["control_id"], first["outcome"], first["resource"]["id"]) == (CONTROL, "remediated", g)
    assert first["attributes"]["severity"]["Value"] == "high"
    assert world.waiting_requests() == 1  # the summary request, delayed by the window

    # Then: when the window closes, one summary with the other 49
    response = close_windows(world)

    assert response == {"batchItemFailures": []}
    [summary] = world.messages()
    assert summary["kind"] == "digest" and summary["count"] == 49
    assert summary["first"]["control_id"] == CONTROL and summary["first"]["resource"]["id"] == g
    assert summary["first"]["outcome"] == "remediated"
    assert summary["last_evidence_id"] == results[-1].evidence_id
    assert summary["severity"] == "high"


def test_the_summary_reads_well_in_every_channel(world: World) -> None:
    g = open_group()
    burst(world.engine(), g, 4)
    world.messages()
    close_windows(world)

    notifications = sns_backends["123456789012"]["us-east-1"].topics[world.topic_arn].sent_notifications
    bodies = json.loads(notifications[-1][1])  # every protocol's body, as moto recorded the publish
    assert "3 more event(s) about vpc-sg-restricted-ports on " + g in bodies["email"]
    assert "within 1 seconds of the first" in bodies["email"]
    assert f"phiguard evidence --control {CONTROL} --resource {g}" in bodies["email"]
    chat = json.loads(bodies["https"])
    assert (chat["version"], chat["source"]) == ("1.0", "custom")
    assert chat["content"]["title"].endswith(f"3 more: Fixed: {CONTROL} on {g}")
    assert "summary" in chat["content"]["keywords"]


def test_different_resources_are_not_merged(world: World) -> None:
    a, b = open_group("backend-a"), open_group("backend-b")
    engine = world.engine()

    burst(engine, a, 3)
    burst(engine, b, 2)

    firsts = world.messages()
    assert sorted(m["resource"]["id"] for m in firsts) == sorted([a, b])
    close_windows(world)
    counts = {m["first"]["resource"]["id"]: m["count"] for m in summaries(world.messages())}
    assert counts == {a: 2, b: 1}


def test_a_different_outcome_on_the_same_resource_is_sent_at_once(world: World) -> None:
    g = open_group()
    clients = FaultyClients()
    engine = world.engine(clients)
    burst(engine, g, 2)  # fixed, then fixed again (counted)

    clients.fail("RevokeSecurityGroupIngress", "UnauthorizedOperation")
    authorize(g, 22, cidrs=("0.0.0.0/0",))
    with pytest.raises(Exception, match="failed"):
        engine.handle_event(event(g, 99))

    assert [(m["outcome"], m["attributes"]["severity"]["Value"]) for m in world.messages()] == [
        ("remediated", "high"),
        ("failed", "critical"),  # a new story is told at once, never held for the window
    ]


def test_a_window_with_nothing_more_sends_no_summary(world: World) -> None:
    burst(world.engine(), open_group(), 1)
    assert len(world.messages()) == 1

    assert close_windows(world) == {"batchItemFailures": []}
    assert world.messages() == []


def test_a_summary_request_delivered_twice_sends_one_summary(world: World) -> None:
    burst(world.engine(), open_group(), 3)
    world.messages()
    world.clock.now += WINDOW + 1
    requests = world.summary_requests()

    digest_handler.lambda_handler(sqs_event(requests), LambdaContextStub())  # type: ignore[arg-type]
    digest_handler.lambda_handler(sqs_event(requests), LambdaContextStub())  # type: ignore[arg-type]

    assert [m["count"] for m in summaries(world.messages())] == [2]


def test_after_the_window_the_next_event_is_sent_at_once_again(world: World) -> None:
    g = open_group()
    engine = world.engine()
    burst(engine, g, 3)
    close_windows(world)
    world.messages()

    authorize(g, 22, cidrs=("0.0.0.0/0",))
    engine.handle_event(event(g, 500))

    [message] = world.messages()
    assert message["outcome"] == "remediated" and message.get("kind") is None


def test_window_zero_turns_de_duplication_off(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    settings = Settings(
        topic_arn=world.topic_arn, state_table=STATE_TABLE, digest_queue_url=world.digest_url, dedup_window_seconds=0
    )
    assert isinstance(build_engine(settings).notify, SnsPublisher)
    assert isinstance(build_engine(replace(settings, dedup_window_seconds=300)).notify, Deduplicating)
    assert Settings.from_env({"PHIGUARD_DEDUP_WINDOW_SECONDS": "0"}).dedup_window_seconds == 0
    for bad in ("-1", "901", "five"):
        with pytest.raises(ValueError, match="PHIGUARD_DEDUP_WINDOW_SECONDS"):
            Settings.from_env({"PHIGUARD_DEDUP_WINDOW_SECONDS": bad})

    g = open_group()
    engine, _ = make_rails_engine(brake_max_fixes=1000)
    engine.notify = build_engine(settings).notify
    burst(engine, g, 5)

    assert len(world.messages()) == 5
    assert world.waiting_requests() == 0


def test_a_store_failure_fails_open_the_message_is_sent_and_the_error_logged(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    g = open_group()
    clients = FaultyClients()
    notifier = world.notifier(clients)
    clients.fail("PutItem", "ProvisionedThroughputExceededException", "slow down", 400)
    clients.fail("UpdateItem", "ProvisionedThroughputExceededException", "slow down", 400)

    for n in range(3):
        notifier(_remediated(g, n))

    assert [m["evidence_id"] for m in world.messages()] == ["ev-0", "ev-1", "ev-2"]  # nothing lost
    assert caplog.text.count("de-duplication store failed: the message is sent anyway") == 3
    assert "ProvisionedThroughputExceededException" in caplog.text


def _remediated(group_id: str, n: int) -> Result:
    return Result(
        control_id=CONTROL,
        title="Security groups admit the world only on the authorized public ports",
        hipaa=("164.312(a)(1)",),
        resource=ref("AWS::EC2::SecurityGroup", group_id),
        outcome=Outcome.REMEDIATED,
        mode=Mode.ENFORCE,
        actor=None,
        changes=("revoke rule sgr-1 (tcp 22 from 0.0.0.0/0)",),
        evidence_id=f"ev-{n}",
    )


def test_a_first_message_that_cannot_be_published_is_sent_by_the_retry_not_counted(world: World) -> None:
    g = open_group()
    clients = FaultyClients()
    notifier = world.notifier(clients)
    clients.fail("Publish", "InternalError", "try again", 500)

    with pytest.raises(Exception, match="InternalError"):
        notifier(_remediated(g, 1))
    clients.heal()
    notifier(_remediated(g, 1))  # Lambda's retry of the same event

    assert [m["evidence_id"] for m in world.messages()] == ["ev-1"]


def test_a_window_whose_summary_never_came_is_told_by_the_next_first_message(world: World) -> None:
    g = open_group()
    notifier = world.notifier()
    for n in range(4):
        notifier(_remediated(g, n))
    world.messages()

    world.clock.now += WINDOW + GRACE_SECONDS + 1  # the digest queue was down for longer than the grace
    notifier(_remediated(g, 10))

    messages = world.messages()
    assert [m.get("kind") for m in messages] == [None, "digest"]
    assert messages[1]["count"] == 3


def test_the_digester_refuses_what_is_not_a_summary_request(world: World) -> None:
    digester = Digester(
        DedupStore(Clients(), STATE_TABLE, WINDOW, world.clock), SnsPublisher(Clients(), world.topic_arn)
    )
    with pytest.raises(ValueError, match="not a summary request"):
        digester({"kind": "something else"})


def test_a_summary_that_cannot_be_published_is_retried_by_sqs_and_sent_once(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    burst(world.engine(), open_group(), 3)
    world.messages()
    world.clock.now += WINDOW + 1
    requests = world.summary_requests()
    clients = FaultyClients()
    store = DedupStore(clients, STATE_TABLE, WINDOW, world.clock)
    faulty = functools.cache(lambda: Digester(store, SnsPublisher(clients, world.topic_arn)))
    monkeypatch.setattr(digest_handler, "digester", faulty)

    clients.fail("Publish", "InternalError", "try again", 500)
    with pytest.raises(BatchProcessingError):  # the invocation fails: SQS keeps the request and retries it
        digest_handler.lambda_handler(sqs_event(requests), LambdaContextStub())  # type: ignore[arg-type]
    clients.heal()
    retried = digest_handler.lambda_handler(sqs_event(requests), LambdaContextStub())  # type: ignore[arg-type]

    assert retried == {"batchItemFailures": []}
    assert [m["count"] for m in summaries(world.messages())] == [2]
