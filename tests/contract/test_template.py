"""The template and the registry agree: every trigger routed, every permission granted, every Handler real."""

from __future__ import annotations

import importlib
import json
import tomllib
from typing import Any

import pytest
from helpers import ROOT
from moto.events.models import EventPattern
from phiguard.core.control import all_controls
from phiguard.core.tags import READ_PERMISSIONS
from phiguard_local.cloudtrail import detail, envelope
from phiguard_local.template import event_rules, load_template

TEMPLATE = load_template()
RESOURCES = TEMPLATE["Resources"]
FUNCTIONS = {name: r for name, r in RESOURCES.items() if r["Type"] == "AWS::Serverless::Function"}
BOOKKEEPING_ACTIONS = {
    "sns:Publish",
    "sqs:SendMessage",
    "xray:PutTraceSegments",
    "xray:PutTelemetryRecords",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "ssm:GetParameter",
    "kms:Decrypt",
    "kms:GenerateDataKey*",
}
TRIGGERS = sorted({(t.source, t.event_name) for c in all_controls() for t in c.triggers})


def call_event(source: str, event_name: str, **kwargs: Any) -> dict[str, Any]:
    service = source.removeprefix("aws.")
    return envelope(source, detail(service, event_name, {}, None, **kwargs))


def routed(event: dict[str, Any]) -> list[str]:
    rules = event_rules(TEMPLATE)
    return [name for name, pattern in rules.items() if EventPattern.load(json.dumps(pattern)).matches_event(event)]


def statements(policy_name: str | None = None) -> list[dict[str, Any]]:
    """The role's statements; a conditional one (Fn::If) counts as granted."""
    found = []
    for policy in RESOURCES["RemediationRole"]["Properties"]["Policies"]:
        if policy_name and policy["PolicyName"] != policy_name:
            continue
        for statement in policy["PolicyDocument"]["Statement"]:
            found.append(statement["Fn::If"][1] if "Fn::If" in statement else statement)
    return found


def granted_actions(policy_name: str | None = None) -> set[str]:
    actions: set[str] = set()
    for statement in statements(policy_name):
        assert statement["Effect"] == "Allow"
        found = statement["Action"]
        actions |= {found} if isinstance(found, str) else set(found)
    return actions


@pytest.mark.parametrize(("source", "event_name"), TRIGGERS)
def test_every_trigger_is_routed_to_the_function(source: str, event_name: str) -> None:
    assert routed(call_event(source, event_name)), f"no rule routes {source} {event_name}"


@pytest.mark.parametrize(("source", "event_name"), TRIGGERS)
def test_failed_calls_are_filtered_out_by_the_pattern(source: str, event_name: str) -> None:
    assert routed(call_event(source, event_name, error_code="AccessDenied")) == []


def test_no_rule_routes_calls_that_no_control_handles() -> None:
    for name, pattern in event_rules(TEMPLATE).items():
        for source in pattern["source"]:
            for event_name in pattern["detail"]["eventName"]:
                assert (source, event_name) in TRIGGERS, f"{name} routes {event_name}, which no control handles"


def test_every_permission_a_control_needs_is_granted_and_nothing_more() -> None:
    needed = {p for c in all_controls() for p in c.permissions}
    needed |= {p for c in all_controls() for p in READ_PERMISSIONS.get(c.resource_type, ())}  # exemption tags

    assert granted_actions("phiguard-controls") == needed
    assert granted_actions() - needed == BOOKKEEPING_ACTIONS


def test_write_permissions_of_the_bookkeeping_are_scoped_to_our_own_resources() -> None:
    by_sid = {s["Sid"]: s for s in statements()}
    assert by_sid["Notify"]["Resource"] == {"Ref": "NotificationTopic"}
    assert by_sid["NotifyEncrypted"]["Resource"] == {"Fn::GetAtt": ["NotificationKey", "Arn"]}
    assert by_sid["FailureDestination"]["Resource"] == {"Fn::GetAtt": ["FailureQueue", "Arn"]}
    assert by_sid["Evidence"]["Resource"] == {"Fn::GetAtt": ["EvidenceTable", "Arn"]}
    assert by_sid["Evidence"]["Action"] == "dynamodb:PutItem"  # the function adds evidence, never changes it
    assert by_sid["ExactlyOnceAndBrake"]["Resource"] == {"Fn::GetAtt": ["StateTable", "Arn"]}
    assert "parameter/${ExemptionsParameterName}" in by_sid["ExemptionList"]["Resource"]["Fn::Sub"]


