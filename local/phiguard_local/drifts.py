"""Drifts injected the way a person causes them: a real API call, then the CloudTrail event it makes."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from phiguard_local import cloudtrail
from phiguard_local.refarch import RefArch, account_public_access_block


@dataclass(frozen=True)
class Drift:
    control_id: str
    resource_id: str
    description: str
    event: dict[str, Any]
    exempt: bool = False  # its owners exempted it: PHI Guard must leave it alone
    scheduled_only: bool = False  # no API call causes it: the sweep's evaluation finds it


def _new_rules(group_id: str, before: set[str]) -> list[dict[str, Any]]:
    rules = boto3.client("ec2").describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group_id]}])[
        "SecurityGroupRules"
    ]
    return [r for r in rules if r["SecurityGroupRuleId"] not in before]


def _rule_ids(group_id: str) -> set[str]:
    return {r["SecurityGroupRuleId"] for r in _new_rules(group_id, set())}


def _delete_encryption(bucket: str) -> dict[str, Any]:
    boto3.client("s3").delete_bucket_encryption(Bucket=bucket)
    request = {"bucketName": bucket, "Host": f"{bucket}.s3.amazonaws.com", "encryption": ""}
    return cloudtrail.envelope("aws.s3", cloudtrail.detail("s3", "DeleteBucketEncryption", request, None))


def _s3_event(name: str, bucket: str, **request: Any) -> dict[str, Any]:
    parameters = {"bucketName": bucket, "Host": f"{bucket}.s3.amazonaws.com", **request}
    return cloudtrail.envelope("aws.s3", cloudtrail.detail("s3", name, parameters, None))


def delete_public_access_block(arch: RefArch) -> Drift:
    boto3.client("s3").delete_public_access_block(Bucket=arch.bucket)
    return Drift(
        "s3-bucket-level-public-access-prohibited",
        arch.bucket,
        "DeletePublicAccessBlock on the PHI bucket",
        _s3_event("DeleteBucketPublicAccessBlock", arch.bucket, publicAccessBlock=""),
    )


def account_public_access_weakened(arch: RefArch) -> Drift:
    account_public_access_block(on=False)
    request = {
        "PublicAccessBlockConfiguration": {
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": False,
            "RestrictPublicBuckets": True,
        },
        "x-amz-account-id": cloudtrail.ACCOUNT_ID,
    }
    event = cloudtrail.envelope("aws.s3", cloudtrail.detail("s3", "PutAccountPublicAccessBlock", request, None))
    return Drift(
        "s3-account-level-public-access-blocks",
        cloudtrail.ACCOUNT_ID,
        "account-level BlockPublicPolicy turned off",
        event,
    )


def policy_replaced_without_tls(arch: RefArch) -> Drift:
    """The policy is replaced by one that keeps the VPC-endpoint restriction but drops the TLS deny."""
    arn = f"arn:aws:s3:::{arch.bucket}"
    policy = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "OnlyThroughTheVpcEndpoint",
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": [arn, f"{arn}/*"],
                "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-0a1b2c3d4e5f60001"}},
            }
        ],
    }
    boto3.client("s3").put_bucket_policy(Bucket=arch.bucket, Policy=json.dumps(policy))
    return Drift(
        "s3-bucket-ssl-requests-only",
        arch.bucket,
        "bucket policy replaced, TLS-only statement dropped",
        _s3_event("PutBucketPolicy", arch.bucket, bucketPolicy=policy, policy=""),
    )


def versioning_suspended(arch: RefArch) -> Drift:
    boto3.client("s3").put_bucket_versioning(Bucket=arch.bucket, VersioningConfiguration={"Status": "Suspended"})
    return Drift(
        "s3-bucket-versioning-enabled",
        arch.bucket,
        "versioning suspended on the PHI bucket",
        _s3_event("PutBucketVersioning", arch.bucket, VersioningConfiguration={"Status": "Suspended"}, versioning=""),
    )


def access_logging_turned_off(arch: RefArch) -> Drift:
    boto3.client("s3").put_bucket_logging(Bucket=arch.bucket, BucketLoggingStatus={})
    return Drift(
        "s3-bucket-logging-enabled",
        arch.bucket,
        "server access logging turned off on the PHI bucket",
        _s3_event("PutBucketLogging", arch.bucket, BucketLoggingStatus="", logging=""),
    )


def _key_id(arn: str) -> str:
    return arn.rsplit("/", 1)[-1]


def key_rotation_disabled(arch: RefArch) -> Drift:
    key = _key_id(arch.kms_key_arn)
    boto3.client("kms").disable_key_rotation(KeyId=key)
    event = cloudtrail.envelope("aws.kms", cloudtrail.detail("kms", "DisableKeyRotation", {"keyId": key}, None))
    return Drift("cmk-backing-key-rotation-enabled", key, "key rotation disabled on the PHI key", event)


def key_scheduled_for_deletion(arch: RefArch) -> Drift:
    key = _key_id(arch.backup_key_arn)
    response = boto3.client("kms").schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    event = cloudtrail.envelope(
        "aws.kms",
        cloudtrail.detail(
            "kms",
            "ScheduleKeyDeletion",
            {"keyId": key, "pendingWindowInDays": 7},
            {"keyId": response["KeyId"], "keyState": "PendingDeletion", "pendingWindowInDays": 7},
        ),
    )
    return Drift("kms-cmk-not-scheduled-for-deletion", key, "the backup key scheduled for deletion", event)


def ebs_encryption_by_default_disabled(arch: RefArch) -> Drift:
    boto3.client("ec2").disable_ebs_encryption_by_default()
    event = cloudtrail.envelope(
        "aws.ec2",
        cloudtrail.detail(
            "ec2",
            "DisableEbsEncryptionByDefault",
            {"DisableEbsEncryptionByDefaultRequest": ""},
            {"DisableEbsEncryptionByDefaultResponse": {"ebsEncryptionByDefault": False}},
        ),
    )
    return Drift("ec2-ebs-encryption-by-default", cloudtrail.ACCOUNT_ID, "EBS encryption by default turned off", event)


def unencrypted_volume_created(arch: RefArch) -> Drift:
    volume = boto3.client("ec2").create_volume(AvailabilityZone="us-east-1a", Size=20, Encrypted=False)["VolumeId"]
    event = cloudtrail.envelope(
        "aws.ec2",
        cloudtrail.detail(
            "ec2",
            "CreateVolume",
            {"size": 20, "zone": "us-east-1a", "encrypted": False},
            {"volumeId": volume, "size": "20", "zone": "us-east-1a", "status": "creating", "encrypted": False},
        ),
    )
    return Drift("encrypted-volumes", volume, "an unencrypted 20 GiB volume created", event)


def _trail_event(name: str, request: dict[str, Any], response: dict[str, Any] | None) -> dict[str, Any]:
    return cloudtrail.envelope("aws.cloudtrail", cloudtrail.detail("cloudtrail", name, request, response))


def trail_stopped(arch: RefArch) -> Drift:
    boto3.client("cloudtrail").stop_logging(Name=arch.trail_arn)
    return Drift(
        "cloudtrail-enabled",
        arch.trail_arn,
        "StopLogging on the audit trail (named by ARN)",
        _trail_event("StopLogging", {"name": arch.trail_arn}, None),
    )


def _update_trail(arch: RefArch, control_id: str, description: str, **change: Any) -> Drift:
    trail = boto3.client("cloudtrail").update_trail(Name="phi-audit", **change)
    response = {"name": "phi-audit", "trailARN": trail["TrailARN"], "s3BucketName": trail["S3BucketName"]}
    request = {"name": "phi-audit", **{k[0].lower() + k[1:]: v for k, v in change.items()}}
    return Drift(control_id, arch.trail_arn, description, _trail_event("UpdateTrail", request, response))


def trail_single_region(arch: RefArch) -> Drift:
    return _update_trail(
        arch, "multi-region-cloudtrail-enabled", "the audit trail made single-region", IsMultiRegionTrail=False
    )


def trail_validation_off(arch: RefArch) -> Drift:
    return _update_trail(
        arch, "cloud-trail-log-file-validation-enabled", "log file validation turned off", EnableLogFileValidation=False
    )


def trail_unencrypted(arch: RefArch) -> Drift:
    return _update_trail(
        arch, "cloud-trail-encryption-enabled", "the audit trail's KMS encryption removed", KmsKeyId=""
    )


def trail_cloudwatch_removed(arch: RefArch) -> Drift:
    return _update_trail(
        arch,
        "cloud-trail-cloud-watch-logs-enabled",
        "CloudWatch Logs delivery removed",
        CloudWatchLogsLogGroupArn="",
        CloudWatchLogsRoleArn="",
    )


def _rds_event(name: str, request: dict[str, Any], response: dict[str, Any] | None) -> dict[str, Any]:
    return cloudtrail.envelope("aws.rds", cloudtrail.detail("rds", name, request, response))


def _modify_db(arch: RefArch, control_id: str, description: str, **change: Any) -> Drift:
    boto3.client("rds").modify_db_instance(DBInstanceIdentifier=arch.db_instance, ApplyImmediately=True, **change)
    request = {
        "dBInstanceIdentifier": arch.db_instance,
        "applyImmediately": True,
        **{k[0].lower() + k[1:]: v for k, v in change.items()},
    }
    return Drift(
        control_id,
        arch.db_instance,
        description,
        _rds_event("ModifyDBInstance", request, {"dBInstanceIdentifier": arch.db_instance}),
    )


def database_made_public(arch: RefArch) -> Drift:
    return _modify_db(
        arch, "rds-instance-public-access-check", "the database made publicly accessible", PubliclyAccessible=True
    )


def database_single_az(arch: RefArch) -> Drift:
    return _modify_db(arch, "rds-multi-az-support", "the database moved to a single AZ", MultiAZ=False)


def database_backups_shortened(arch: RefArch) -> Drift:
    return _modify_db(arch, "db-instance-backup-enabled", "backup retention cut to 1 day", BackupRetentionPeriod=1)


def database_deletion_protection_off(arch: RefArch) -> Drift:
    return _modify_db(
        arch, "rds-instance-deletion-protection-enabled", "deletion protection turned off", DeletionProtection=False
    )


def unencrypted_database_created(arch: RefArch) -> Drift:
    rds = boto3.client("rds")
    rds.create_db_instance(
        DBInstanceIdentifier="phi-scratch-mysql",
        Engine="mysql",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        MasterUsername="admin",
        MasterUserPassword="not-a-real-password-3",
        DBSubnetGroupName="phi-db",
        VpcSecurityGroupIds=[arch.groups["database"]],
        StorageEncrypted=False,
        MultiAZ=True,
        BackupRetentionPeriod=7,
        DeletionProtection=True,
    )
    request = {"dBInstanceIdentifier": "phi-scratch-mysql", "engine": "mysql", "storageEncrypted": False}
    return Drift(
        "rds-storage-encrypted",
        "phi-scratch-mysql",
        "an unencrypted MySQL instance created",
        _rds_event("CreateDBInstance", request, {"dBInstanceIdentifier": "phi-scratch-mysql"}),
    )


def snapshot_shared_with_everyone(arch: RefArch) -> Drift:
    boto3.client("rds").modify_db_snapshot_attribute(
        DBSnapshotIdentifier="phi-mysql-nightly", AttributeName="restore", ValuesToAdd=["all", "111122223333"]
    )
    request = {
        "dBSnapshotIdentifier": "phi-mysql-nightly",
        "attributeName": "restore",
        "valuesToAdd": ["all", "111122223333"],
    }
    return Drift(
        "rds-snapshots-public-prohibited",
        "phi-mysql-nightly",
        "a database snapshot shared with everyone",
        _rds_event("ModifyDBSnapshotAttribute", request, None),
    )


def cluster_snapshot_shared_with_everyone(arch: RefArch) -> Drift:
    boto3.client("rds").modify_db_cluster_snapshot_attribute(
        DBClusterSnapshotIdentifier="phi-aurora-reports-nightly", AttributeName="restore", ValuesToAdd=["all"]
    )
    request = {
        "dBClusterSnapshotIdentifier": "phi-aurora-reports-nightly",
        "attributeName": "restore",
        "valuesToAdd": ["all"],
    }
    return Drift(
        "rds-cluster-snapshots-public-prohibited",
        "phi-aurora-reports-nightly",
        "an Aurora snapshot shared with everyone",
        _rds_event("ModifyDBClusterSnapshotAttribute", request, None),
    )


def weak_tls_policy(arch: RefArch) -> Drift:
    listener = arch.https_listeners["frontend"]
    boto3.client("elbv2").modify_listener(ListenerArn=listener, SslPolicy="ELBSecurityPolicy-2016-08")
    request = {"listenerArn": listener, "sslPolicy": "ELBSecurityPolicy-2016-08"}
    response = {
        "listeners": [
            {
                "listenerArn": listener,
                "loadBalancerArn": arch.load_balancers["frontend"],
                "port": 443,
                "protocol": "HTTPS",
                "sslPolicy": "ELBSecurityPolicy-2016-08",
            }
        ]
    }
    event = cloudtrail.envelope(
        "aws.elasticloadbalancing", cloudtrail.detail("elasticloadbalancing", "ModifyListener", request, response)
    )
    return Drift(
        "elbv2-tls-policy", arch.load_balancers["frontend"], "the public HTTPS listener's TLS policy weakened", event
    )


def iam_certificate_on_listener(arch: RefArch) -> Drift:
    """An IAM server certificate (not ACM) added to the internal load balancer's HTTPS listener."""
    uploaded = boto3.client("iam").upload_server_certificate(
        ServerCertificateName="legacy-backend", CertificateBody=_SELF_SIGNED[0], PrivateKey=_SELF_SIGNED[1]
    )
    cert_arn = uploaded["ServerCertificateMetadata"]["Arn"]
    listener = arch.https_listeners["backend"]
    boto3.client("elbv2").add_listener_certificates(ListenerArn=listener, Certificates=[{"CertificateArn": cert_arn}])
    request = {"listenerArn": listener, "certificates": [{"certificateArn": cert_arn}]}
    event = cloudtrail.envelope(
        "aws.elasticloadbalancing",
        cloudtrail.detail(
            "elasticloadbalancing", "AddListenerCertificates", request, {"certificates": [{"certificateArn": cert_arn}]}
        ),
    )
    return Drift(
        "elbv2-acm-certificate-required",
        arch.load_balancers["backend"],
        "an IAM server certificate added to the internal HTTPS listener",
        event,
    )


