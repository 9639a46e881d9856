"""Every file in events/ through the Lambda handler, against moto state, with SNS as the inbox."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from helpers import ACCOUNT, EVENTS, SELF_ROLE, alb, authorize, group, ingress, listener_actions, load_event, vpc
from phiguard.controls.alb_http_to_https_redirection_check import redirect_action
from phiguard.controls.s3_bucket_ssl_requests_only import tls_only_statement
from phiguard.handlers.remediate import lambda_handler
from phiguard_local.demo import LambdaContextStub

pytestmark = pytest.mark.usefixtures("aws")
BUCKET = "phi-data-123456789012"


@dataclass
class Topic:
    arn: str
    queue_url: str

    def messages(self) -> list[dict[str, Any]]:
        sqs = boto3.client("sqs")
        out = []
        while batch := sqs.receive_message(
            QueueUrl=self.queue_url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
        ).get("Messages", []):
            for message in batch:
                out.append(json.loads(message["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        return out


@pytest.fixture
def topic(monkeypatch: pytest.MonkeyPatch) -> Topic:
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    arn = sns.create_topic(Name="phiguard")["TopicArn"]
    url = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=arn, Protocol="sqs", Endpoint=queue_arn)
    monkeypatch.setenv("PHIGUARD_MODE", "enforce")
    monkeypatch.setenv("PHIGUARD_TOPIC_ARN", arn)
    monkeypatch.setenv("PHIGUARD_SELF_ROLE_ARNS", SELF_ROLE)
    return Topic(arn, url)


def handle(event: dict[str, Any]) -> list[dict[str, Any]]:
    return lambda_handler(event, LambdaContextStub())  # type: ignore[arg-type]


# Each case: set up moto so the event's resource exists in its drifted state, then check the outcome.


def bucket(encryption: str | None) -> Callable[[], dict[str, str]]:
    def setup() -> dict[str, str]:
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket=BUCKET)
        if encryption:
            s3.put_bucket_encryption(
                Bucket=BUCKET,
                ServerSideEncryptionConfiguration={
                    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": encryption}}]
                },
            )
        return {}

    return setup


def world_open_group(*permissions: dict[str, Any]) -> Callable[[], dict[str, str]]:
    def setup() -> dict[str, str]:
        g = group(vpc(), "backend-sg")
        for permission in permissions:
            authorize(g, **permission)
        return {"backend_sg": g}

    return setup


def by_name_group() -> dict[str, str]:
    g = boto3.client("ec2").create_security_group(GroupName="legacy-web", Description="legacy")["GroupId"]
    authorize(g, None, protocol="-1", cidrs=("0.0.0.0/0",))
    return {"backend_sg": g}


def bastion_and_database() -> dict[str, str]:
    v = vpc()
    database, backend, bastion = (
        group(v, "db-sg", "database"),
        group(v, "backend-sg"),
        group(v, "bastion-sg", "bastion"),
    )
    authorize(database, 3306, groups=(backend,))
    authorize(database, 3306, groups=(bastion,))
    return {"database_sg": database, "bastion_sg": bastion, "backend_sg": backend}


def forwarding_alb() -> dict[str, str]:
    world = alb()
    return {"lb": world.lb, "listener": world.http, "target_group": world.target_group}


WEAK_TLS_POLICY = "ELBSecurityPolicy-2016-08"
DB, DB_SNAPSHOT, UNENCRYPTED_DB = "phi-db", "phi-db-nightly", "phi-reports-mysql"
OTHER_ACCOUNT = "111122223333"
TRAIL_NAME, TRAIL_BUCKET = "phi-audit", "phi-trail-logs"
TRAIL_ARN = f"arn:aws:cloudtrail:us-east-1:{ACCOUNT}:trail/{TRAIL_NAME}"
FLOW_LOGS = "arn:aws:s3:::phi-flow-logs"
LOG_BUCKET = "phi-access-logs-123456789012"
WEAK_PASSWORD_POLICY: dict[str, Any] = {
    "MinimumPasswordLength": 8,
    "RequireSymbols": False,
    "RequireNumbers": True,
    "RequireUppercaseCharacters": True,
    "RequireLowercaseCharacters": True,
    "AllowUsersToChangePassword": True,
    "MaxPasswordAge": 90,
    "PasswordReusePrevention": 24,
    "HardExpiry": False,
}
VPC_ENDPOINT_ONLY = {
    "Sid": "OnlyThroughTheVpcEndpoint",
    "Effect": "Deny",
    "Principal": "*",
    "Action": "s3:*",
    "Resource": [f"arn:aws:s3:::{BUCKET}", f"arn:aws:s3:::{BUCKET}/*"],
    "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-0a1b2c3d4e5f60001"}},
}


def weak_tls_alb() -> dict[str, str]:
    """HTTP already redirects; the HTTPS listener was just given a policy that still accepts TLS 1.0."""
    world = alb()
    elbv2 = boto3.client("elbv2")
    elbv2.modify_listener(ListenerArn=world.http, DefaultActions=[redirect_action(443)])
    elbv2.modify_listener(ListenerArn=str(world.https), SslPolicy=WEAK_TLS_POLICY)
    return {"lb": world.lb, "listener": str(world.https), "target_group": world.target_group}


def db_instance(db_id: str = DB, engine: str = "postgres", **settings: Any) -> None:
    """An available instance that every RDS control accepts, but for the settings given."""
    accepted = {"MultiAZ": True, "BackupRetentionPeriod": 7, "DeletionProtection": True, "StorageEncrypted": True}
    boto3.client("rds").create_db_instance(
        DBInstanceIdentifier=db_id,
        Engine=engine,
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        MasterUsername="phiadmin",
        MasterUserPassword="correct-horse-battery",
        **{**accepted, **settings},
    )


def rds_instance(db_id: str) -> dict[str, Any]:
    return dict(boto3.client("rds").describe_db_instances(DBInstanceIdentifier=db_id)["DBInstances"][0])


def public_database() -> dict[str, str]:
    db_instance(PubliclyAccessible=True)
    return {}


def snapshot_shared_with_everyone() -> dict[str, str]:
    """A manual snapshot shared with one partner account, then with "all"."""
    db_instance()
    rds = boto3.client("rds")
    rds.create_db_snapshot(DBInstanceIdentifier=DB, DBSnapshotIdentifier=DB_SNAPSHOT)
    rds.modify_db_snapshot_attribute(
        DBSnapshotIdentifier=DB_SNAPSHOT, AttributeName="restore", ValuesToAdd=[OTHER_ACCOUNT]
    )
    rds.modify_db_snapshot_attribute(DBSnapshotIdentifier=DB_SNAPSHOT, AttributeName="restore", ValuesToAdd=["all"])
    return {}


def restore_shares(snapshot_id: str) -> list[str]:
    attributes = boto3.client("rds").describe_db_snapshot_attributes(DBSnapshotIdentifier=snapshot_id)[
        "DBSnapshotAttributesResult"
    ]["DBSnapshotAttributes"]
    return sorted(v for a in attributes if a["AttributeName"] == "restore" for v in a.get("AttributeValues", []))


def unencrypted_database() -> dict[str, str]:
    db_instance(UNENCRYPTED_DB, "mysql", StorageEncrypted=False, PubliclyAccessible=False)
    return {}


def trail(*, logging: bool = True, **settings: Any) -> dict[str, str]:
    """A trail that every trail control accepts, but for the settings given."""
    boto3.client("s3").create_bucket(Bucket=TRAIL_BUCKET)
    cloudtrail = boto3.client("cloudtrail")
    config: dict[str, Any] = {
        "S3KeyPrefix": "audit",
        "IncludeGlobalServiceEvents": True,
        "IsMultiRegionTrail": True,
        "EnableLogFileValidation": True,
        "KmsKeyId": f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        "CloudWatchLogsLogGroupArn": f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:phi-trail:*",
        "CloudWatchLogsRoleArn": f"arn:aws:iam::{ACCOUNT}:role/phi-trail-to-logs",
        **settings,
    }
    cloudtrail.create_trail(Name=TRAIL_NAME, S3BucketName=TRAIL_BUCKET, **config)
    cloudtrail.start_logging(Name=TRAIL_NAME)
    if not logging:
        cloudtrail.stop_logging(Name=TRAIL_NAME)
    return {}


def trail_settings() -> dict[str, Any]:
    return dict(boto3.client("cloudtrail").get_trail(Name=TRAIL_ARN)["Trail"])


def weak_password_policy() -> dict[str, str]:
    boto3.client("iam").update_account_password_policy(**WEAK_PASSWORD_POLICY)
    return {}


def root_access_key() -> dict[str, str]:
    """The root user holds an access key. moto cannot create root keys: its account summary is set as AWS's would be."""
    from moto.iam.models import iam_backends

    iam_backends[ACCOUNT]["global"].account_summary._account_access_keys_present = 1
    return {}


