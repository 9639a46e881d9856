"""The template and the registry agree: every trigger routed, every permission granted, every Handler real."""

from __future__ import annotations

import importlib
import json
import re
import tomllib
from typing import Any

import pytest
from helpers import ROOT, load_event
from moto.events.models import EventPattern
from phiguard.controls.hipaa_eligible_services_only import DATA_FILE, outside_the_list, shipped
from phiguard.core import config_events, inventory
from phiguard.core.control import all_controls
from phiguard.core.events import api_call_from_event
from phiguard.core.settings import Settings
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
    "lambda:InvokeFunction",  # the sweep hands the rest of a long sweep to its next invocation
}
TRIGGERS = sorted({(t.source, t.event_name) for c in all_controls() for t in c.triggers if not t.wildcard})
WRITE_RULE = "WriteCallsToOtherServices"  # the wildcard trigger's rule (hipaa-eligible-services-only)
EVENT_PATTERN_LIMIT = 2048  # characters; Amazon EventBridge quotas, "Event pattern size" (default)
# Controls judged from the API call alone: they read nothing from AWS, so they declare no permission.
JUDGED_FROM_THE_CALL = {"hipaa-eligible-services-only"}
CONFIG_RULE = "ConfigChanges"  # AWS Config's item changes and rule compliance changes


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
        if name in (WRITE_RULE, CONFIG_RULE):
            continue  # every write call to some services, AWS Config's changes: see the tests of those rules below
        for source in pattern["source"]:
            for event_name in pattern["detail"]["eventName"]:
                assert (source, event_name) in TRIGGERS, f"{name} routes {event_name}, which no control handles"


@pytest.mark.parametrize(("source", "event_name"), TRIGGERS)
def test_every_trigger_is_routed_by_exactly_one_rule(source: str, event_name: str) -> None:
    assert len(routed(call_event(source, event_name))) == 1  # two rules would run the engine twice


# --- write calls to services outside the HIPAA-eligible list (hipaa-eligible-services-only) -------------------


def skipped_sources() -> list[str]:
    [condition] = event_rules(TEMPLATE)[WRITE_RULE]["detail"]["eventSource"]
    return list(condition["anything-but"])


def write_call(event_source: str, event_name: str = "CreateNetwork", **kwargs: Any) -> dict[str, Any]:
    return call_event("aws." + event_source.removesuffix(".amazonaws.com"), event_name, **kwargs)


def test_the_write_rule_fits_eventbridges_pattern_size_limit() -> None:
    assert len(json.dumps(event_rules(TEMPLATE)[WRITE_RULE])) <= EVENT_PATTERN_LIMIT


def test_the_write_rule_skips_only_services_the_shipped_list_allows() -> None:
    assert skipped_sources() == sorted(set(skipped_sources()))
    assert set(skipped_sources()) <= shipped().allowed, set(skipped_sources()) - shipped().allowed


def test_the_write_rule_skips_every_service_the_other_rules_route() -> None:
    others = {
        source
        for name, pattern in event_rules(TEMPLATE).items()
        if name != WRITE_RULE
        for source in pattern.get("detail", {}).get("eventSource", [])
    }
    assert others and others <= set(skipped_sources())


def test_a_write_call_to_a_service_outside_the_list_is_routed_by_the_write_rule_alone() -> None:
    event = write_call("managedblockchain.amazonaws.com")

    assert outside_the_list(api_call_from_event(event))
    assert routed(event) == [WRITE_RULE]


@pytest.mark.parametrize("event_source", ["s3.amazonaws.com", "sts.amazonaws.com", "ssm.amazonaws.com"])
def test_a_write_call_to_a_skipped_service_is_not_routed_by_the_write_rule(event_source: str) -> None:
    assert WRITE_RULE not in routed(write_call(event_source, "TagResource"))
    assert WRITE_RULE not in routed(call_event("aws.s3", "PutBucketTagging"))