def password_policy_weakened(arch: RefArch) -> Drift:
    boto3.client("iam").update_account_password_policy(MinimumPasswordLength=8)
    event = cloudtrail.envelope(
        "aws.iam", cloudtrail.detail("iam", "UpdateAccountPasswordPolicy", {"minimumPasswordLength": 8}, None)
    )
    return Drift("iam-password-policy", cloudtrail.ACCOUNT_ID, "the password policy replaced by length 8 only", event)


def root_access_key_created(arch: RefArch) -> Drift:
    """Someone signs in as root and creates an access key. moto has no root user to give a key to, so its
    account summary is set as AWS's would be after the call; the CloudTrail record is the documented one."""
    from moto.iam.models import iam_backends

    iam_backends[arch.account_id]["global"].account_summary._account_access_keys_present = 1
    body = cloudtrail.detail("iam", "CreateAccessKey", {}, {"accessKey": {"accessKeyId": "AKIAEXAMPLEROOTKEY",
                             "status": "Active", "userName": arch.account_id}})  # fmt: skip
    body["userIdentity"] = {
        "type": "Root",
        "principalId": arch.account_id,
        "arn": f"arn:aws:iam::{arch.account_id}:root",
        "accountId": arch.account_id,
        "accessKeyId": "ASIAEXAMPLEROOTSESSION",
    }
    event = cloudtrail.envelope("aws.iam", body)
    return Drift("iam-root-access-key-check", arch.account_id, "the root user created an access key", event)