def test_evidence_is_encrypted_recoverable_kept_six_years_and_survives_the_stack() -> None:
    table = RESOURCES["EvidenceTable"]
    props = table["Properties"]
    assert props["SSESpecification"] == {"SSEEnabled": True, "SSEType": "KMS"}
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert TEMPLATE["Parameters"]["EvidenceRetentionDays"]["Default"] == 6 * 365
    assert table["DeletionPolicy"] == table["UpdateReplacePolicy"] == "Retain"


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_handler_exists(name: str) -> None:
    props = {**TEMPLATE.get("Globals", {}).get("Function", {}), **FUNCTIONS[name]["Properties"]}
    assert (ROOT / props["CodeUri"]).is_dir()
    module_name, _, function = props["Handler"].rpartition(".")
    assert (ROOT / props["CodeUri"] / (module_name.replace(".", "/") + ".py")).is_file()
    assert callable(getattr(importlib.import_module(module_name), function))
    assert props["Runtime"] == "python3.12"


def test_every_environment_variable_is_one_settings_reads() -> None:
    settings_source = (ROOT / "functions/phiguard/core/settings.py").read_text()
    variables = FUNCTIONS["RemediationFunction"]["Properties"]["Environment"]["Variables"]
    for name in variables:
        assert f'"{name}"' in settings_source, f"{name} is set by the template but never read"


def test_the_function_knows_its_own_role_for_loop_prevention() -> None:
    props = FUNCTIONS["RemediationFunction"]["Properties"]
    assert props["Role"] == {"Fn::GetAtt": ["RemediationRole", "Arn"]}
    assert props["Environment"]["Variables"]["PHIGUARD_SELF_ROLE_ARNS"] == props["Role"]


def test_failed_invocations_are_retried_then_kept_on_an_encrypted_queue_with_an_alarm() -> None:
    config = FUNCTIONS["RemediationFunction"]["Properties"]["EventInvokeConfig"]
    assert config["MaximumRetryAttempts"] == 2
    assert config["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS",
        "Destination": {"Fn::GetAtt": ["FailureQueue", "Arn"]},
    }
    assert RESOURCES["FailureQueue"]["Properties"]["SqsManagedSseEnabled"] is True
    alarm = RESOURCES["FailureQueueAlarm"]["Properties"]
    assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["FailureQueue", "QueueName"]}
    assert alarm["AlarmActions"] == [{"Ref": "NotificationTopic"}]


def test_the_alarm_can_publish_to_the_encrypted_topic() -> None:
    topic = RESOURCES["NotificationTopic"]["Properties"]
    assert topic["KmsMasterKeyId"] == {"Ref": "NotificationKey"}  # aws/sns would refuse CloudWatch
    key = RESOURCES["NotificationKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    grants = {s["Sid"]: s for s in key["KeyPolicy"]["Statement"]}
    assert grants["CloudWatchAlarmsPublish"]["Principal"] == {"Service": "cloudwatch.amazonaws.com"}


def test_no_secret_or_credential_sits_in_the_environment() -> None:
    variables = FUNCTIONS["RemediationFunction"]["Properties"]["Environment"]["Variables"]
    assert not [n for n in variables if any(w in n for w in ("SECRET", "TOKEN", "PASSWORD", "WEBHOOK"))]


def test_a_first_deployment_is_dry_run_and_the_enforce_profile_fixes() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    assert TEMPLATE["Parameters"]["Mode"]["Default"] == "dry-run"
    assert "Mode=dry-run" in config["default"]["deploy"]["parameters"]["parameter_overrides"]
    assert "Mode=enforce" in config["enforce"]["deploy"]["parameters"]["parameter_overrides"]


def test_every_control_declares_its_metadata_and_has_scenario_tests() -> None:
    for control in all_controls():
        assert control.hipaa and control.permissions and control.title, control.control_id
        assert bool(control.triggers) != control.schedule_only, control.control_id
        module = control.__module__.rsplit(".", 1)[-1]
        assert module == control.control_id.replace("-", "_")
        assert "Scenarios:" in (importlib.import_module(control.__module__).__doc__ or "")
        test_file = ROOT / "tests" / "unit" / f"test_{module}.py"
        assert test_file.is_file() and "def test_given_" in test_file.read_text(), f"no scenario tests for {module}"
