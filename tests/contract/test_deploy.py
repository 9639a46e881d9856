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


def test_the_translated_template_creates_cleanly() -> None:
    parameters = {"Mode": "enforce", "NotificationEmail": "security@example.com"}
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

    [function] = boto3.client("lambda").list_functions()["Functions"]
    variables = function["Environment"]["Variables"]
    assert variables["PHIGUARD_MODE"] == "enforce"
    assert variables["PHIGUARD_SELF_ROLE_ARNS"] == function["Role"]
    assert variables["PHIGUARD_TOPIC_ARN"] == boto3.client("sns").list_topics()["Topics"][0]["TopicArn"]
    assert function["Runtime"] == "python3.12"
    rules = boto3.client("events").list_rules()["Rules"]
    assert len(rules) == len(event_rules(load_template()))
    for rule in rules:
        targets = boto3.client("events").list_targets_by_rule(Rule=rule["Name"])["Targets"]
        assert [t["Arn"] for t in targets] == [function["FunctionArn"]]
        assert json.loads(rule["EventPattern"])["detail"]["errorCode"] == [{"exists": False}]
