"""The HIPAA three-tier reference architecture, built compliant in whatever AWS boto3 points at.

VPC over two AZs (2 public, 4 private subnets), bastion and NAT instances, frontend
(internet-facing) and backend (internal) application load balancers with HTTPS listeners (ACM
certificates) and HTTP listeners that redirect, one security group per tier, a Multi-AZ MySQL RDS
instance reachable only from the backend tier, a KMS key, an SSE-KMS bucket behind a gateway VPC
endpoint with TLS-only access, and a CloudTrail trail.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3

from phiguard_local.embedded import ACCOUNT_ID, REGION

ORG_CIDR = "203.0.113.0/24"  # the organisation's addresses: the only SSH source of the bastion
VPC_CIDR = "10.20.0.0/16"
AZS = (f"{REGION}a", f"{REGION}b")
REDIRECT = {
    "Type": "redirect",
    "RedirectConfig": {
        "Protocol": "HTTPS",
        "Port": "443",
        "Host": "#{host}",
        "Path": "/#{path}",
        "Query": "#{query}",
        "StatusCode": "HTTP_301",
    },
}


@dataclass(frozen=True)
class RefArch:
    vpc_id: str
    subnets: dict[str, str]  # "public-a", "app-b", "db-a" ... -> subnet id
    default_group: str
    kms_key_arn: str
    backup_key_arn: str
    trail_arn: str
    trail_log_group: str
    trail_logs_role: str
    bucket: str
    log_bucket: str
    trail_bucket: str
    sandbox_bucket: str  # exempted by its owners from s3-default-encryption-kms
    groups: dict[str, str]  # tier -> security group id
    load_balancers: dict[str, str]  # "frontend" / "backend" -> ARN
    http_listeners: dict[str, str]
    https_listeners: dict[str, str]
    target_groups: dict[str, str]
    db_instance: str
    bastion_instance: str
    account_id: str = ACCOUNT_ID


def _tag(name: str, role: str | None = None) -> list[dict[str, Any]]:
    tags = [{"Key": "Name", "Value": name}]
    if role:
        tags.append({"Key": "phiguard:role", "Value": role})
    return tags


ALL_ON = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}


def tls_only(bucket: str) -> dict[str, Any]:
    return {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": {"AWS": "*"},  # same as "*"; moto's log-delivery check cannot read the string form
        "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def baseline_bucket(
    bucket: str, key_arn: str | None, logs_to: str | None, extra_statements: list[dict[str, Any]] | None = None
) -> None:
    """A bucket as the HIPAA baseline wants it: encrypted, private, versioned, logged, TLS-only."""
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=bucket)
    by_default: dict[str, Any] = (
        {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key_arn} if key_arn else {"SSEAlgorithm": "AES256"}
    )
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": by_default, "BucketKeyEnabled": bool(key_arn)}]
        },
    )
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=ALL_ON)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_bucket_policy(
        Bucket=bucket,
        Policy=json.dumps({"Version": "2012-10-17", "Statement": [tls_only(bucket), *(extra_statements or [])]}),
    )
    if logs_to:
        s3.put_bucket_logging(
            Bucket=bucket,
            BucketLoggingStatus={"LoggingEnabled": {"TargetBucket": logs_to, "TargetPrefix": f"{bucket}/"}},
        )


def account_public_access_block(on: bool) -> None:
    """Account-level Block Public Access (through PHI Guard's client: it knows how to reach an emulator)."""
    from phiguard.core.aws import Clients

    flags = ALL_ON if on else {**ALL_ON, "BlockPublicPolicy": False}
    Clients().s3control(REGION).put_public_access_block(AccountId=ACCOUNT_ID, PublicAccessBlockConfiguration=flags)


def remove_default_vpc(ec2: Any) -> None:
    """A PHI account keeps no default VPC (AWS Foundational Security Best Practices); the emulator makes one."""
    for vpc in ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]:
        vpc_id = vpc["VpcId"]
        for subnet in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]:
            ec2.delete_subnet(SubnetId=subnet["SubnetId"])
        gateways = ec2.describe_internet_gateways(Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}])
        for gateway in gateways["InternetGateways"]:
            ec2.detach_internet_gateway(InternetGatewayId=gateway["InternetGatewayId"], VpcId=vpc_id)
            ec2.delete_internet_gateway(InternetGatewayId=gateway["InternetGatewayId"])
        ec2.delete_vpc(VpcId=vpc_id)


