"""Deploy check: SAM's own translator turns the template into CloudFormation, which creates in moto.

cfn-lint lets bad !Ref/!GetAtt inside Serverless::Function properties and wrong IAM shapes through;
creating the stack catches them.
"""

from __future__ import annotations

import copy
import io
import json
import zipfile
from typing import Any

import boto3
import pytest
from phiguard_local.template import event_rules, load_template
from samtranslator.translator.transform import transform

pytestmark = pytest.mark.usefixtures("aws")
ARTIFACTS = "phiguard-artifacts"
# moto's CloudFormation has no model for these; their settings are checked by test_template.py.
NOT_MODELLED_BY_MOTO = {"AWS::CloudWatch::Alarm", "AWS::Lambda::EventInvokeConfig", "AWS::SNS::Subscription"}


class NoManagedPolicies:
    """The template names managed policies by ARN, so the translator needs no look-up."""

    def load(self) -> dict[str, str]:
        return {}


def transformed(parameters: dict[str, str]) -> dict[str, Any]:
    template = load_template()
    for resource in template["Resources"].values():
        if resource["Type"] == "AWS::Serverless::Function":
            resource["Properties"]["CodeUri"] = f"s3://{ARTIFACTS}/functions.zip"
    return dict(transform(copy.deepcopy(template), parameters, NoManagedPolicies()))


def create_stack(parameters: dict[str, str]) -> dict[str, Any]:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=ARTIFACTS)
    package = io.BytesIO()
    with zipfile.ZipFile(package, "w") as archive:
        archive.writestr("phiguard/__init__.py", "")
    s3.put_object(Bucket=ARTIFACTS, Key="functions.zip", Body=package.getvalue())
    cfn = boto3.client("cloudformation")
    cfn.create_stack(
        StackName="phiguard",
        TemplateBody=json.dumps(transformed(parameters)),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    return dict(cfn.describe_stacks(StackName="phiguard")["Stacks"][0])


SLACK_SECRET = "arn:aws:secretsmanager:us-east-1:123456789012:secret:phiguard/slack-AbCdEf"


def test_the_translated_template_creates_cleanly() -> None:
    parameters = {"Mode": "enforce", "NotificationEmail": "security@example.com", "SlackWebhookSecretArn": SLACK_SECRET}
    template = transformed(parameters)
    stack = create_stack(parameters)

    assert stack["StackStatus"] == "CREATE_COMPLETE"
    created = {
        r["LogicalResourceId"]: r
        for r in boto3.client("cloudformation").list_stack_resources(StackName="phiguard")["StackResourceSummaries"]
        if r["LogicalResourceId"]
    }
    expected = {name for name, r in template["Resources"].items() if r["Type"] not in NOT_MODELLED_BY_MOTO}
    assert expected <= set(created)
    assert all(r["ResourceStatus"] == "CREATE_COMPLETE" for r in created.values())


def test_the_deployed_function_is_wired_to_its_role_topic_and_rules() -> None:
    create_stack({"Mode": "enforce"})

    functions = {f["Handler"]: f for f in boto3.client("lambda").list_functions()["Functions"]}
    function = functions["phiguard.handlers.remediate.lambda_handler"]
    variables = function["Environment"]["Variables"]
    assert variables["PHIGUARD_MODE"] == "enforce"
    assert variables["PHIGUARD_SELF_ROLE_ARNS"] == function["Role"]
    assert variables["PHIGUARD_TOPIC_ARN"] == boto3.client("sns").list_topics()["Topics"][0]["TopicArn"]
    assert function["Runtime"] == "python3.12"
    events = boto3.client("events")
    rules = {r["Name"]: r for r in events.list_rules()["Rules"]}
    targets = {name: [t["Arn"] for t in events.list_targets_by_rule(Rule=name)["Targets"]] for name in rules}
    routing = [name for name in rules if targets[name] == [function["FunctionArn"]]]
    assert len(routing) == len(event_rules(load_template()))
    for name in routing:
        assert "EventPattern" in rules[name]


def test_the_deployed_sweep_runs_on_its_schedule_with_the_remediation_settings() -> None:
    create_stack({"Mode": "enforce", "SweepSchedule": "rate(12 hours)", "SweepRegions": "us-east-1,eu-west-1"})

    functions = {f["Handler"]: f for f in boto3.client("lambda").list_functions()["Functions"]}
    sweep = functions["phiguard.handlers.sweep.lambda_handler"]
    remediation = functions["phiguard.handlers.remediate.lambda_handler"]
    assert sweep["FunctionName"] == "phiguard-sweep"  # the name its role may invoke (SweepHandsOn)
    assert sweep["Role"] == remediation["Role"]
    shared = remediation["Environment"]["Variables"]
    assert {k: v for k, v in sweep["Environment"]["Variables"].items() if k in shared} == shared
    assert sweep["Environment"]["Variables"]["PHIGUARD_SWEEP_REGIONS"] == "us-east-1,eu-west-1"
    events = boto3.client("events")
    [scheduled] = [r for r in events.list_rules()["Rules"] if r.get("ScheduleExpression")]
    assert scheduled["ScheduleExpression"] == "rate(12 hours)"
    assert [t["Arn"] for t in events.list_targets_by_rule(Rule=scheduled["Name"])["Targets"]] == [sweep["FunctionArn"]]


def test_without_a_webhook_secret_the_stack_has_no_slack_notifier() -> None:
    template = transformed({"Mode": "enforce"})
    create_stack({"Mode": "enforce"})

    slack = {n for n, r in template["Resources"].items() if r.get("Condition") == "HasSlackWebhook"}
    assert {"SlackNotifierFunction", "SlackNotifierRole", "SlackFailureQueue"} <= slack
    # SAM carries the condition to what it generates: the subscription, the permission, the invoke config
    assert {n for n in template["Resources"] if n.startswith("Slack")} == slack
    assert {r["Type"] for n, r in template["Resources"].items() if n in slack} >= {
        "AWS::SNS::Subscription",
        "AWS::Lambda::Permission",
        "AWS::Lambda::EventInvokeConfig",
    }
    created = boto3.client("cloudformation").list_stack_resources(StackName="phiguard")["StackResourceSummaries"]
    assert not slack & {r["LogicalResourceId"] for r in created}
    assert [q for q in boto3.client("sqs").list_queues().get("QueueUrls", []) if "Slack" in q] == []


def test_the_deployed_digest_function_consumes_the_queue_the_remediation_function_sends_summaries_to() -> None:
    create_stack({"Mode": "enforce", "DedupWindowSeconds": "120"})

    functions = {f["Handler"]: f for f in boto3.client("lambda").list_functions()["Functions"]}
    digest = functions["phiguard.handlers.digest.lambda_handler"]
    remediation = functions["phiguard.handlers.remediate.lambda_handler"]
    queue_url = remediation["Environment"]["Variables"]["PHIGUARD_DIGEST_QUEUE_URL"]
    sqs = boto3.client("sqs")
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    [mapping] = boto3.client("lambda").list_event_source_mappings(FunctionName=digest["FunctionName"])[
        "EventSourceMappings"
    ]
    assert mapping["EventSourceArn"] == queue_arn
    assert str(remediation["Environment"]["Variables"]["PHIGUARD_DEDUP_WINDOW_SECONDS"]) == "120"
    assert str(digest["Environment"]["Variables"]["PHIGUARD_DEDUP_WINDOW_SECONDS"]) == "120"
    assert digest["Role"] != remediation["Role"]