def private_subnet_mapping_public_ips() -> dict[str, str]:
    """A subnet of a new VPC (its main route table has no internet gateway) that gives instances public IPs."""
    ec2 = boto3.client("ec2")
    subnet = ec2.create_subnet(VpcId=vpc(), CidrBlock="10.20.1.0/24")["Subnet"]["SubnetId"]
    ec2.modify_subnet_attribute(SubnetId=subnet, MapPublicIpOnLaunch={"Value": True})
    return {"subnet": subnet}


def flow_log_deleted() -> dict[str, str]:
    """A VPC whose flow log was just deleted (moto's default VPC has none either); the destination bucket exists."""
    boto3.client("s3").create_bucket(Bucket=FLOW_LOGS.rpartition(":")[2])
    ec2 = boto3.client("ec2")
    v = vpc()
    flow_logs = ec2.create_flow_logs(
        ResourceIds=[v], ResourceType="VPC", TrafficType="ALL", LogDestinationType="s3", LogDestination=FLOW_LOGS
    )["FlowLogIds"]
    ec2.delete_flow_logs(FlowLogIds=flow_logs)
    return {}


def vpcs_with_flow_logs() -> dict[str, bool]:
    ec2 = boto3.client("ec2")
    logged = {f["ResourceId"] for f in ec2.describe_flow_logs()["FlowLogs"]}
    return {v["VpcId"]: v["VpcId"] in logged for v in ec2.describe_vpcs()["Vpcs"]}