def build() -> RefArch:
    ec2, s3, kms = boto3.client("ec2"), boto3.client("s3"), boto3.client("kms")
    elbv2, rds, acm = boto3.client("elbv2"), boto3.client("rds"), boto3.client("acm")

    key_arn = kms.create_key(Description="PHI Guard demo: PHI at rest")["KeyMetadata"]["Arn"]
    kms.create_alias(AliasName="alias/phi-data", TargetKeyId=key_arn)
    backup_key_arn = kms.create_key(Description="PHI Guard demo: backups")["KeyMetadata"]["Arn"]
    for key in (key_arn, backup_key_arn):
        kms.enable_key_rotation(KeyId=key)
    ec2.enable_ebs_encryption_by_default()
    remove_default_vpc(ec2)

    vpc_id = ec2.create_vpc(CidrBlock=VPC_CIDR, TagSpecifications=[{"ResourceType": "vpc", "Tags": _tag("phi-vpc")}])[
        "Vpc"
    ]["VpcId"]
    igw = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
    ec2.attach_internet_gateway(InternetGatewayId=igw, VpcId=vpc_id)
    subnets: dict[str, str] = {}
    layout = [("public", 0), ("app", 10), ("db", 20)]
    for tier, base in layout:
        for i, az in enumerate(AZS):
            subnets[f"{tier}-{az[-1]}"] = ec2.create_subnet(
                VpcId=vpc_id,
                CidrBlock=f"10.20.{base + i}.0/24",
                AvailabilityZone=az,
                TagSpecifications=[{"ResourceType": "subnet", "Tags": _tag(f"{tier}-{az[-1]}")}],
            )["Subnet"]["SubnetId"]
    public_rt = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    ec2.create_route(RouteTableId=public_rt, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw)
    private_rt = ec2.create_route_table(VpcId=vpc_id)["RouteTable"]["RouteTableId"]
    for name, subnet in subnets.items():
        ec2.associate_route_table(RouteTableId=public_rt if name.startswith("public") else private_rt, SubnetId=subnet)

    def group(name: str, description: str, role: str | None = None) -> str:
        return ec2.create_security_group(
            GroupName=name,
            Description=description,
            VpcId=vpc_id,
            TagSpecifications=[{"ResourceType": "security-group", "Tags": _tag(name, role)}],
        )["GroupId"]

    groups = {
        "bastion": group("bastion-sg", "Bastion host: SSH from the organisation only", "bastion"),
        "nat": group("nat-sg", "NAT instance: outbound for the private subnets"),
        "frontend-lb": group("frontend-lb-sg", "Internet-facing load balancer"),
        "frontend": group("frontend-sg", "Frontend instances"),
        "backend-lb": group("backend-lb-sg", "Internal load balancer"),
        "backend": group("backend-sg", "Backend instances", "backend"),
        "database": group("database-sg", "MySQL: backend tier only", "database"),
    }

    def allow(
        tier: str,
        port: int,
        *,
        cidr: str | None = None,
        cidr6: str | None = None,
        source: str | None = None,
        note: str,
    ) -> None:
        permission: dict[str, Any] = {"IpProtocol": "tcp", "FromPort": port, "ToPort": port}
        if cidr:
            permission["IpRanges"] = [{"CidrIp": cidr, "Description": note}]
        if cidr6:
            permission["Ipv6Ranges"] = [{"CidrIpv6": cidr6, "Description": note}]
        if source:
            permission["UserIdGroupPairs"] = [{"GroupId": groups[source], "Description": note}]
        ec2.authorize_security_group_ingress(GroupId=groups[tier], IpPermissions=[permission])

    allow("bastion", 22, cidr=ORG_CIDR, note="SSH from the organisation")
    for port in (80, 443):
        allow("nat", port, cidr=VPC_CIDR, note="outbound via NAT")
        allow("frontend-lb", port, cidr="0.0.0.0/0", cidr6="::/0", note="public entrance")
        allow("backend-lb", port, source="frontend", note="frontend to backend LB")
    allow("frontend", 443, source="frontend-lb", note="from the public load balancer")
    allow("frontend", 22, source="bastion", note="admin SSH via the bastion")
    allow("backend", 8443, source="backend-lb", note="from the internal load balancer")
    allow("backend", 22, source="bastion", note="admin SSH via the bastion")
    allow("database", 3306, source="backend", note="MySQL from the backend tier")

    image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]

    def instance(name: str, subnet: str, tier: str, role: str | None = None, public: bool = False) -> str:
        return ec2.run_instances(
            ImageId=image,
            InstanceType="t3.micro",
            MinCount=1,
            MaxCount=1,
            NetworkInterfaces=[
                {
                    "DeviceIndex": 0,
                    "SubnetId": subnets[subnet],
                    "Groups": [groups[tier]],
                    "AssociatePublicIpAddress": public,
                }
            ],
            TagSpecifications=[{"ResourceType": "instance", "Tags": _tag(name, role)}],
        )["Instances"][0]["InstanceId"]

    bastion = instance("bastion", "public-a", "bastion", "bastion", public=True)
    instance("nat", "public-b", "nat", public=True)
    autoscaling = boto3.client("autoscaling")
    for tier in ("frontend", "backend"):
        autoscaling.create_launch_configuration(
            LaunchConfigurationName=f"{tier}-lc",
            ImageId=image,
            InstanceType="t3.micro",
            SecurityGroups=[groups[tier]],
        )
        autoscaling.create_auto_scaling_group(
            AutoScalingGroupName=f"{tier}-asg",
            LaunchConfigurationName=f"{tier}-lc",
            MinSize=1,
            MaxSize=2,
            DesiredCapacity=1,
            VPCZoneIdentifier=f"{subnets['app-a']},{subnets['app-b']}",
        )

    certificates = {
        tier: acm.request_certificate(DomainName=f"{tier}.phi.example.com", ValidationMethod="DNS")["CertificateArn"]
        for tier in ("frontend", "backend")
    }
    load_balancers, http_listeners, https_listeners, target_groups = {}, {}, {}, {}
    for tier, scheme, subnet_tier in (
        ("frontend", "internet-facing", "public"),
        ("backend", "internal", "app"),
    ):
        lb = elbv2.create_load_balancer(
            Name=f"{tier}-alb",
            Type="application",
            Scheme=scheme,
            Subnets=[subnets[f"{subnet_tier}-a"], subnets[f"{subnet_tier}-b"]],
            SecurityGroups=[groups[f"{tier}-lb"]],
        )["LoadBalancers"][0]["LoadBalancerArn"]
        tg = elbv2.create_target_group(
            Name=f"{tier}-tg",
            Protocol="HTTPS",
            Port=443 if tier == "frontend" else 8443,
            VpcId=vpc_id,
            TargetType="instance",
        )["TargetGroups"][0]["TargetGroupArn"]
        https_listeners[tier] = elbv2.create_listener(
            LoadBalancerArn=lb,
            Protocol="HTTPS",
            Port=443,
            SslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06",
            Certificates=[{"CertificateArn": certificates[tier]}],
            DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}],
        )["Listeners"][0]["ListenerArn"]
        http_listeners[tier] = elbv2.create_listener(
            LoadBalancerArn=lb,
            Protocol="HTTP",
            Port=80,
            DefaultActions=[REDIRECT],  # type: ignore[list-item]
        )["Listeners"][0]["ListenerArn"]
        load_balancers[tier], target_groups[tier] = lb, tg

    rds.create_db_subnet_group(
        DBSubnetGroupName="phi-db",
        DBSubnetGroupDescription="database subnets",
        SubnetIds=[subnets["db-a"], subnets["db-b"]],
    )
    rds.create_db_instance(
        DBInstanceIdentifier="phi-mysql",
        Engine="mysql",
        DBInstanceClass="db.t3.medium",
        AllocatedStorage=20,
        MasterUsername="admin",
        MasterUserPassword="not-a-real-password-1",
        MultiAZ=True,
        DBSubnetGroupName="phi-db",
        VpcSecurityGroupIds=[groups["database"]],
        PubliclyAccessible=False,
        StorageEncrypted=True,
        KmsKeyId=key_arn,
        BackupRetentionPeriod=7,
        DeletionProtection=True,
    )

    log_bucket = f"phi-access-logs-{ACCOUNT_ID}"
    # S3 delivers server access logs only to SSE-S3 buckets: the log bucket is the one SSE-S3 bucket.
    baseline_bucket(
        log_bucket,
        None,
        logs_to=None,
        extra_statements=[
            {
                "Sid": "S3ServerAccessLogDelivery",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"arn:aws:s3:::{log_bucket}/*",
            }
        ],
    )
    rds.create_db_snapshot(DBInstanceIdentifier="phi-mysql", DBSnapshotIdentifier="phi-mysql-nightly")
    rds.create_db_cluster(
        DBClusterIdentifier="phi-aurora-reports",
        Engine="aurora-mysql",
        MasterUsername="admin",
        MasterUserPassword="not-a-real-password-2",
        DBSubnetGroupName="phi-db",
        VpcSecurityGroupIds=[groups["database"]],
        StorageEncrypted=True,
        KmsKeyId=key_arn,
        BackupRetentionPeriod=7,
        DeletionProtection=True,
    )
    rds.create_db_cluster_snapshot(
        DBClusterIdentifier="phi-aurora-reports", DBClusterSnapshotIdentifier="phi-aurora-reports-nightly"
    )
    bucket = f"phi-data-{ACCOUNT_ID}"
    baseline_bucket(bucket, key_arn, logs_to=log_bucket)
    ec2.create_vpc_endpoint(
        VpcId=vpc_id,
        ServiceName=f"com.amazonaws.{REGION}.s3",
        VpcEndpointType="Gateway",
        RouteTableIds=[private_rt],
    )
    # A bucket its owners exempted (tags, with a reason and an expiry) from one control.
    sandbox_bucket = f"research-sandbox-{ACCOUNT_ID}"
    baseline_bucket(sandbox_bucket, key_arn, logs_to=log_bucket)
    until = (datetime.now(UTC).date() + timedelta(days=30)).isoformat()
    s3.put_bucket_tagging(
        Bucket=sandbox_bucket,
        Tagging={
            "TagSet": [
                {"Key": "phiguard:exempt", "Value": "s3-default-encryption-kms"},
                {"Key": "phiguard:exempt-until", "Value": until},
                {"Key": "phiguard:exempt-reason", "Value": "synthetic data only; encryption benchmark RISK-211"},
            ]
        },
    )
    trail_bucket = f"phi-audit-trail-{ACCOUNT_ID}"
    baseline_bucket(trail_bucket, key_arn, logs_to=log_bucket)
    account_public_access_block(on=True)
    boto3.client("iam").update_account_password_policy(
        MinimumPasswordLength=16,
        RequireSymbols=True,
        RequireNumbers=True,
        RequireUppercaseCharacters=True,
        RequireLowercaseCharacters=True,
        AllowUsersToChangePassword=True,
        MaxPasswordAge=90,
        PasswordReusePrevention=24,
    )
    logs = boto3.client("logs")
    logs.create_log_group(logGroupName="/phi/cloudtrail")
    trail_log_group = f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:/phi/cloudtrail:*"
    trail_logs_role = boto3.client("iam").create_role(
        RoleName="phi-cloudtrail-to-cloudwatch",
        AssumeRolePolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudtrail.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        ),
    )["Role"]["Arn"]
    cloudtrail = boto3.client("cloudtrail")
    trail_arn = cloudtrail.create_trail(
        Name="phi-audit",
        S3BucketName=trail_bucket,
        IsMultiRegionTrail=True,
        EnableLogFileValidation=True,
        KmsKeyId=key_arn,
        CloudWatchLogsLogGroupArn=trail_log_group,
        CloudWatchLogsRoleArn=trail_logs_role,
    )["TrailARN"]
    cloudtrail.start_logging(Name="phi-audit")

    # The VPC's default group stays closed; the VPC's traffic is logged (to the access-log bucket).
    default_group = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"][0]
    rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [default_group["GroupId"]]}])[
        "SecurityGroupRules"
    ]
    for egress in (False, True):
        ids = [r["SecurityGroupRuleId"] for r in rules if r["IsEgress"] == egress]
        if ids and egress:
            ec2.revoke_security_group_egress(GroupId=default_group["GroupId"], SecurityGroupRuleIds=ids)
        elif ids:
            ec2.revoke_security_group_ingress(GroupId=default_group["GroupId"], SecurityGroupRuleIds=ids)
    ec2.create_flow_logs(
        ResourceIds=[vpc_id],
        ResourceType="VPC",
        TrafficType="ALL",
        LogDestinationType="s3",
        LogDestination=f"arn:aws:s3:::{log_bucket}",
    )

    return RefArch(
        vpc_id=vpc_id,
        subnets=subnets,
        default_group=default_group["GroupId"],
        kms_key_arn=key_arn,
        backup_key_arn=backup_key_arn,
        trail_arn=trail_arn,
        trail_log_group=trail_log_group,
        trail_logs_role=trail_logs_role,
        bucket=bucket,
        log_bucket=log_bucket,
        trail_bucket=trail_bucket,
        sandbox_bucket=sandbox_bucket,
        groups=groups,
        load_balancers=load_balancers,
        http_listeners=http_listeners,
        https_listeners=https_listeners,
        target_groups=target_groups,
        db_instance="phi-mysql",
        bastion_instance=bastion,
    )
