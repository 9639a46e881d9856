"""Scenarios of hipaa-eligible-services-only: the call is the evidence, so only the handler path needs moto."""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
import pytest
from helpers import ACCOUNT, REGION, SELF_ROLE, load_event, make_engine, ref
from phiguard.controls.hipaa_eligible_services_only import (
    SERVICE_TYPE,
    HipaaEligibleServicesOnly,
    outside_the_list,
    shipped,
)
from phiguard.core.control import triggered_by
from phiguard.core.events import api_call_from_event
from phiguard.core.model import ANY, ApiCall, Outcome, Status, Trigger
from phiguard.core.settings import Settings, SettingsError
from phiguard.notify.render import email_text

SAMPLE = "managedblockchain-create-network.json"
NOT_ELIGIBLE = "managedblockchain.amazonaws.com"
PERSON = f"arn:aws:sts::{ACCOUNT}:assumed-role/Admin/jane.doe@example.com"
# The services PHI Guard and the reference architecture use, and the account services every account calls.
IN_USE = [
    f"{name}.amazonaws.com"
    for name in (
        *("s3", "ec2", "elasticloadbalancing", "rds", "cloudtrail", "kms", "iam", "sts", "sns", "sqs", "lambda"),
        *("dynamodb", "logs", "monitoring", "events", "config", "ssm", "secretsmanager", "acm", "autoscaling"),
        *("cloudformation", "organizations", "signin"),
    )
]


def event(**detail: Any) -> dict[str, Any]:
    """The sample event (a person creates an Amazon Managed Blockchain network), with detail fields changed."""
    sample = load_event(SAMPLE)
    sample["detail"].update(detail)
    return sample


def call(**detail: Any) -> ApiCall:
    return api_call_from_event(event(**detail))


def concerns_us(api_call: ApiCall) -> bool:
    return HipaaEligibleServicesOnly in [control for control, _ in triggered_by(api_call)]


def test_given_a_write_call_to_a_service_that_is_not_hipaa_eligible_then_a_person_is_told_who_called_what_where_and_the_steps() -> (  # noqa: E501 - the scenario's name
    None
):
    engine, inbox = make_engine()

    [result] = engine.handle_call(call())

    assert (result.control_id, result.outcome) == (HipaaEligibleServicesOnly.control_id, Outcome.NEEDS_ATTENTION)
    assert (result.resource.resource_type, result.resource.resource_id) == (SERVICE_TYPE, NOT_ELIGIBLE)
    assert inbox.results == [result]
    text = email_text(result)
    assert f"Changed by: {PERSON}" in text  # who
    assert "CreateNetwork" in text and NOT_ELIGIBLE in text  # what
    assert f"Account:    {ACCOUNT}   Region: {REGION}" in text  # where
    [violation] = result.remaining
    assert f"in account {ACCOUNT}, region {REGION}" in violation.summary
    assert any("HipaaEligibleServicesExtra" in step for step in violation.manual_steps)
    assert any("stop: move that work to a HIPAA-eligible service" in step for step in violation.manual_steps)
    assert result.state_before == {"event_source": NOT_ELIGIBLE, "service": None, "allowed_as": None}


@pytest.mark.parametrize("event_source", IN_USE)
def test_given_a_write_call_to_a_hipaa_eligible_service_then_the_control_is_not_triggered(event_source: str) -> None:
    engine, _ = make_engine()
    write = call(eventSource=event_source, eventName="TagResource")

    assert write.writes and not outside_the_list(write)
    assert not concerns_us(write)
    evaluation = HipaaEligibleServicesOnly(engine.context).evaluate(ref(SERVICE_TYPE, event_source))
    assert evaluation.status is Status.COMPLIANT
    assert evaluation.state["service"]


def test_given_a_read_only_call_to_a_service_that_is_not_hipaa_eligible_then_the_control_is_not_triggered() -> None:
    engine, inbox = make_engine()

    assert engine.handle_call(call(eventName="ListNetworks", readOnly=True)) == []
    assert inbox.results == []


@pytest.mark.parametrize(
    ("event_name", "writes"),
    [
        ("ListNetworks", False),
        ("GetNetwork", False),
        ("DescribeSomething", False),
        ("CreateNetwork", True),
        ("DeleteMember", True),
        ("VoteOnProposal", True),
    ],
)
def test_given_an_event_without_read_only_then_describe_list_get_calls_count_as_reads_and_the_other_calls_as_writes(
    event_name: str, writes: bool
) -> None:
    without = event(eventName=event_name)
    del without["detail"]["readOnly"]
    api_call = api_call_from_event(without)

    assert api_call.read_only is None
    assert (api_call.writes, concerns_us(api_call)) == (writes, writes)