def bucket_policy_without_tls() -> dict[str, str]:
    bucket(None)()
    policy = {"Version": "2012-10-17", "Statement": [VPC_ENDPOINT_ONLY]}
    boto3.client("s3").put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(policy))
    return {}


def bucket_policy() -> list[dict[str, Any]]:
    statements: list[dict[str, Any]] = json.loads(boto3.client("s3").get_bucket_policy(Bucket=BUCKET)["Policy"])[
        "Statement"
    ]
    return statements


def versioning_suspended() -> dict[str, str]:
    bucket(None)()
    s3 = boto3.client("s3")
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_versioning(Bucket=BUCKET, VersioningConfiguration={"Status": "Suspended"})
    return {}


def access_logging_turned_off() -> dict[str, str]:
    """The PHI bucket logged to a log bucket (which admits the S3 logging service), until logging was turned off."""
    bucket(None)()
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=LOG_BUCKET)
    service_may_write = {
        "Effect": "Allow",
        "Principal": {"Service": "logging.s3.amazonaws.com"},
        "Action": "s3:PutObject",
        "Resource": f"arn:aws:s3:::{LOG_BUCKET}/*",
    }
    s3.put_bucket_policy(
        Bucket=LOG_BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [service_may_write]})
    )
    enabled = {"LoggingEnabled": {"TargetBucket": LOG_BUCKET, "TargetPrefix": f"{BUCKET}/"}}
    s3.put_bucket_logging(Bucket=BUCKET, BucketLoggingStatus=enabled)
    s3.put_bucket_logging(Bucket=BUCKET, BucketLoggingStatus={})
    return {}


TLS_LISTENER_CONTROLS_COMPLIANT = [("elbv2-acm-certificate-required", "compliant"), ("elbv2-tls-policy", "compliant")]
RDS_INSTANCE_CONTROLS_COMPLIANT = [
    ("db-instance-backup-enabled", "compliant"),
    ("rds-instance-deletion-protection-enabled", "compliant"),
    ("rds-multi-az-support", "compliant"),
]