def blockchain_network_created(arch: RefArch) -> Drift:
    """A developer tries Amazon Managed Blockchain, which is not HIPAA-eligible, for a patient-consent ledger."""
    voting = {
        "ApprovalThresholdPolicy": {
            "ThresholdPercentage": 50,
            "ProposalDurationInHours": 24,
            "ThresholdComparator": "GREATER_THAN",
        }
    }
    member = {
        "Name": "clinic",
        "FrameworkConfiguration": {"Fabric": {"AdminUsername": "admin", "AdminPassword": "Not-a-real-passw0rd"}},
        "LogPublishingConfiguration": {"Fabric": {"CaLogs": {"Cloudwatch": {"Enabled": False}}}},
    }
    created = boto3.client("managedblockchain").create_network(
        ClientRequestToken="patient-consent-ledger",
        Name="patient-consent-ledger",
        Framework="HYPERLEDGER_FABRIC",
        FrameworkVersion="1.2",
        FrameworkConfiguration={"Fabric": {"Edition": "STARTER"}},
        VotingPolicy=voting,
        MemberConfiguration=member,
    )
    request = {
        "name": "patient-consent-ledger",
        "framework": "HYPERLEDGER_FABRIC",
        "frameworkVersion": "1.2",
        "frameworkConfiguration": {"fabric": {"edition": "STARTER"}},
        "memberConfiguration": {
            "name": "clinic",
            "frameworkConfiguration": {
                "fabric": {"adminUsername": "admin", "adminPassword": "HIDDEN_DUE_TO_SECURITY_REASONS"}
            },
        },
    }
    response = {"networkId": created["NetworkId"], "memberId": created["MemberId"]}
    event = cloudtrail.envelope(
        "aws.managedblockchain", cloudtrail.detail("managedblockchain", "CreateNetwork", request, response)
    )
    return Drift(
        "hipaa-eligible-services-only",
        "managedblockchain.amazonaws.com",
        "an Amazon Managed Blockchain network created (not HIPAA-eligible)",
        event,
    )