def test_read_only_failed_and_non_aws_calls_are_not_routed_by_the_write_rule() -> None:
    read = write_call("managedblockchain.amazonaws.com", "ListNetworks")
    read["detail"]["readOnly"] = True
    failed = write_call("managedblockchain.amazonaws.com", error_code="AccessDenied")
    spoofed = write_call("managedblockchain.amazonaws.com")
    spoofed["source"] = "com.example.app"  # only AWS puts aws.* sources on the bus

    assert routed(read) == routed(failed) == routed(spoofed) == []


def test_the_deployments_extra_eligible_services_are_a_parameter_wired_to_the_setting() -> None:
    parameter = TEMPLATE["Parameters"]["HipaaEligibleServicesExtra"]
    variables = FUNCTIONS["RemediationFunction"]["Properties"]["Environment"]["Variables"]
    allowed = re.compile(parameter["AllowedPattern"])
    extra = "managedblockchain.amazonaws.com,ivs.amazonaws.com"

    assert parameter["Default"] == ""
    assert variables["PHIGUARD_HIPAA_ELIGIBLE_SERVICES"] == {"Ref": "HipaaEligibleServicesExtra"}
    assert allowed.fullmatch("") and allowed.fullmatch(extra)
    assert Settings.from_env({"PHIGUARD_HIPAA_ELIGIBLE_SERVICES": extra}).hipaa_eligible_services == tuple(
        extra.split(",")
    )
    assert not allowed.fullmatch("Amazon Managed Blockchain") and not allowed.fullmatch("managedblockchain")


def test_the_eligible_list_ships_inside_the_functions_code() -> None:
    code = ROOT / FUNCTIONS["RemediationFunction"]["Properties"]["CodeUri"]
    assert (code / "phiguard" / "data" / DATA_FILE).is_file()
    assert len(shipped().eligible) > 100


# --- AWS Config: item changes and rule compliance changes (config_events) -------------------------------------


def config_item(resource_type: str, *, oversized: bool = False) -> dict[str, Any]:
    name = "config-item-change-oversized-security-group.json" if oversized else "config-item-change-s3-bucket.json"
    event = load_event(name)
    event["detail"]["configurationItemSummary" if oversized else "configurationItem"]["resourceType"] = resource_type
    return event


@pytest.mark.parametrize("oversized", [False, True])
@pytest.mark.parametrize("resource_type", config_events.item_resource_types())
def test_every_item_change_a_control_acts_on_is_routed_whole_or_oversized(resource_type: str, oversized: bool) -> None:
    assert routed(config_item(resource_type, oversized=oversized)) == [CONFIG_RULE]


def test_every_registered_resource_type_has_its_item_changes_routed_and_no_other() -> None:
    registered = {c.resource_type for c in all_controls() if c.resource_type.startswith("AWS::")} - {"AWS::::Account"}
    branches = event_rules(TEMPLATE)[CONFIG_RULE]["$or"]
    routed_types = [
        branch["detail"][key]["resourceType"]
        for branch in branches
        for key in ("configurationItem", "configurationItemSummary")
        if key in branch["detail"]
    ]

    assert registered <= set(config_events.item_resource_types())
    assert routed_types == [config_events.item_resource_types()] * 2  # whole items and oversized summaries


def test_item_changes_of_types_no_control_judges_are_not_routed() -> None:
    assert routed(config_item("AWS::EFS::FileSystem")) == []
    assert routed(config_item("AWS::EFS::FileSystem", oversized=True)) == []


def test_only_rule_changes_to_non_compliant_are_routed() -> None:
    event = load_event("config-compliance-change-conformance-pack.json")
    assert routed(event) == [CONFIG_RULE]

    for compliance in ("COMPLIANT", "NOT_APPLICABLE", "INSUFFICIENT_DATA"):
        event["detail"]["newEvaluationResult"]["complianceType"] = compliance
        assert routed(event) == [], compliance


def test_the_config_rule_routes_no_api_call_and_fits_eventbridges_pattern_size_limit() -> None:
    assert CONFIG_RULE not in routed(call_event("aws.config", "PutConfigRule"))
    assert len(json.dumps(event_rules(TEMPLATE)[CONFIG_RULE])) <= EVENT_PATTERN_LIMIT