CASES: dict[str, tuple[Callable[[], dict[str, str]], list[tuple[str, str]]]] = {
    "s3-delete-bucket-encryption.json": (bucket(None), [("s3-default-encryption-kms", "remediated")]),
    "s3-put-bucket-encryption-sse-s3.json": (bucket("AES256"), [("s3-default-encryption-kms", "remediated")]),
    "s3-create-bucket.json": (
        bucket(None),
        [
            ("s3-default-encryption-kms", "remediated"),
            ("s3-bucket-level-public-access-prohibited", "remediated"),
            ("s3-bucket-ssl-requests-only", "remediated"),
            ("s3-bucket-versioning-enabled", "remediated"),
            ("s3-bucket-logging-enabled", "needs_attention"),  # no log bucket configured here
        ],
    ),
    "ec2-authorize-sg-ingress-ssh-world.json": (
        world_open_group({"port": 22, "cidrs": ("0.0.0.0/0",), "cidrs6": ("::/0",)}),
        [("db-no-bastion-access", "not_applicable"), ("vpc-sg-restricted-ports", "remediated")],
    ),
    "ec2-authorize-sg-ingress-legacy-mixed-cidrs.json": (
        world_open_group({"port": 5432, "cidrs": ("0.0.0.0/0", "10.20.0.0/16")}),
        [("db-no-bastion-access", "not_applicable"), ("vpc-sg-restricted-ports", "remediated")],
    ),
    "ec2-authorize-sg-ingress-by-group-name.json": (
        by_name_group,
        [("db-no-bastion-access", "not_applicable"), ("vpc-sg-restricted-ports", "remediated")],
    ),
    "ec2-modify-security-group-rules.json": (
        world_open_group({"port": 0, "to_port": 65535, "cidrs": ("0.0.0.0/0",)}),
        [("db-no-bastion-access", "not_applicable"), ("vpc-sg-restricted-ports", "remediated")],
    ),
    "ec2-create-security-group.json": (world_open_group(), [("vpc-sg-restricted-ports", "compliant")]),
    "ec2-authorize-sg-ingress-bastion-to-database.json": (
        bastion_and_database,
        [
            ("db-no-bastion-access", "remediated"),
            ("vpc-sg-restricted-ports", "compliant"),
            ("db-ingress-from-app-tier-only", "needs_attention"),
        ],  # the backend group is not tagged here
    ),
    "ec2-authorize-sg-ingress-failed-call.json": (world_open_group({"port": 22, "cidrs": ("0.0.0.0/0",)}), []),
    "ec2-authorize-sg-ingress-by-phiguard-role.json": (world_open_group({"port": 22, "cidrs": ("0.0.0.0/0",)}), []),
    "elb-modify-listener-http-forward.json": (
        forwarding_alb,
        [("alb-http-to-https-redirection-check", "remediated"), *TLS_LISTENER_CONTROLS_COMPLIANT],
    ),
    "elb-create-listener-http-forward.json": (
        forwarding_alb,
        [("alb-http-to-https-redirection-check", "remediated"), *TLS_LISTENER_CONTROLS_COMPLIANT],
    ),
    "elb-create-listener-by-aws-service.json": (
        forwarding_alb,
        [("alb-http-to-https-redirection-check", "remediated"), *TLS_LISTENER_CONTROLS_COMPLIANT],
    ),
    # The TLS controls read network load balancers too: this one does not exist in moto.
    "elb-create-listener-network-lb.json": (
        lambda: {},
        [("elbv2-acm-certificate-required", "not_applicable"), ("elbv2-tls-policy", "not_applicable")],
    ),
    "kms-schedule-key-deletion.json": (
        lambda: {"kms_key": scheduled_key()},
        [("kms-cmk-not-scheduled-for-deletion", "remediated")],
    ),
    "kms-disable-key-rotation.json": (
        lambda: {"kms_key": boto3.client("kms").create_key()["KeyMetadata"]["KeyId"]},
        [("cmk-backing-key-rotation-enabled", "remediated")],
    ),
    "ec2-disable-ebs-encryption-by-default.json": (lambda: {}, [("ec2-ebs-encryption-by-default", "remediated")]),
    "ec2-create-volume-unencrypted.json": (
        lambda: {"volume": boto3.client("ec2").create_volume(AvailabilityZone="us-east-1a", Size=8)["VolumeId"]},
        [("encrypted-volumes", "needs_attention")],
    ),
    # A service that is not HIPAA-eligible: the call itself is the evidence, nothing is read from AWS.
    "managedblockchain-create-network.json": (lambda: {}, [("hipaa-eligible-services-only", "needs_attention")]),
    # AWS Config: an item names a resource that every control of its type re-reads live.
    "config-item-change-s3-bucket.json": (
        bucket("AES256"),
        [
            ("s3-default-encryption-kms", "remediated"),
            ("s3-bucket-level-public-access-prohibited", "remediated"),
            ("s3-bucket-ssl-requests-only", "remediated"),
            ("s3-bucket-versioning-enabled", "remediated"),
            ("s3-bucket-logging-enabled", "needs_attention"),
        ],
    ),
    "config-item-change-oversized-security-group.json": (
        world_open_group({"port": 22, "cidrs": ("0.0.0.0/0",)}),
        [
            ("vpc-sg-restricted-ports", "remediated"),
            ("bastion-ssh-from-allowed-cidrs", "not_applicable"),
            ("db-ingress-from-app-tier-only", "not_applicable"),
            ("db-no-bastion-access", "not_applicable"),
            ("vpc-default-security-group-closed", "not_applicable"),
        ],
    ),
    # A drifted bucket of that name exists, yet nothing acts on an item whose resource Config saw deleted.
    "config-item-change-deleted.json": (bucket(None), []),
    "config-compliance-change-conformance-pack.json": (
        lambda: {**bucket(None)(), **conformance_pack_rule()},
        [("s3-bucket-ssl-requests-only", "remediated")],  # the rule's control only, not every bucket control
    ),
    "config-compliance-change-unknown-rule.json": (bucket(None), []),
    # RDS: CloudTrail writes its members with a lowercase first letter (dBInstanceIdentifier, dBSnapshotIdentifier).
    "rds-modify-db-instance-publicly-accessible.json": (
        public_database,
        [("rds-instance-public-access-check", "remediated"), *RDS_INSTANCE_CONTROLS_COMPLIANT],
    ),
    "rds-modify-db-snapshot-attribute-public.json": (
        snapshot_shared_with_everyone,
        [("rds-snapshots-public-prohibited", "remediated")],
    ),
    "rds-create-db-instance-unencrypted.json": (
        unencrypted_database,
        [
            ("rds-storage-encrypted", "needs_attention"),  # notify: RDS cannot encrypt an instance in place
            ("rds-instance-public-access-check", "compliant"),
            *RDS_INSTANCE_CONTROLS_COMPLIANT,
        ],
    ),
    # CloudTrail's own calls name the trail by "name" (a name or an ARN); UpdateTrail answers with trailARN.
    "cloudtrail-stop-logging-by-arn.json": (lambda: trail(logging=False), [("cloudtrail-enabled", "remediated")]),
    "cloudtrail-update-trail-log-file-validation-off.json": (
        lambda: trail(EnableLogFileValidation=False),
        [
            ("cloud-trail-log-file-validation-enabled", "remediated"),
            ("cloud-trail-cloud-watch-logs-enabled", "compliant"),
            ("cloud-trail-encryption-enabled", "compliant"),
            ("multi-region-cloudtrail-enabled", "compliant"),
        ],
    ),
    # IAM is global: its calls are recorded in us-east-1, and name the account only through who made them.
    "iam-update-account-password-policy-weakened.json": (weak_password_policy, [("iam-password-policy", "remediated")]),
    "iam-create-access-key-by-root.json": (root_access_key, [("iam-root-access-key-check", "needs_attention")]),
    "elb-modify-listener-weak-tls-policy.json": (
        weak_tls_alb,
        [
            ("elbv2-tls-policy", "remediated"),
            ("elbv2-acm-certificate-required", "compliant"),
            ("alb-http-to-https-redirection-check", "compliant"),
        ],
    ),
    "ec2-modify-subnet-attribute-map-public-ip.json": (
        private_subnet_mapping_public_ips,
        [("subnet-auto-assign-public-ip-disabled", "remediated")],
    ),
    # DeleteFlowLogs names only the flow log: every VPC of the region is judged (moto's default VPC and the new one),
    # each on its own; no destination is configured here.
    "ec2-delete-flow-logs.json": (flow_log_deleted, [("vpc-flow-logs-enabled", "needs_attention")] * 2),
    "s3-put-bucket-policy-without-tls.json": (
        bucket_policy_without_tls,
        [("s3-bucket-ssl-requests-only", "remediated")],
    ),
    "s3-delete-bucket-policy.json": (bucket(None), [("s3-bucket-ssl-requests-only", "remediated")]),
    "s3-put-bucket-versioning-suspended.json": (versioning_suspended, [("s3-bucket-versioning-enabled", "remediated")]),
    "s3-put-bucket-logging-off.json": (
        access_logging_turned_off,
        [("s3-bucket-logging-enabled", "needs_attention")],  # no log bucket configured here
    ),
}


