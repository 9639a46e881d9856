"""Scenarios of vpc-flow-logs-enabled, against moto state."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from helpers import make_engine, ref, vpc
from phiguard.controls.vpc_flow_logs_enabled import VpcFlowLogsEnabled
from phiguard.core.model import Outcome, Result

pytestmark = pytest.mark.usefixtures("aws")

BUCKET = "arn:aws:s3:::phi-flow-logs"
LOG_GROUP = "arn:aws:logs:us-east-1:123456789012:log-group:phi-flow-logs"
ROLE = "arn:aws:iam::123456789012:role/flow-logs"


def run(vpc_id: str, **settings: Any) -> Result:
    engine, _ = make_engine(**settings)
    return engine.run(VpcFlowLogsEnabled(engine.context), ref("AWS::EC2::VPC", vpc_id), None)


def flow_logs(vpc_id: str) -> list[dict[str, Any]]:
    return list(
        boto3.client("ec2").describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [vpc_id]}])["FlowLogs"]
    )


@pytest.fixture
def bucket(aws: None) -> None:
    boto3.client("s3").create_bucket(Bucket="phi-flow-logs")


@pytest.mark.usefixtures("bucket")
def test_given_a_vpc_without_flow_logs_and_an_s3_destination_then_a_flow_log_to_the_bucket_is_created() -> None:
    v = vpc()

    result = run(v, flow_log_destination=BUCKET)

    assert result.outcome is Outcome.REMEDIATED
    [log] = flow_logs(v)
    assert (log["LogDestinationType"], log["LogDestination"], log["TrafficType"]) == ("s3", BUCKET, "ALL")


def test_given_a_log_group_destination_and_role_then_the_flow_log_goes_there_with_the_role() -> None:
    boto3.client("logs").create_log_group(logGroupName="phi-flow-logs")
    v = vpc()

    result = run(v, flow_log_destination=LOG_GROUP, flow_log_role_arn=ROLE)

    assert result.outcome is Outcome.REMEDIATED
    [log] = flow_logs(v)
    assert (log["LogDestinationType"], log["DeliverLogsPermissionArn"]) == ("cloud-watch-logs", ROLE)


@pytest.mark.usefixtures("bucket")
def test_given_a_vpc_with_a_flow_log_then_compliant() -> None:
    v = vpc()
    run(v, flow_log_destination=BUCKET)

    assert run(v, flow_log_destination=BUCKET).outcome is Outcome.COMPLIANT
    assert len(flow_logs(v)) == 1


@pytest.mark.usefixtures("bucket")
def test_given_a_flow_log_deleted_then_every_vpc_is_judged_one_violation_each() -> None:
    logged, bare = vpc(), vpc()
    run(logged, flow_log_destination=BUCKET)
    vpcs = [v["VpcId"] for v in boto3.client("ec2").describe_vpcs()["Vpcs"]]

    result = run("*")

    assert result.outcome is Outcome.NEEDS_ATTENTION
    assert {v.detail["vpc_id"] for v in result.remaining} == set(vpcs) - {logged}
    assert bare in {v.detail["vpc_id"] for v in result.remaining}


def test_given_no_destination_then_a_person_is_asked_and_nothing_changes() -> None:
    v = vpc()

    result = run(v)

    assert result.outcome is Outcome.NEEDS_ATTENTION
    assert "FlowLogDestination" in result.remaining[0].manual_steps[0]
    assert flow_logs(v) == []


def test_given_a_log_group_without_a_role_then_a_person_is_asked_to_set_the_role() -> None:
    v = vpc()

    result = run(v, flow_log_destination=LOG_GROUP)

    assert result.outcome is Outcome.NEEDS_ATTENTION
    assert "FlowLogRoleArn" in result.remaining[0].manual_steps[0]


def test_given_a_vpc_deleted_before_the_event_is_handled_then_not_applicable() -> None:
    assert run("vpc-0a1b2c3d4e5f60009", flow_log_destination=BUCKET).outcome is Outcome.NOT_APPLICABLE