def test_every_permission_a_control_needs_is_granted_and_nothing_more() -> None:
    needed = {p for c in all_controls() for p in c.permissions}
    needed |= {p for c in all_controls() for p in READ_PERMISSIONS.get(c.resource_type, ())}  # exemption tags
    needed |= set(inventory.PERMISSIONS)  # what the sweep lists
    needed |= set(config_events.PERMISSIONS)  # what reading AWS Config's events needs

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
    assert by_sid["SweepHandsOn"]["Resource"]["Fn::Sub"].endswith(":function:${AWS::StackName}-sweep")
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


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_every_environment_variable_is_one_settings_reads(function: str) -> None:
    settings_source = (ROOT / "functions/phiguard/core/settings.py").read_text()
    variables = FUNCTIONS[function]["Properties"].get("Environment", {}).get("Variables", {})
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


@pytest.mark.parametrize("function", sorted(FUNCTIONS))
def test_no_secret_or_credential_sits_in_the_environment(function: str) -> None:
    """A secret is named by the ARN of a Secrets Manager secret, given as a parameter; never its value."""
    variables = FUNCTIONS[function]["Properties"].get("Environment", {}).get("Variables", {})
    for name, value in variables.items():
        if any(w in name for w in ("SECRET", "TOKEN", "PASSWORD", "WEBHOOK")):
            assert name.endswith("_SECRET_ARN"), f"{function} has {name} in its environment"
            assert value in [{"Ref": p} for p in TEMPLATE["Parameters"] if p.endswith("SecretArn")], name


def test_a_first_deployment_is_dry_run_and_the_enforce_profile_fixes() -> None:
    config = tomllib.loads((ROOT / "samconfig.toml").read_text())
    assert TEMPLATE["Parameters"]["Mode"]["Default"] == "dry-run"
    assert "Mode=dry-run" in config["default"]["deploy"]["parameters"]["parameter_overrides"]
    assert "Mode=enforce" in config["enforce"]["deploy"]["parameters"]["parameter_overrides"]


def test_every_control_declares_its_metadata_and_has_scenario_tests() -> None:
    for control in all_controls():
        assert control.hipaa and control.title, control.control_id
        assert bool(control.permissions) != (control.control_id in JUDGED_FROM_THE_CALL), control.control_id
        assert bool(control.triggers) != control.schedule_only, control.control_id
        module = control.__module__.rsplit(".", 1)[-1]
        assert module == control.control_id.replace("-", "_")
        assert "Scenarios:" in (importlib.import_module(control.__module__).__doc__ or "")
        test_file = ROOT / "tests" / "unit" / f"test_{module}.py"
        assert test_file.is_file() and "def test_given_" in test_file.read_text(), f"no scenario tests for {module}"


# --- the Slack notifier ---------------------------------------------------------------------------

SLACK = ("SlackNotifierRole", "SlackNotifierFunction", "SlackNotifierFunctionLogGroup", "SlackFailureQueue")


def slack_statements() -> dict[str, dict[str, Any]]:
    [policy] = RESOURCES["SlackNotifierRole"]["Properties"]["Policies"]
    return {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}


def test_the_slack_notifier_exists_only_when_a_webhook_secret_is_given() -> None:
    parameter = TEMPLATE["Parameters"]["SlackWebhookSecretArn"]
    assert parameter["Default"] == ""
    assert TEMPLATE["Conditions"]["HasSlackWebhook"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "SlackWebhookSecretArn"}, ""]}]
    }
    for name in (*SLACK, "SlackFailureQueueAlarm"):
        assert RESOURCES[name]["Condition"] == "HasSlackWebhook", name
    for name in ("SlackNotifierFunctionName", "SlackFailureQueueUrl"):
        assert TEMPLATE["Outputs"][name]["Condition"] == "HasSlackWebhook", name
    # nothing that always exists refers to the Slack resources (that would fail without the secret)
    assert [n for n, r in RESOURCES.items() if "Condition" not in r and "Slack" in n + json.dumps(r)] == []