def _self_signed(days: int) -> tuple[str, str]:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "portal.phi.example.com")])
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    return (
        certificate.public_bytes(serialization.Encoding.PEM).decode(),
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        ).decode(),
    )


_SELF_SIGNED = _self_signed(365)


def certificate_about_to_expire(arch: RefArch) -> Drift:
    """Schedule-only: a certificate in use (by a classic load balancer of the patient portal) expires in 10 days.
    No API call causes it; the scheduled sweep finds it (here, the same evaluation is run directly)."""
    body, key = _self_signed(10)
    cert_arn = boto3.client("acm").import_certificate(Certificate=body.encode(), PrivateKey=key.encode())[
        "CertificateArn"
    ]
    boto3.client("elb").create_load_balancer(
        LoadBalancerName="patient-portal-legacy",
        AvailabilityZones=["us-east-1a"],
        Listeners=[
            {
                "Protocol": "HTTPS",
                "LoadBalancerPort": 443,
                "InstanceProtocol": "HTTP",
                "InstancePort": 80,
                "SSLCertificateId": cert_arn,
            }
        ],
    )
    return Drift(
        "acm-certificate-expiration-check",
        cert_arn,
        "a certificate in use expires in 10 days (schedule)",
        {},
        scheduled_only=True,
    )


LEFT_FOR_A_PERSON = "drift left for a person (notify-only)"


