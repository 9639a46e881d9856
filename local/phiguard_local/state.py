"""Live state of the reference architecture, read back through the AWS API, and checks on it."""

from __future__ import annotations

import json
from typing import Any

import boto3
from botocore.exceptions import ClientError

from phiguard_local.refarch import RefArch

KMS_ALGORITHMS = ("aws:kms", "aws:kms:dsse")


def _encryption(bucket: str) -> list[dict[str, Any]]:
    try:
        rules = boto3.client("s3").get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    except ClientError as e:
        if e.response["Error"]["Code"] == "ServerSideEncryptionConfigurationNotFoundError":
            return []
        raise
    return [dict(r) for r in rules]


def _rules(group_id: str) -> list[dict[str, Any]]:
    """Ingress rules without their ids (a rule re-added by a fix gets a new id but is the same rule)."""
    rules = boto3.client("ec2").describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group_id]}])[
        "SecurityGroupRules"
    ]
    keys = ("IpProtocol", "FromPort", "ToPort", "CidrIpv4", "CidrIpv6", "PrefixListId", "Description")
    shaped = [
        {
            **{k: r[k] for k in keys if k in r},
            **({"ReferencedGroupId": r["ReferencedGroupInfo"]["GroupId"]} if r.get("ReferencedGroupInfo") else {}),
        }
        for r in rules
        if not r["IsEgress"]
    ]
    return sorted(shaped, key=lambda r: sorted((k, str(v)) for k, v in r.items()))


def _listeners(lb_arn: str) -> dict[str, Any]:
    listeners = boto3.client("elbv2").describe_listeners(LoadBalancerArn=lb_arn)["Listeners"]
    return {
        f"{listener['Protocol']}:{listener['Port']}": {
            "arn": listener["ListenerArn"],
            "default_actions": listener["DefaultActions"],
            "ssl_policy": listener.get("SslPolicy"),
            # the default certificate: an added (SNI) certificate is a drift of its own, reported by design
            "default_certificate": next((c["CertificateArn"] for c in listener.get("Certificates", [])), None),
        }
        for listener in listeners
    }


def _s3_settings(bucket: str) -> dict[str, Any]:
    s3 = boto3.client("s3")
    try:
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    except ClientError:
        block = None
    return {
        "public_access_block": block,
        "versioning": s3.get_bucket_versioning(Bucket=bucket).get("Status"),
        "logging": s3.get_bucket_logging(Bucket=bucket).get("LoggingEnabled"),
    }


def _trail(arn: str) -> dict[str, Any]:
    client = boto3.client("cloudtrail")
    trail = client.get_trail(Name=arn)["Trail"]
    keys = (
        "IsMultiRegionTrail",
        "LogFileValidationEnabled",
        "KmsKeyId",
        "CloudWatchLogsLogGroupArn",
        "CloudWatchLogsRoleArn",
        "S3BucketName",
    )
    return {**{k: trail.get(k) for k in keys}, "IsLogging": client.get_trail_status(Name=arn)["IsLogging"]}


def _database(identifier: str) -> dict[str, Any]:
    db = boto3.client("rds").describe_db_instances(DBInstanceIdentifier=identifier)["DBInstances"][0]
    keys = ("PubliclyAccessible", "MultiAZ", "BackupRetentionPeriod", "DeletionProtection", "StorageEncrypted")
    return {k: db.get(k) for k in keys}


def snapshot_shares(snapshot_id: str) -> list[str]:
    attributes = boto3.client("rds").describe_db_snapshot_attributes(DBSnapshotIdentifier=snapshot_id)[
        "DBSnapshotAttributesResult"
    ]["DBSnapshotAttributes"]
    return sorted(v for a in attributes if a["AttributeName"] == "restore" for v in a.get("AttributeValues", []))


def snapshot(arch: RefArch) -> dict[str, Any]:
    from phiguard.core.aws import Clients

    account_block = Clients().s3control("us-east-1").get_public_access_block(AccountId=arch.account_id)
    return {
        "bucket_settings": {b: _s3_settings(b) for b in (arch.bucket, arch.trail_bucket, arch.log_bucket)},
        "account_public_access_block": account_block["PublicAccessBlockConfiguration"],
        "trail": _trail(arch.trail_arn),
        "database": _database(arch.db_instance),
        "bucket_encryption": {b: _encryption(b) for b in (arch.bucket, arch.trail_bucket)},
        "exempt_bucket_encryption": {arch.sandbox_bucket: _encryption(arch.sandbox_bucket)},
        "security_groups": {tier: {"id": gid, "ingress": _rules(gid)} for tier, gid in arch.groups.items()},
        "load_balancers": {
            tier: {"arn": arn, "listeners": _listeners(arn)} for tier, arn in arch.load_balancers.items()
        },
    }


# Independent checks of the drifted items, on a snapshot (not through PHI Guard's own code).


def bucket_encrypted_with_kms(state: dict[str, Any], bucket: str) -> bool:
    rules = {**state["bucket_encryption"], **state["exempt_bucket_encryption"]}[bucket]
    return bool(rules) and rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] in KMS_ALGORITHMS


def group_world_open_only_on(state: dict[str, Any], group_id: str, ports: set[int]) -> bool:
    group = next(g for g in state["security_groups"].values() if g["id"] == group_id)
    for rule in group["ingress"]:
        world = rule.get("CidrIpv4") == "0.0.0.0/0" or rule.get("CidrIpv6") == "::/0"
        single_public_port = rule["IpProtocol"] == "tcp" and rule["FromPort"] == rule["ToPort"] in ports
        if world and not single_public_port:
            return False
    return True


def http_listeners_redirect(state: dict[str, Any], lb_arn: str) -> bool:
    lb = next(lb for lb in state["load_balancers"].values() if lb["arn"] == lb_arn)
    http = [lr for key, lr in lb["listeners"].items() if key.startswith("HTTP:")]
    return all(
        [a["Type"] for a in lr["default_actions"]] == ["redirect"]
        and lr["default_actions"][0]["RedirectConfig"]["Protocol"] == "HTTPS"
        for lr in http
    )


def group_excludes_source(state: dict[str, Any], group_id: str, source_group: str) -> bool:
    group = next(g for g in state["security_groups"].values() if g["id"] == group_id)
    return all(rule.get("ReferencedGroupId") != source_group for rule in group["ingress"])


def bucket_encryption_unchanged(before: dict[str, Any], after: dict[str, Any], bucket: str) -> bool:
    return bool(before["exempt_bucket_encryption"][bucket] == after["exempt_bucket_encryption"][bucket])


def policy_sids(bucket: str) -> list[str]:
    policy = json.loads(boto3.client("s3").get_bucket_policy(Bucket=bucket)["Policy"])
    return [str(statement.get("Sid")) for statement in policy["Statement"]]
