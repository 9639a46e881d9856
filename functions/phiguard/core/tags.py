"""Resource tags, read (for exemptions) and merged in (for the exemption a revert sets)."""

from __future__ import annotations

import re

from botocore.exceptions import ClientError

from phiguard.core.control import Context
from phiguard.core.model import ResourceRef

S3_BUCKET = "AWS::S3::Bucket"
SECURITY_GROUP = "AWS::EC2::SecurityGroup"
LOAD_BALANCER = "AWS::ElasticLoadBalancingV2::LoadBalancer"
TRAIL = "AWS::CloudTrail::Trail"
EC2_TAGGED = frozenset({"AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::Volume", "AWS::EC2::Instance"})
KMS_KEY = "AWS::KMS::Key"
CERTIFICATE = "AWS::ACM::Certificate"
RDS_ARN_KINDS = {
    "AWS::RDS::DBInstance": "db",
    "AWS::RDS::DBCluster": "cluster",
    "AWS::RDS::DBSnapshot": "snapshot",
    "AWS::RDS::DBClusterSnapshot": "cluster-snapshot",
}

# What the engine needs to read tags of each resource type (granted beside the controls' own).
READ_PERMISSIONS = {
    S3_BUCKET: ("s3:GetBucketTagging",),
    SECURITY_GROUP: ("ec2:DescribeSecurityGroups",),
    LOAD_BALANCER: ("elasticloadbalancing:DescribeTags",),
    TRAIL: ("cloudtrail:ListTags",),
    **dict.fromkeys(RDS_ARN_KINDS, ("rds:ListTagsForResource",)),
    **dict.fromkeys(EC2_TAGGED, ("ec2:DescribeTags",)),
    KMS_KEY: ("kms:ListResourceTags",),
    CERTIFICATE: ("acm:ListTagsForCertificate",),
}


def taggable(resource_type: str) -> bool:
    """Whether exemption tags can be read from (and a revert's exemption written to) this type; the rest,
    such as the account, are exempted through the Exemptions list."""
    return resource_type in READ_PERMISSIONS


def _rds_arn(ref: ResourceRef) -> str:
    if ref.resource_id.startswith("arn:"):
        return ref.resource_id
    return f"arn:aws:rds:{ref.region}:{ref.account_id}:{RDS_ARN_KINDS[ref.resource_type]}:{ref.resource_id}"


def read_tags(context: Context, ref: ResourceRef) -> dict[str, str]:
    clients = context.clients
    if ref.resource_type == S3_BUCKET:
        try:
            tag_set = clients.s3(ref.region).get_bucket_tagging(Bucket=ref.resource_id)["TagSet"]
        except ClientError as e:
            if e.response.get("Error", {}).get("Code") == "NoSuchTagSet":
                return {}
            raise
        return {t["Key"]: t["Value"] for t in tag_set}
    if ref.resource_type == SECURITY_GROUP:
        groups = clients.ec2(ref.region).describe_security_groups(GroupIds=[ref.resource_id])["SecurityGroups"]
        return {t["Key"]: t["Value"] for g in groups for t in g.get("Tags", [])}
    if ref.resource_type == LOAD_BALANCER:
        descriptions = clients.elbv2(ref.region).describe_tags(ResourceArns=[ref.resource_id])["TagDescriptions"]
        return {t["Key"]: t["Value"] for d in descriptions for t in d.get("Tags", [])}
    if ref.resource_type in RDS_ARN_KINDS:
        tag_list = clients.rds(ref.region).list_tags_for_resource(ResourceName=_rds_arn(ref))["TagList"]
        return {t["Key"]: t["Value"] for t in tag_list}
    if ref.resource_type == TRAIL and ref.resource_id.startswith("arn:"):
        tag_lists = clients.cloudtrail(ref.region).list_tags(ResourceIdList=[ref.resource_id])["ResourceTagList"]
        return {t["Key"]: t.get("Value", "") for tl in tag_lists for t in tl.get("TagsList", [])}
    if ref.resource_type in EC2_TAGGED:
        described = clients.ec2(ref.region).describe_tags(
            Filters=[{"Name": "resource-id", "Values": [ref.resource_id]}]
        )
        return {t["Key"]: t["Value"] for t in described["Tags"]}
    if ref.resource_type == KMS_KEY:
        pages = clients.kms(ref.region).get_paginator("list_resource_tags").paginate(KeyId=ref.resource_id)
        return {t["TagKey"]: t["TagValue"] for page in pages for t in page.get("Tags", [])}
    if ref.resource_type == CERTIFICATE:
        listed = clients.acm(ref.region).list_tags_for_certificate(CertificateArn=ref.resource_id)
        return {t["Key"]: t.get("Value", "") for t in listed.get("Tags", [])}
    return {}


_S3_ELB_TAG_VALUE = re.compile(r"[^\w .:/=+\-@]")


def merge_tags(context: Context, ref: ResourceRef, tags: dict[str, str]) -> None:
    """Add or overwrite these tags and keep every other tag (S3 replaces the whole set: merge first)."""
    clients = context.clients
    if ref.resource_type in (S3_BUCKET, LOAD_BALANCER):  # their tag values allow fewer characters than EC2's
        tags = {k: _S3_ELB_TAG_VALUE.sub(" ", v)[:256] for k, v in tags.items()}
    if ref.resource_type == S3_BUCKET:
        merged = {**read_tags(context, ref), **tags}
        clients.s3(ref.region).put_bucket_tagging(
            Bucket=ref.resource_id, Tagging={"TagSet": [{"Key": k, "Value": v} for k, v in merged.items()]}
        )
    elif ref.resource_type == SECURITY_GROUP or ref.resource_type in EC2_TAGGED:
        clients.ec2(ref.region).create_tags(
            Resources=[ref.resource_id], Tags=[{"Key": k, "Value": v} for k, v in tags.items()]
        )
    elif ref.resource_type == LOAD_BALANCER:
        clients.elbv2(ref.region).add_tags(
            ResourceArns=[ref.resource_id], Tags=[{"Key": k, "Value": v} for k, v in tags.items()]
        )
    elif ref.resource_type in RDS_ARN_KINDS:
        clients.rds(ref.region).add_tags_to_resource(
            ResourceName=_rds_arn(ref), Tags=[{"Key": k, "Value": v} for k, v in tags.items()]
        )
    elif ref.resource_type == TRAIL:
        clients.cloudtrail(ref.region).add_tags(
            ResourceId=ref.resource_id, TagsList=[{"Key": k, "Value": v} for k, v in tags.items()]
        )
    elif ref.resource_type == KMS_KEY:
        clients.kms(ref.region).tag_resource(
            KeyId=ref.resource_id, Tags=[{"TagKey": k, "TagValue": v} for k, v in tags.items()]
        )
    elif ref.resource_type == CERTIFICATE:
        clients.acm(ref.region).add_tags_to_certificate(
            CertificateArn=ref.resource_id, Tags=[{"Key": k, "Value": v} for k, v in tags.items()]
        )
    else:
        raise ValueError(f"PHI Guard cannot tag a {ref.resource_type}")