def _sg_event(
    group: str, port: int, source: dict[str, Any], name: str = "AuthorizeSecurityGroupIngress"
) -> dict[str, Any]:
    permission = {
        "ipProtocol": "tcp",
        "fromPort": port,
        "toPort": port,
        "groups": {},
        "ipRanges": {},
        "ipv6Ranges": {},
        "prefixListIds": {},
        **source,
    }
    return cloudtrail.envelope(
        "aws.ec2",
        cloudtrail.detail("ec2", name, {"groupId": group, "ipPermissions": {"items": [permission]}}, {"_return": True}),
    )


def bastion_ssh_from_elsewhere(arch: RefArch) -> Drift:
    group = arch.groups["bastion"]
    boto3.client("ec2").authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "198.51.100.0/24"}]}
        ],
    )
    return Drift(
        "bastion-ssh-from-allowed-cidrs",
        group,
        "SSH to the bastion opened to a contractor's range",
        _sg_event(group, 22, {"ipRanges": {"items": [{"cidrIp": "198.51.100.0/24"}]}}),
    )


def default_group_opened(arch: RefArch) -> Drift:
    group = arch.default_group
    boto3.client("ec2").authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.20.0.0/16"}]}],
    )
    return Drift(
        "vpc-default-security-group-closed",
        group,
        "a rule added to the VPC's default security group",
        _sg_event(group, 443, {"ipRanges": {"items": [{"cidrIp": "10.20.0.0/16"}]}}),
    )