def conformance_pack_rule() -> dict[str, str]:
    boto3.client("config").put_config_rule(
        ConfigRule={
            "ConfigRuleName": "s3-bucket-ssl-requests-only-conformance-pack-abcd1234",
            "Source": {"Owner": "AWS", "SourceIdentifier": "S3_BUCKET_SSL_REQUESTS_ONLY"},
            "Scope": {"ComplianceResourceTypes": ["AWS::S3::Bucket"]},
        }
    )
    return {}


def scheduled_key() -> str:
    key = boto3.client("kms").create_key()["KeyMetadata"]["KeyId"]
    boto3.client("kms").schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    return str(key)


# What a sample leaves in moto once handled: the fix made, or nothing changed and a person told the steps.
Results = list[dict[str, Any]]


def steps_told(results: Results, control_id: str) -> list[str]:
    [result] = [r for r in results if r["control_id"] == control_id]
    return [step for violation in result["remaining"] for step in violation["manual_steps"]]


def then_the_instance_is_private(ids: dict[str, str], results: Results) -> None:
    assert rds_instance(DB)["PubliclyAccessible"] is False


def then_only_everyone_loses_the_snapshot(ids: dict[str, str], results: Results) -> None:
    assert restore_shares(DB_SNAPSHOT) == [OTHER_ACCOUNT]