def test_given_a_service_the_deployment_allows_with_hipaa_eligible_services_extra_then_compliant_and_nothing_is_notified() -> (  # noqa: E501 - the scenario's name
    None
):
    engine, inbox = make_engine(hipaa_eligible_services=(NOT_ELIGIBLE,))

    [result] = engine.handle_call(call())

    assert result.outcome is Outcome.COMPLIANT
    assert "HipaaEligibleServicesExtra" in result.state_before["allowed_as"]
    assert inbox.results == []


@pytest.mark.parametrize(
    ("identity", "who"),
    [
        ({"type": "AWSService", "invokedBy": "servicecatalog.amazonaws.com"}, "servicecatalog.amazonaws.com"),
        (None, "unknown"),  # no userIdentity at all: still reported, the caller is unknown
    ],
)
def test_given_a_write_call_made_by_an_aws_service_itself_then_that_service_is_named_as_who(
    identity: dict[str, str] | None, who: str
) -> None:
    engine, inbox = make_engine()

    [result] = engine.handle_call(call(userIdentity=identity, sourceIPAddress="servicecatalog.amazonaws.com"))

    assert result.outcome is Outcome.NEEDS_ATTENTION
    assert result.actor is not None and result.actor.session_issuer_arn is None
    assert result.actor.display == who
    assert f"Changed by: {who}" in email_text(inbox.results[0])


def test_given_the_sample_event_through_the_handler_then_it_needs_attention_and_one_message_is_sent(
    aws: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from phiguard.handlers.remediate import lambda_handler
    from phiguard_local.demo import LambdaContextStub

    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="phiguard")["TopicArn"]
    queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
    monkeypatch.setenv("PHIGUARD_TOPIC_ARN", topic)
    monkeypatch.setenv("PHIGUARD_SELF_ROLE_ARNS", SELF_ROLE)

    results = lambda_handler(load_event(SAMPLE), LambdaContextStub())  # type: ignore[arg-type]

    assert [(r["control_id"], r["outcome"], r["resource"]["id"]) for r in results] == [
        (HipaaEligibleServicesOnly.control_id, "needs_attention", NOT_ELIGIBLE)
    ]
    [message] = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    body = json.loads(json.loads(message["Body"])["Message"])
    assert (body["actor"]["arn"], body["actor"]["event_name"]) == (PERSON, "CreateNetwork")


def test_the_products_own_write_call_to_a_service_outside_the_list_is_ignored() -> None:
    engine, inbox = make_engine()
    own = event()
    own["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] = SELF_ROLE

    assert engine.handle_event(own) == []
    assert inbox.results == []


def test_a_failed_write_call_to_a_service_outside_the_list_is_ignored() -> None:
    engine, inbox = make_engine()

    assert engine.handle_event(event(errorCode="AccessDeniedException")) == []
    assert inbox.results == []


@pytest.mark.parametrize(("value", "parsed"), [(True, True), (False, False), ("false", False), ("yes", None)])
def test_read_only_is_read_from_the_event(value: Any, parsed: bool | None) -> None:
    assert call(readOnly=value).read_only is parsed


def test_the_shipped_list_is_keyed_by_event_source_and_holds_what_every_account_uses() -> None:
    services = shipped()
    source = re.compile(r"^[a-z0-9][a-z0-9.-]*\.amazonaws\.com$")

    assert all(source.match(s) and name for s, name in {**services.eligible, **services.holds_no_phi}.items())
    assert not set(services.eligible) & set(services.holds_no_phi)
    assert set(IN_USE) <= services.allowed
    assert NOT_ELIGIBLE not in services.allowed


def test_a_deployments_extra_service_that_is_no_event_source_fails_fast_naming_the_variable() -> None:
    with pytest.raises(SettingsError, match="PHIGUARD_HIPAA_ELIGIBLE_SERVICES"):
        Settings.from_env({"PHIGUARD_HIPAA_ELIGIBLE_SERVICES": "Amazon Managed Blockchain"})


def test_the_wildcard_trigger_is_wild_in_both_source_and_event_name() -> None:
    with pytest.raises(ValueError, match="wildcard"):
        Trigger(ANY, "CreateNetwork", lambda _: [])