def private_subnet_maps_public_ips(arch: RefArch) -> Drift:
    subnet = arch.subnets["db-a"]
    boto3.client("ec2").modify_subnet_attribute(SubnetId=subnet, MapPublicIpOnLaunch={"Value": True})
    event = cloudtrail.envelope(
        "aws.ec2",
        cloudtrail.detail(
            "ec2",
            "ModifySubnetAttribute",
            {"subnetId": subnet, "mapPublicIpOnLaunch": {"value": True}},
            {"_return": True},
        ),
    )
    return Drift("subnet-auto-assign-public-ip-disabled", subnet, "a database subnet set to assign public IPs", event)


def flow_logs_deleted(arch: RefArch) -> Drift:
    ec2 = boto3.client("ec2")
    ids = [f["FlowLogId"] for f in ec2.describe_flow_logs()["FlowLogs"] if f["ResourceId"] == arch.vpc_id]
    ec2.delete_flow_logs(FlowLogIds=ids)
    event = cloudtrail.envelope(
        "aws.ec2",
        cloudtrail.detail(
            "ec2", "DeleteFlowLogs", {"DeleteFlowLogsRequest": {"FlowLogId": {"tag": 1, "content": ids[0]}}}, None
        ),
    )
    return Drift("vpc-flow-logs-enabled", arch.vpc_id, "the VPC's flow logs deleted", event)


def s3_endpoint_deleted(arch: RefArch) -> Drift:
    ec2 = boto3.client("ec2")
    endpoints = [e["VpcEndpointId"] for e in ec2.describe_vpc_endpoints()["VpcEndpoints"] if e["VpcId"] == arch.vpc_id]
    ec2.delete_vpc_endpoints(VpcEndpointIds=endpoints)
    event = cloudtrail.envelope(
        "aws.ec2",
        cloudtrail.detail(
            "ec2",
            "DeleteVpcEndpoints",
            {"DeleteVpcEndpointsRequest": {"VpcEndpointId": {"tag": 1, "content": endpoints[0]}}},
            None,
        ),
    )
    return Drift("vpc-s3-gateway-endpoint", arch.vpc_id, "the S3 gateway endpoint deleted", event)


def private_instance_with_public_ip(arch: RefArch) -> Drift:
    ec2 = boto3.client("ec2")
    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    instance = ec2.run_instances(
        ImageId=image,
        InstanceType="t3.micro",
        MinCount=1,
        MaxCount=1,
        NetworkInterfaces=[
            {
                "DeviceIndex": 0,
                "SubnetId": arch.subnets["app-a"],
                "Groups": [arch.groups["backend"]],
                "AssociatePublicIpAddress": True,
            }
        ],
    )["Instances"][0]["InstanceId"]
    event = cloudtrail.envelope(
        "aws.ec2",
        cloudtrail.detail(
            "ec2",
            "RunInstances",
            {"instancesSet": {"items": [{"imageId": image, "minCount": 1, "maxCount": 1}]}},
            {"instancesSet": {"items": [{"instanceId": instance}]}},
        ),
    )
    return Drift("ec2-instance-no-public-ip", instance, "a backend instance launched with a public IP", event)