def then_the_instance_is_left_and_the_rebuild_is_told(ids: dict[str, str], results: Results) -> None:
    db = rds_instance(UNENCRYPTED_DB)
    assert (db["StorageEncrypted"], db["DBInstanceStatus"]) == (False, "available")
    steps = steps_told(results, "rds-storage-encrypted")
    assert any("copy-db-snapshot" in step and "--kms-key-id" in step for step in steps)
    assert any("restore-db-instance-from-db-snapshot" in step for step in steps)


def then_the_trail_logs_again(ids: dict[str, str], results: Results) -> None:
    assert boto3.client("cloudtrail").get_trail_status(Name=TRAIL_ARN)["IsLogging"] is True


def then_validation_is_on_and_nothing_else_changed(ids: dict[str, str], results: Results) -> None:
    after = trail_settings()
    assert after["LogFileValidationEnabled"] is True
    assert (after["IsMultiRegionTrail"], after["KmsKeyId"], after["CloudWatchLogsLogGroupArn"]) == (
        True,
        f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        f"arn:aws:logs:us-east-1:{ACCOUNT}:log-group:phi-trail:*",
    )


def then_only_the_weak_settings_are_raised(ids: dict[str, str], results: Results) -> None:
    policy = boto3.client("iam").get_account_password_policy()["PasswordPolicy"]
    raised = {**WEAK_PASSWORD_POLICY, "MinimumPasswordLength": 14, "RequireSymbols": True}
    assert {name: policy.get(name) for name in WEAK_PASSWORD_POLICY} == raised


def then_the_root_key_stays_and_its_removal_is_told(ids: dict[str, str], results: Results) -> None:
    assert boto3.client("iam").get_account_summary()["SummaryMap"]["AccountAccessKeysPresent"] == 1
    assert any("Deactivate the root access keys" in step for step in steps_told(results, "iam-root-access-key-check"))


