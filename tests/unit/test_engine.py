"""The engine's failure handling: AccessDenied, throttling, one failing control, a lost notification."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from helpers import CountingClients, authorize, group, ingress, load_event, make_engine, vpc
from phiguard.core.aws import Clients
from phiguard.core.engine import RemediationFailed
from phiguard.core.model import Outcome, ResourceRef, Result

pytestmark = pytest.mark.usefixtures("aws")
BUCKET = "phi-data-123456789012"


class StubbedClients(Clients):
    """Real (moto) clients, except one service whose client answers from a botocore Stubber."""

    def __init__(self, service: str) -> None:
        super().__init__()
        self.stubbed = boto3.client(service, region_name="us-east-1")  # type: ignore[call-overload]
        self.stubber = Stubber(self.stubbed)
        self.service = service

    def _client(self, service: str, region: str | None) -> Any:
        return self.stubbed if service == self.service else super()._client(service, region)


def test_access_denied_on_the_fix_is_a_failure_that_names_the_permission_and_is_notified_and_raised() -> None:
    clients = StubbedClients("s3")
    clients.stubber.add_client_error("get_bucket_encryption", "ServerSideEncryptionConfigurationNotFoundError")
    clients.stubber.add_client_error("get_bucket_tagging", "NoSuchTagSet")  # no exemption
    clients.stubber.add_client_error("put_bucket_encryption", "AccessDenied", "Access Denied", 403)
    engine, inbox = make_engine(clients=clients)

    with clients.stubber, pytest.raises(RemediationFailed) as raised:
        engine.handle_event(load_event("s3-delete-bucket-encryption.json"))

    [result] = raised.value.results
    assert result.outcome is Outcome.FAILED
    assert "AccessDenied on PutBucketEncryption" in (result.error or "")
    assert "s3:PutEncryptionConfiguration" in (result.error or "")
    assert [r.outcome for r in inbox.results] == [Outcome.FAILED]


def test_throttling_that_outlasts_the_retries_is_a_failure() -> None:
    clients = StubbedClients("s3")
    # The Stubber answers once and skips botocore's retry loop: this is the error left after the retries.
    clients.stubber.add_client_error("get_bucket_encryption", "SlowDown", "Please reduce your request rate", 503)
    engine, inbox = make_engine(clients=clients)

    with clients.stubber, pytest.raises(RemediationFailed, match="SlowDown"):
        engine.handle_event(load_event("s3-delete-bucket-encryption.json"))

    assert [r.outcome for r in inbox.results] == [Outcome.FAILED]


def test_every_client_retries_throttling_adaptively() -> None:
    config = Clients().ec2("us-east-1").meta.config

    assert config.retries["mode"] == "adaptive"
    assert config.retries["total_max_attempts"] == 7  # botocore counts the first call too


def test_one_failing_control_does_not_stop_the_others() -> None:
    g = group(vpc(), "backend-sg")
    authorize(g, 22, cidrs=("0.0.0.0/0",))
    from helpers import FaultyClients

    clients = FaultyClients()  # the database controls read RDS; vpc-sg-restricted-ports does not
    clients.fail("DescribeDBInstances", "AccessDenied", "not authorized")
    engine, inbox = make_engine(clients=clients)

    with pytest.raises(RemediationFailed) as raised:
        engine.handle_event(load_event("ec2-authorize-sg-ingress-ssh-world.json", backend_sg=g))

    failed = sorted(r.control_id for r in raised.value.results)
    assert failed == ["db-ingress-from-app-tier-only", "db-no-bastion-access"]
    assert ingress(g) == []  # the other control still fixed the group
    assert ("vpc-sg-restricted-ports", Outcome.REMEDIATED) in [(r.control_id, r.outcome) for r in inbox.results]
    assert sorted(r.control_id for r in inbox.results if r.outcome is Outcome.FAILED) == failed


def test_a_notification_that_cannot_be_sent_fails_the_invocation_after_the_fix() -> None:
    boto3.client("s3").create_bucket(Bucket=BUCKET)

    def broken(result: Result) -> None:
        raise ConnectionError("SNS unreachable")

    engine, _ = make_engine()
    engine.notify = broken

    with pytest.raises(RemediationFailed, match="SNS unreachable"):
        engine.handle_event(load_event("s3-delete-bucket-encryption.json"))
    rules = boto3.client("s3").get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"


def test_an_event_no_control_cares_about_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    event = load_event("s3-delete-bucket-encryption.json")
    event["detail"]["eventName"] = "PutBucketTagging"
    engine, inbox = make_engine()

    assert engine.handle_event(event) == []
    assert "no control applies" in caplog.text
    assert inbox.results == []


def test_a_fix_that_fails_half_way_records_what_is_live_afterwards() -> None:
    from helpers import FaultyClients

    ec2 = boto3.client("ec2")
    v = vpc()
    subnets = [
        ec2.create_subnet(VpcId=v, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=f"us-east-1{z}")["Subnet"]["SubnetId"]
        for i, z in ((1, "a"), (2, "b"))
    ]
    g = group(v, "edge-sg")
    boto3.client("elbv2").create_load_balancer(
        Name="edge", Subnets=subnets, SecurityGroups=[g], Scheme="internet-facing"
    )
    authorize(g, None, protocol="-1", cidrs6=("::/0",))
    clients = FaultyClients()
    clients.fail("RevokeSecurityGroupIngress", "UnauthorizedOperation")
    engine, inbox = make_engine(clients=clients)

    with pytest.raises(RemediationFailed):
        engine.handle_event(load_event("ec2-authorize-sg-ingress-ssh-world.json", backend_sg=g))

    [failed] = [r for r in inbox.results if r.control_id == "vpc-sg-restricted-ports"]
    assert "partly applied" in (failed.error or "")
    after = {(r.get("IpProtocol"), r.get("FromPort")) for r in (failed.state_after or {})["ingress_rules"]}
    assert after == {("-1", -1), ("tcp", 80), ("tcp", 443)}  # the re-added public ports show


def test_the_controls_of_one_event_read_who_plays_which_role_once() -> None:
    g = group(vpc(), "backend-sg")
    authorize(g, 22, cidrs=("0.0.0.0/0",))
    clients = CountingClients()
    engine, _ = make_engine(clients=clients)

    results = engine.handle_event(load_event("ec2-authorize-sg-ingress-ssh-world.json", backend_sg=g))

    assert len(results) == 5  # every security-group control judged the group
    assert [r.outcome for r in results if r.control_id == "vpc-sg-restricted-ports"] == [Outcome.REMEDIATED]
    assert clients.calls.count("DescribeDBInstances") == 1  # the database groups, shared by the five
    assert ingress(g) == []


def test_outside_an_event_roles_are_read_each_time() -> None:
    from phiguard.core import roles

    g = group(vpc(), "app-sg")
    clients = CountingClients()
    engine, _ = make_engine(clients=clients)
    ref = ResourceRef("AWS::EC2::SecurityGroup", g, "us-east-1", "123456789012")
    roles.is_database_group(engine.context, ref)
    roles.is_database_group(engine.context, ref)

    assert clients.calls.count("DescribeDBInstances") == 2


def test_the_controls_of_one_event_share_reads_and_the_verifying_read_after_a_fix_is_live() -> None:
    g = group(vpc(), "backend-sg")
    authorize(g, 22, cidrs=("0.0.0.0/0",))
    clients = CountingClients()
    engine, _ = make_engine(clients=clients)

    results = engine.handle_event(load_event("ec2-authorize-sg-ingress-ssh-world.json", backend_sg=g))

    assert len(results) == 5
    sent = clients.calls
    revoke = sent.index("RevokeSecurityGroupIngress")
    assert sent[:revoke].count("DescribeSecurityGroupRules") == 1  # one read of the rules for every control
    assert sent[revoke + 1 :] == ["DescribeSecurityGroupRules"]  # the verifying read reached EC2
    assert sent.count("DescribeSecurityGroups") == 1  # the group (name, tags, role) once; no other group's tags
    assert ingress(g) == []


def test_shared_reads_answer_with_copies_drop_everything_on_a_write_and_exist_only_inside_an_event() -> None:
    from phiguard.core import aws

    clients = CountingClients()
    ec2 = clients.ec2("us-east-1")
    ec2.describe_vpcs()
    ec2.describe_vpcs()
    assert clients.calls == ["DescribeVpcs", "DescribeVpcs"]  # outside an event every read is sent

    clients.calls.clear()
    with aws.shared_reads():
        first = ec2.describe_vpcs()
        vpcs = [v["VpcId"] for v in first["Vpcs"]]
        first["Vpcs"].clear()  # a caller changing its answer changes no one else's
        assert [v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]] == vpcs != []
        vpc_id = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
        assert vpc_id in {v["VpcId"] for v in ec2.describe_vpcs()["Vpcs"]}
        clients.dynamodb("us-east-1").list_tables()
        clients.dynamodb("us-east-1").list_tables()
        ec2.describe_vpcs()
    assert clients.calls == ["DescribeVpcs", "CreateVpc", "DescribeVpcs", "ListTables", "ListTables"]