def database_admits_a_subnet(arch: RefArch) -> Drift:
    group = arch.groups["database"]
    boto3.client("ec2").authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 3306,
                "ToPort": 3306,
                "IpRanges": [{"CidrIp": "10.20.11.0/24", "Description": LEFT_FOR_A_PERSON}],
            }
        ],
    )
    return Drift(
        "db-ingress-from-app-tier-only",
        group,
        "the database admits a whole app subnet by CIDR",
        _sg_event(group, 3306, {"ipRanges": {"items": [{"cidrIp": "10.20.11.0/24"}]}}),
    )


def delete_bucket_encryption(arch: RefArch) -> Drift:
    event = _delete_encryption(arch.bucket)
    return Drift("s3-default-encryption-kms", arch.bucket, "DeleteBucketEncryption on the PHI bucket", event)


def delete_exempt_bucket_encryption(arch: RefArch) -> Drift:
    event = _delete_encryption(arch.sandbox_bucket)
    return Drift(
        "s3-default-encryption-kms",
        arch.sandbox_bucket,
        "DeleteBucketEncryption on the exempt research sandbox",
        event,
        exempt=True,
    )


def ssh_burst(arch: RefArch, count: int) -> list[Drift]:
    """A bad rollout: a script opens SSH to the world on many new groups at once."""
    ec2 = boto3.client("ec2")
    burst = []
    for n in range(count):
        group = ec2.create_security_group(GroupName=f"rollout-{n}-sg", Description="rollout", VpcId=arch.vpc_id)[
            "GroupId"
        ]
        ec2.authorize_security_group_ingress(
            GroupId=group,
            IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
        )
        request = {
            "groupId": group,
            "ipPermissions": {
                "items": [
                    {
                        "ipProtocol": "tcp",
                        "fromPort": 22,
                        "toPort": 22,
                        "groups": {},
                        "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]},
                        "ipv6Ranges": {},
                        "prefixListIds": {},
                    }
                ]
            },
        }
        event = cloudtrail.envelope(
            "aws.ec2",
            cloudtrail.detail(
                "ec2",
                "AuthorizeSecurityGroupIngress",
                request,
                {"requestId": f"burst-{n}", "_return": True},
                actor_arn=f"arn:aws:sts::{cloudtrail.ACCOUNT_ID}:assumed-role/Deployer/rollout-bot",
            ),
        )
        burst.append(Drift("vpc-sg-restricted-ports", group, f"rollout script opens SSH on rollout-{n}-sg", event))
    return burst


def ssh_open_to_world(arch: RefArch) -> Drift:
    """SSH from 0.0.0.0/0 and ::/0 on the backend group; the newer event shape (securityGroupRuleSet)."""
    group = arch.groups["backend"]
    before = _rule_ids(group)
    boto3.client("ec2").authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 22,
                "ToPort": 22,
                "IpRanges": [{"CidrIp": "0.0.0.0/0"}],
                "Ipv6Ranges": [{"CidrIpv6": "::/0"}],
            }
        ],
    )
    request = {
        "groupId": group,
        "ipPermissions": {
            "items": [
                {
                    "ipProtocol": "tcp",
                    "fromPort": 22,
                    "toPort": 22,
                    "groups": {},
                    "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]},
                    "ipv6Ranges": {"items": [{"cidrIpv6": "::/0"}]},
                    "prefixListIds": {},
                }
            ]
        },
    }
    response = {
        "requestId": "d1e2f3a4-0000-4000-8000-000000000001",
        "_return": True,
        "securityGroupRuleSet": {
            "items": [
                {
                    "groupOwnerId": cloudtrail.ACCOUNT_ID,
                    "groupId": group,
                    "securityGroupRuleId": r["SecurityGroupRuleId"],
                    "isEgress": False,
                    "ipProtocol": "tcp",
                    "fromPort": 22,
                    "toPort": 22,
                    **({"cidrIpv4": r["CidrIpv4"]} if "CidrIpv4" in r else {"cidrIpv6": r.get("CidrIpv6")}),
                }
                for r in _new_rules(group, before)
            ]
        },
    }
    event = cloudtrail.envelope("aws.ec2", cloudtrail.detail("ec2", "AuthorizeSecurityGroupIngress", request, response))
    return Drift("vpc-sg-restricted-ports", group, "SSH opened to 0.0.0.0/0 and ::/0 on the backend group", event)