def then_the_listener_has_the_configured_policy_and_keeps_the_rest(ids: dict[str, str], results: Results) -> None:
    [listener] = boto3.client("elbv2").describe_listeners(ListenerArns=[ids["listener"]])["Listeners"]
    assert listener["SslPolicy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert [a["Type"] for a in listener["DefaultActions"]] == ["forward"]
    assert len(listener["Certificates"]) == 1


def then_the_subnet_gives_no_public_ips(ids: dict[str, str], results: Results) -> None:
    [subnet] = boto3.client("ec2").describe_subnets(SubnetIds=[ids["subnet"]])["Subnets"]
    assert subnet["MapPublicIpOnLaunch"] is False


def then_every_unlogged_vpc_is_told(ids: dict[str, str], results: Results) -> None:
    vpcs = vpcs_with_flow_logs()
    assert len(vpcs) == 2 and not any(vpcs.values())  # nothing was created
    assert sorted(r["resource"]["id"] for r in results) == sorted(vpcs)
    for result in results:
        assert any("FlowLogDestination" in step for step in steps_told([result], "vpc-flow-logs-enabled"))


def then_the_tls_statement_is_merged_in(ids: dict[str, str], results: Results) -> None:
    assert bucket_policy() == [VPC_ENDPOINT_ONLY, tls_only_statement(BUCKET)]


def then_the_policy_is_the_tls_statement(ids: dict[str, str], results: Results) -> None:
    assert bucket_policy() == [tls_only_statement(BUCKET)]


def then_versioning_is_enabled(ids: dict[str, str], results: Results) -> None:
    assert boto3.client("s3").get_bucket_versioning(Bucket=BUCKET)["Status"] == "Enabled"


def then_logging_stays_off_and_the_steps_are_told(ids: dict[str, str], results: Results) -> None:
    assert "LoggingEnabled" not in boto3.client("s3").get_bucket_logging(Bucket=BUCKET)
    assert any("LogBucketName" in step for step in steps_told(results, "s3-bucket-logging-enabled"))


STATE_AFTER: dict[str, Callable[[dict[str, str], Results], None]] = {
    "rds-modify-db-instance-publicly-accessible.json": then_the_instance_is_private,
    "rds-modify-db-snapshot-attribute-public.json": then_only_everyone_loses_the_snapshot,
    "rds-create-db-instance-unencrypted.json": then_the_instance_is_left_and_the_rebuild_is_told,
    "cloudtrail-stop-logging-by-arn.json": then_the_trail_logs_again,
    "cloudtrail-update-trail-log-file-validation-off.json": then_validation_is_on_and_nothing_else_changed,
    "iam-update-account-password-policy-weakened.json": then_only_the_weak_settings_are_raised,
    "iam-create-access-key-by-root.json": then_the_root_key_stays_and_its_removal_is_told,
    "elb-modify-listener-weak-tls-policy.json": then_the_listener_has_the_configured_policy_and_keeps_the_rest,
    "ec2-modify-subnet-attribute-map-public-ip.json": then_the_subnet_gives_no_public_ips,
    "ec2-delete-flow-logs.json": then_every_unlogged_vpc_is_told,
    "s3-put-bucket-policy-without-tls.json": then_the_tls_statement_is_merged_in,
    "s3-delete-bucket-policy.json": then_the_policy_is_the_tls_statement,
    "s3-put-bucket-versioning-suspended.json": then_versioning_is_enabled,
    "s3-put-bucket-logging-off.json": then_logging_stays_off_and_the_steps_are_told,
}


def test_every_sample_event_has_a_case() -> None:
    assert sorted(p.name for p in EVENTS.glob("*.json")) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_sample_event_through_the_handler(name: str, topic: Topic) -> None:
    setup, expected = CASES[name]
    ids = setup()

    results = handle(load_event(name, **ids))

    # Every control the call concerns answers; those for which the resource is not in scope are left out here.
    applicable = sorted((r["control_id"], r["outcome"]) for r in results if r["outcome"] != "not_applicable")
    assert applicable == sorted(e for e in expected if e[1] != "not_applicable")
    notified = [r for r in results if r["outcome"] not in ("compliant", "not_applicable")]
    messages = topic.messages()
    assert len(messages) == len(notified)
    for message, result in zip(messages, notified, strict=True):
        body = json.loads(message["Message"])
        assert body["control_id"] == result["control_id"]
        assert body["resource"]["id"] == result["resource"]["id"]
        assert message["MessageAttributes"]["outcome"]["Value"] == result["outcome"]
        assert message["MessageAttributes"]["control_id"]["Value"] == result["control_id"]
        assert body["remaining"] == result["remaining"]  # the manual steps a person is told are in the message
    if then := STATE_AFTER.get(name):
        then(ids, results)


def test_every_state_check_names_a_sample() -> None:
    assert set(STATE_AFTER) <= set(CASES)


def test_a_failed_call_changes_nothing_even_when_the_group_is_open() -> None:
    ids = world_open_group({"port": 22, "cidrs": ("0.0.0.0/0",)})()

    assert handle(load_event("ec2-authorize-sg-ingress-failed-call.json", **ids)) == []
    assert ingress(ids["backend_sg"]) == [("tcp", 22, 22, "0.0.0.0/0")]


def test_the_products_own_call_coming_back_is_ignored(topic: Topic, caplog: pytest.LogCaptureFixture) -> None:
    ids = world_open_group({"port": 22, "cidrs": ("0.0.0.0/0",)})()

    assert handle(load_event("ec2-authorize-sg-ingress-by-phiguard-role.json", **ids)) == []
    assert topic.messages() == []
    assert "own remediation call ignored" in caplog.text


def test_the_same_event_delivered_twice_makes_one_change_and_one_message(topic: Topic) -> None:
    ids = forwarding_alb()
    event = load_event("elb-modify-listener-http-forward.json", **ids)

    first, second = handle(event), handle(event)

    redirect = "alb-http-to-https-redirection-check"
    assert [r["outcome"] for r in first if r["control_id"] == redirect] == ["remediated"]
    assert [r["outcome"] for r in second if r["control_id"] == redirect] == ["compliant"]
    assert len(topic.messages()) == 1
    assert listener_actions(ids["listener"])[0]["Type"] == "redirect"


def test_a_resource_deleted_before_the_event_is_handled_is_logged_and_not_notified(
    topic: Topic, caplog: pytest.LogCaptureFixture
) -> None:
    results = handle(load_event("s3-delete-bucket-encryption.json"))

    assert [r["outcome"] for r in results] == ["not_applicable"]
    assert topic.messages() == []
    assert "resource gone" in caplog.text


def test_dry_run_mode_notifies_the_plan_and_changes_nothing(topic: Topic, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PHIGUARD_MODE", "dry-run")
    ids = world_open_group({"port": 22, "cidrs": ("0.0.0.0/0",)})()

    results = handle(load_event("ec2-authorize-sg-ingress-ssh-world.json", **ids))

    assert ("vpc-sg-restricted-ports", "would_remediate") in [(r["control_id"], r["outcome"]) for r in results]
    assert ingress(ids["backend_sg"]) == [("tcp", 22, 22, "0.0.0.0/0")]
    assert json.loads(topic.messages()[0]["Message"])["mode"] == "dry-run"


def test_a_malformed_event_is_logged_and_not_retried(caplog: pytest.LogCaptureFixture) -> None:
    assert handle({"detail-type": "AWS API Call via CloudTrail", "source": "aws.s3", "detail": "garbage"}) == []
    assert "malformed event ignored" in caplog.text


def test_a_malformed_event_is_alerted_once(topic: Topic) -> None:
    handle({"detail-type": "AWS API Call via CloudTrail", "source": "aws.s3", "detail": "garbage"})

    [message] = topic.messages()
    assert message["MessageAttributes"]["severity"]["Value"] == "medium"  # "warning" on the findings' scale
    assert "could not read an event" in message["Subject"]


def test_a_bucket_name_aws_rejects_is_reported_not_retried(topic: Topic, caplog: pytest.LogCaptureFixture) -> None:
    event = load_event("s3-delete-bucket-encryption.json")
    event["detail"]["requestParameters"]["bucketName"] = "arn:aws:s3:::phi-data"

    results = handle(event)  # no exception: Lambda must not retry what cannot succeed

    assert [r["outcome"] for r in results] == ["not_applicable"]
    assert "rejects as invalid" in caplog.text
    assert [m["MessageAttributes"]["severity"]["Value"] for m in topic.messages()] == ["medium"]


def test_an_event_that_names_no_readable_resource_is_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    event = load_event("elb-modify-listener-http-forward.json")
    event["detail"]["requestParameters"] = None
    event["detail"]["responseElements"] = "unexpected"

    assert handle(event) == []
    assert "names no resource a control can read" in caplog.text


def test_a_group_name_outside_the_default_vpc_is_never_guessed() -> None:
    g = group(vpc(), "legacy-web")  # same name, but not in the default VPC: EC2's name form cannot reach it
    authorize(g, None, protocol="-1", cidrs=("0.0.0.0/0",))

    results = handle(load_event("ec2-authorize-sg-ingress-by-group-name.json"))

    assert {r["outcome"] for r in results} == {"not_applicable"}
    assert ingress(g) == [("-1", -1, -1, "0.0.0.0/0")]


def test_a_deleted_flow_log_with_a_destination_configured_gives_every_vpc_a_flow_log_again(
    topic: Topic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHIGUARD_FLOW_LOG_DESTINATION", FLOW_LOGS)
    flow_log_deleted()

    results = handle(load_event("ec2-delete-flow-logs.json"))

    assert [(r["control_id"], r["outcome"]) for r in results] == [("vpc-flow-logs-enabled", "remediated")] * 2
    vpcs = vpcs_with_flow_logs()
    assert len(vpcs) == 2 and all(vpcs.values())
    assert len(topic.messages()) == 2


def test_access_logging_turned_off_with_a_log_bucket_configured_logs_there_again(
    topic: Topic, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PHIGUARD_LOG_BUCKET", LOG_BUCKET)
    access_logging_turned_off()

    results = handle(load_event("s3-put-bucket-logging-off.json"))

    assert [(r["control_id"], r["outcome"]) for r in results] == [("s3-bucket-logging-enabled", "remediated")]
    logging = boto3.client("s3").get_bucket_logging(Bucket=BUCKET)["LoggingEnabled"]
    assert (logging["TargetBucket"], logging["TargetPrefix"]) == (LOG_BUCKET, f"{BUCKET}/")
    assert len(topic.messages()) == 1