def test_the_slack_notifier_is_subscribed_to_the_topic_and_reads_the_secret_by_arn() -> None:
    props = FUNCTIONS["SlackNotifierFunction"]["Properties"]
    assert props["Handler"] == "phiguard.handlers.slack.lambda_handler"
    assert props["CodeUri"] == FUNCTIONS["RemediationFunction"]["Properties"]["CodeUri"]
    assert props["Role"] == {"Fn::GetAtt": ["SlackNotifierRole", "Arn"]}
    assert props["Events"] == {"Notifications": {"Type": "SNS", "Properties": {"Topic": {"Ref": "NotificationTopic"}}}}
    assert props["Environment"]["Variables"] == {"PHIGUARD_SLACK_WEBHOOK_SECRET_ARN": {"Ref": "SlackWebhookSecretArn"}}


def test_failed_slack_deliveries_are_retried_then_kept_on_their_own_encrypted_queue_with_an_alarm() -> None:
    config = FUNCTIONS["SlackNotifierFunction"]["Properties"]["EventInvokeConfig"]
    assert config["MaximumRetryAttempts"] == 2
    assert config["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS",
        "Destination": {"Fn::GetAtt": ["SlackFailureQueue", "Arn"]},
    }
    assert RESOURCES["SlackFailureQueue"]["Properties"]["SqsManagedSseEnabled"] is True
    alarm = RESOURCES["SlackFailureQueueAlarm"]["Properties"]
    assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["SlackFailureQueue", "QueueName"]}
    assert alarm["AlarmActions"] == [{"Ref": "NotificationTopic"}]