def http_listener_forwards(arch: RefArch, tier: str) -> Drift:
    listener = arch.http_listeners[tier]
    actions = [{"Type": "forward", "TargetGroupArn": arch.target_groups[tier]}]
    updated = boto3.client("elbv2").modify_listener(ListenerArn=listener, DefaultActions=actions)["Listeners"][0]
    request = {
        "listenerArn": listener,
        "defaultActions": [{"type": "forward", "targetGroupArn": arch.target_groups[tier]}],
    }
    response = {
        "listeners": [
            {
                "listenerArn": listener,
                "loadBalancerArn": updated["LoadBalancerArn"],
                "port": 80,
                "protocol": "HTTP",
                "defaultActions": [{"type": "forward", "targetGroupArn": arch.target_groups[tier]}],
            }
        ]
    }
    event = cloudtrail.envelope(
        "aws.elasticloadbalancing",
        cloudtrail.detail("elasticloadbalancing", "ModifyListener", request, response),
    )
    return Drift(
        "alb-http-to-https-redirection-check",
        arch.load_balancers[tier],
        f"HTTP listener of the {tier} load balancer changed to forward",
        event,
    )


def bastion_admitted_to_database(arch: RefArch) -> Drift:
    """The bastion's group admitted on 3306; the older event shape (no securityGroupRuleSet)."""
    group, bastion = arch.groups["database"], arch.groups["bastion"]
    boto3.client("ec2").authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[
            {
                "IpProtocol": "tcp",
                "FromPort": 3306,
                "ToPort": 3306,
                "UserIdGroupPairs": [{"GroupId": bastion}],
            }
        ],
    )
    request = {
        "groupId": group,
        "ipPermissions": {
            "items": [
                {
                    "ipProtocol": "tcp",
                    "fromPort": 3306,
                    "toPort": 3306,
                    "groups": {"items": [{"groupId": bastion}]},
                    "ipRanges": {},
                    "ipv6Ranges": {},
                    "prefixListIds": {},
                }
            ]
        },
    }
    response = {"requestId": "d1e2f3a4-0000-4000-8000-000000000002", "_return": True}
    event = cloudtrail.envelope("aws.ec2", cloudtrail.detail("ec2", "AuthorizeSecurityGroupIngress", request, response))
    return Drift("db-no-bastion-access", group, "the bastion's group admitted to the database group on 3306", event)


HEADLINE_DRIFTS: tuple[Callable[[RefArch], Drift], ...] = (
    delete_bucket_encryption,
    ssh_open_to_world,
    lambda arch: http_listener_forwards(arch, "frontend"),
    lambda arch: http_listener_forwards(arch, "backend"),
    bastion_admitted_to_database,
    delete_exempt_bucket_encryption,
)

# The rest of the catalogue, one drift per control.
CATALOGUE_DRIFTS: tuple[Callable[[RefArch], Drift], ...] = (
    delete_public_access_block,
    account_public_access_weakened,
    policy_replaced_without_tls,
    versioning_suspended,
    access_logging_turned_off,
    key_rotation_disabled,
    key_scheduled_for_deletion,
    ebs_encryption_by_default_disabled,
    unencrypted_volume_created,
    trail_stopped,
    trail_single_region,
    trail_validation_off,
    trail_unencrypted,
    trail_cloudwatch_removed,
    database_made_public,
    database_single_az,
    database_backups_shortened,
    database_deletion_protection_off,
    unencrypted_database_created,
    snapshot_shared_with_everyone,
    cluster_snapshot_shared_with_everyone,
    weak_tls_policy,
    iam_certificate_on_listener,
    password_policy_weakened,
    root_access_key_created,
    certificate_about_to_expire,
    bastion_ssh_from_elsewhere,
    default_group_opened,
    private_subnet_maps_public_ips,
    flow_logs_deleted,
    s3_endpoint_deleted,
    private_instance_with_public_ip,
    database_admits_a_subnet,
    blockchain_network_created,
)
