"""Exemption tags on every taggable type, and VPC-wide calls judged VPC by VPC.

Scenarios
- Given a KMS key, a subnet, a VPC, a volume or an instance tagged exempt, Then it is left alone (exempt).
- Given a call that names no VPC (DeleteFlowLogs), Then each VPC is judged on its own: the exempt one is
  left alone, the other fixed, and each is recorded under its own id.
- Given a revert of an account-wide fix, Then it is refused before anything changes unless the exemption
  is in the Exemptions list.
- The evidence row's result carries its own evidence id (the compliance report shows it).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from helpers import ACCOUNT, EVIDENCE_TABLE, REGION, evidence_rows, make_engine, rails_tables, ref, vpc
from phiguard.controls.cmk_backing_key_rotation_enabled import CmkBackingKeyRotationEnabled
from phiguard.controls.subnet_auto_assign_public_ip_disabled import SubnetAutoAssignPublicIpDisabled
from phiguard.core.evidence import result_of
from phiguard.core.model import Outcome
from phiguard_local.cloudtrail import detail, envelope

pytestmark = pytest.mark.usefixtures("aws")
UNTIL = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()


def exempt_tags(control_id: str) -> list[dict[str, str]]:
    return [
        {"Key": "phiguard:exempt", "Value": control_id},
        {"Key": "phiguard:exempt-until", "Value": UNTIL},
        {"Key": "phiguard:exempt-reason", "Value": "CHG-7 vendor migration"},
    ]


def test_given_an_exempt_kms_key_then_rotation_is_left_off() -> None:
    kms = boto3.client("kms")
    tags = [{"TagKey": t["Key"], "TagValue": t["Value"]} for t in exempt_tags("cmk-backing-key-rotation-enabled")]
    key_id = kms.create_key(Tags=tags)["KeyMetadata"]["KeyId"]
    engine, _ = make_engine()

    result = engine.run(CmkBackingKeyRotationEnabled(engine.context), ref("AWS::KMS::Key", key_id), None)

    assert result.outcome is Outcome.EXEMPT and "CHG-7" in (result.exemption or "")
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"] is False


def test_given_an_exempt_subnet_then_it_keeps_mapping_public_ips() -> None:
    ec2 = boto3.client("ec2")
    subnet_id = ec2.create_subnet(VpcId=vpc(), CidrBlock="10.20.1.0/24")["Subnet"]["SubnetId"]
    ec2.modify_subnet_attribute(SubnetId=subnet_id, MapPublicIpOnLaunch={"Value": True})
    ec2.create_tags(Resources=[subnet_id], Tags=exempt_tags("subnet-auto-assign-public-ip-disabled"))
    engine, _ = make_engine()

    result = engine.run(SubnetAutoAssignPublicIpDisabled(engine.context), ref("AWS::EC2::Subnet", subnet_id), None)

    assert result.outcome is Outcome.EXEMPT
    assert ec2.describe_subnets(SubnetIds=[subnet_id])["Subnets"][0]["MapPublicIpOnLaunch"] is True


def test_given_a_call_that_names_no_vpc_then_each_vpc_is_judged_on_its_own() -> None:
    boto3.client("s3").create_bucket(Bucket="phi-flow-logs")
    ec2 = boto3.client("ec2")
    exempt_vpc, other_vpc = vpc(), vpc()
    ec2.create_tags(Resources=[exempt_vpc], Tags=exempt_tags("vpc-flow-logs-enabled"))
    engine, _ = make_engine(flow_log_destination="arn:aws:s3:::phi-flow-logs")
    event = envelope("aws.ec2", detail("ec2", "DeleteFlowLogs", {"DeleteFlowLogsRequest": {"FlowLogId": "fl-1"}}, None))

    results = [r for r in engine.handle_event(event) if r.control_id == "vpc-flow-logs-enabled"]

    by_vpc = {r.resource.resource_id: r.outcome for r in results}
    assert by_vpc[exempt_vpc] is Outcome.EXEMPT
    assert by_vpc[other_vpc] is Outcome.REMEDIATED
    assert "*" not in by_vpc
    logged = {f["ResourceId"] for f in ec2.describe_flow_logs()["FlowLogs"]}
    assert other_vpc in logged and exempt_vpc not in logged


def test_the_evidence_row_carries_its_own_id() -> None:
    rails_tables()
    from phiguard.core.aws import Clients
    from phiguard.core.evidence import DynamoEvidence

    engine, _ = make_engine(evidence_table=EVIDENCE_TABLE)
    engine.evidence = DynamoEvidence(Clients(), EVIDENCE_TABLE, 30)
    key_id = boto3.client("kms").create_key()["KeyMetadata"]["KeyId"]
    engine.run(CmkBackingKeyRotationEnabled(engine.context), ref("AWS::KMS::Key", key_id), None)

    [row] = evidence_rows()
    assert result_of(row).evidence_id == row["evidence_id"]
    assert (row["account_id"], row["region"]) == (ACCOUNT, REGION)