def test_the_slack_role_grants_exactly_the_secret_its_key_through_secrets_manager_and_its_queue() -> None:
    role = RESOURCES["SlackNotifierRole"]["Properties"]
    assert role["AssumeRolePolicyDocument"]["Statement"] == [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ]
    assert role["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}
    ]
    by_sid = slack_statements()
    assert all(s["Effect"] == "Allow" for s in by_sid.values())
    assert {sid: (s["Action"], s["Resource"]) for sid, s in by_sid.items()} == {
        "ReadTheWebhookSecret": ("secretsmanager:GetSecretValue", {"Ref": "SlackWebhookSecretArn"}),
        "DecryptTheWebhookSecretThroughSecretsManager": ("kms:Decrypt", "*"),
        "FailureDestination": ("sqs:SendMessage", {"Fn::GetAtt": ["SlackFailureQueue", "Arn"]}),
        "Tracing": (["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*"),
    }
    assert by_sid["DecryptTheWebhookSecretThroughSecretsManager"]["Condition"] == {
        "StringEquals": {
            "kms:ViaService": {"Fn::Sub": "secretsmanager.${AWS::Region}.amazonaws.com"},
            "kms:EncryptionContext:SecretARN": {"Ref": "SlackWebhookSecretArn"},
        }
    }
    assert all(
        "Condition" not in s for sid, s in by_sid.items() if sid != "DecryptTheWebhookSecretThroughSecretsManager"
    )


# --- severity filters and alert storms ---------------------------------------------------------------------------


def test_the_email_subscription_filters_on_severity_and_keeps_messages_without_one() -> None:
    parameter = TEMPLATE["Parameters"]["EmailSeverities"]
    allowed = re.compile(parameter["AllowedPattern"])
    props = RESOURCES["EmailSubscription"]["Properties"]

    assert parameter["Default"] == "critical,high,medium,low"  # everything, until a deployment narrows it
    assert allowed.fullmatch("critical") and allowed.fullmatch("critical,high")
    assert not allowed.fullmatch("warning") and not allowed.fullmatch("critical,")
    assert props["FilterPolicyScope"] == "MessageAttributes"
    assert props["FilterPolicy"] == {
        "$or": [
            {"severity": {"Fn::Split": [",", {"Ref": "EmailSeverities"}]}},
            {"severity": [{"exists": False}]},  # CloudWatch alarms about PHI Guard carry no attributes
        ]
    }


def test_the_dedup_window_is_a_parameter_within_sqs_delay_wired_to_every_function_that_publishes() -> None:
    parameter = TEMPLATE["Parameters"]["DedupWindowSeconds"]
    assert (parameter["Default"], parameter["MinValue"], parameter["MaxValue"]) == (300, 0, 900)
    for name in ("RemediationFunction", "SweepFunction", "DigestFunction"):
        variables = FUNCTIONS[name]["Properties"]["Environment"]["Variables"]
        assert variables["PHIGUARD_DEDUP_WINDOW_SECONDS"] == {"Ref": "DedupWindowSeconds"}, name
        assert variables["PHIGUARD_STATE_TABLE"] == {"Ref": "StateTable"}, name
    for name in ("RemediationFunction", "SweepFunction"):
        variables = FUNCTIONS[name]["Properties"]["Environment"]["Variables"]
        assert variables["PHIGUARD_DIGEST_QUEUE_URL"] == {"Ref": "DigestQueue"}, name
    assert RESOURCES["StateTable"]["Properties"]["TimeToLiveSpecification"] == {
        "AttributeName": "expiration",
        "Enabled": True,
    }


def test_the_remediation_role_may_only_send_summary_requests_to_the_digest_queue() -> None:
    by_sid = {s["Sid"]: s for s in statements()}
    assert by_sid["ScheduleSummaries"]["Action"] == "sqs:SendMessage"
    assert by_sid["ScheduleSummaries"]["Resource"] == {"Fn::GetAtt": ["DigestQueue", "Arn"]}


def test_the_digest_function_reads_its_queue_and_closes_windows_with_a_role_of_its_own() -> None:
    props = FUNCTIONS["DigestFunction"]["Properties"]
    assert props["Handler"] == "phiguard.handlers.digest.lambda_handler"
    assert props["Role"] == {"Fn::GetAtt": ["DigestRole", "Arn"]}
    assert props["Events"] == {
        "SummaryRequests": {
            "Type": "SQS",
            "Properties": {
                "Queue": {"Fn::GetAtt": ["DigestQueue", "Arn"]},
                "BatchSize": 10,
                "FunctionResponseTypes": ["ReportBatchItemFailures"],
            },
        }
    }
    role = RESOURCES["DigestRole"]["Properties"]
    assert role["ManagedPolicyArns"] == [
        {"Fn::Sub": "arn:${AWS::Partition}:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"}
    ]
    [policy] = role["Policies"]
    by_sid = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    assert all(s["Effect"] == "Allow" for s in by_sid.values())
    assert {sid: (s["Action"], s["Resource"]) for sid, s in by_sid.items()} == {
        "ReadSummaryRequests": (
            ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ChangeMessageVisibility"],
            {"Fn::GetAtt": ["DigestQueue", "Arn"]},
        ),
        "CloseWindows": ("dynamodb:UpdateItem", {"Fn::GetAtt": ["StateTable", "Arn"]}),
        "Notify": ("sns:Publish", {"Ref": "NotificationTopic"}),
        "NotifyEncrypted": (["kms:Decrypt", "kms:GenerateDataKey*"], {"Fn::GetAtt": ["NotificationKey", "Arn"]}),
        "Tracing": (["xray:PutTraceSegments", "xray:PutTelemetryRecords"], "*"),
    }


def test_summary_requests_wait_on_an_encrypted_queue_and_failures_on_a_dead_letter_queue_with_an_alarm() -> None:
    queue = RESOURCES["DigestQueue"]["Properties"]
    timeout = FUNCTIONS["DigestFunction"]["Properties"]["Timeout"]
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["VisibilityTimeout"] >= 6 * timeout  # what Lambda's SQS poller asks for
    assert queue["RedrivePolicy"] == {
        "deadLetterTargetArn": {"Fn::GetAtt": ["DigestDeadLetterQueue", "Arn"]},
        "maxReceiveCount": 5,
    }
    assert RESOURCES["DigestDeadLetterQueue"]["Properties"]["SqsManagedSseEnabled"] is True
    alarm = RESOURCES["DigestDeadLetterQueueAlarm"]["Properties"]
    assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["DigestDeadLetterQueue", "QueueName"]}
    assert alarm["AlarmActions"] == [{"Ref": "NotificationTopic"}]
