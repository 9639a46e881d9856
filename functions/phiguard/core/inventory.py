"""Every resource of a type in a region, a page at a time: what the sweep and `phiguard scan` walk.

Pages resume from a token, so a sweep that runs out of time hands the rest to its next invocation. The
token is botocore's own resume token (MaxItems / StartingToken); S3 lists a region's buckets in one call,
so its token is an offset into that list.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from phiguard.core import kms, network, rds, security_groups, trails
from phiguard.core.aws import Clients

PAGE_SIZE = 100  # resources per page: bounded work between two checks of the time left
ACCOUNT = "AWS::::Account"

# What listing needs, besides the reads the controls declare themselves.
PERMISSIONS = (
    "s3:ListAllMyBuckets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeVolumes",
    "ec2:DescribeInstances",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
    "ec2:DescribeRegions",
    "elasticloadbalancing:DescribeLoadBalancers",
    "rds:DescribeDBInstances",
    "rds:DescribeDBClusters",
    "rds:DescribeDBSnapshots",
    "rds:DescribeDBClusterSnapshots",
    "cloudtrail:ListTrails",
    "kms:ListKeys",
    "acm:ListCertificates",
)

Page = tuple[list[str], str | None]  # resource ids, and the token of the next page (None: the last)
Lister = Callable[[Clients, str, str, str | None], Page]


def _paged(
    client: Any, operation: str, key: str, field: str, token: str | None, *, sized: bool = True, **kwargs: Any
) -> Page:
    """One page; `sized` False for the few APIs that take no page size (botocore then refuses PageSize)."""
    config: dict[str, Any] = {"MaxItems": PAGE_SIZE, **({"PageSize": PAGE_SIZE} if sized else {})}
    if token:
        config["StartingToken"] = token
    result = client.get_paginator(operation).paginate(**kwargs, PaginationConfig=config).build_full_result()
    return [item[field] for item in result.get(key, [])], result.get("NextToken")


_BUCKET_NAMES: dict[tuple[str, str], tuple[float, list[str]]] = {}  # (account, region) -> (listed at, names)
BUCKET_LIST_SECONDS = 300  # one walk pages through one listing instead of listing again for every page


def _buckets(clients: Clients, region: str, account_id: str, token: str | None) -> Page:
    start = int(token or 0)
    listed_at, names = _BUCKET_NAMES.get((account_id, region), (0.0, []))
    if not start or time.monotonic() - listed_at > BUCKET_LIST_SECONDS:  # a walk's first page lists afresh
        names = [
            bucket["Name"]
            for page in clients.s3(region).get_paginator("list_buckets").paginate(BucketRegion=region)
            for bucket in page.get("Buckets", [])
        ]
        _BUCKET_NAMES[(account_id, region)] = (time.monotonic(), names)
    end = start + PAGE_SIZE
    return names[start:end], str(end) if end < len(names) else None


def _instances(clients: Clients, region: str, account_id: str, token: str | None) -> Page:
    ec2 = clients.ec2(region)
    reservations, next_token = _reservations(ec2, token)
    return [i["InstanceId"] for r in reservations for i in r.get("Instances", [])], next_token


def _reservations(ec2: Any, token: str | None) -> tuple[list[dict[str, Any]], str | None]:
    config: dict[str, Any] = {"MaxItems": PAGE_SIZE, "PageSize": PAGE_SIZE}
    if token:
        config["StartingToken"] = token
    result = ec2.get_paginator("describe_instances").paginate(PaginationConfig=config).build_full_result()
    return result.get("Reservations", []), result.get("NextToken")


def _trails(clients: Clients, region: str, account_id: str, token: str | None) -> Page:
    arns, next_token = _paged(clients.cloudtrail(region), "list_trails", "Trails", "TrailARN", token, sized=False)
    return [a for a in arns if trails.home_region(a) == region], next_token  # each trail once, in its home


def _account(clients: Clients, region: str, account_id: str, token: str | None) -> Page:
    return [account_id], None


def _simple(service: str, operation: str, key: str, field: str, **kwargs: Any) -> Lister:
    def lister(clients: Clients, region: str, account_id: str, token: str | None) -> Page:
        client = getattr(clients, service)(region)
        return _paged(client, operation, key, field, token, **kwargs)

    return lister


LISTERS: dict[str, Lister] = {
    ACCOUNT: _account,
    "AWS::S3::Bucket": _buckets,
    "AWS::EC2::SecurityGroup": _simple("ec2", "describe_security_groups", "SecurityGroups", "GroupId"),
    "AWS::EC2::Volume": _simple("ec2", "describe_volumes", "Volumes", "VolumeId"),
    network.INSTANCE: _instances,
    network.SUBNET: _simple("ec2", "describe_subnets", "Subnets", "SubnetId"),
    network.VPC: _simple("ec2", "describe_vpcs", "Vpcs", "VpcId"),
    "AWS::ElasticLoadBalancingV2::LoadBalancer": _simple(
        "elbv2", "describe_load_balancers", "LoadBalancers", "LoadBalancerArn"
    ),
    rds.INSTANCE: _simple("rds", "describe_db_instances", "DBInstances", "DBInstanceIdentifier"),
    rds.CLUSTER: _simple("rds", "describe_db_clusters", "DBClusters", "DBClusterIdentifier"),
    rds.SNAPSHOT: _simple("rds", "describe_db_snapshots", "DBSnapshots", "DBSnapshotIdentifier", SnapshotType="manual"),
    rds.CLUSTER_SNAPSHOT: _simple(
        "rds",
        "describe_db_cluster_snapshots",
        "DBClusterSnapshots",
        "DBClusterSnapshotIdentifier",
        SnapshotType="manual",
    ),
    trails.TRAIL: _trails,
    kms.KEY: _simple("kms", "list_keys", "Keys", "KeyId"),
    "AWS::ACM::Certificate": _simple("acm", "list_certificates", "CertificateSummaryList", "CertificateArn"),
}


def page_read(
    clients: Clients, resource_type: str, account_id: str, region: str, ids: list[str]
) -> AbstractContextManager[None]:
    """While a page is judged: the state its controls read, read for the whole page at once where one call can
    (security groups' rules); elsewhere nothing, each control reads its resource itself."""
    if resource_type == "AWS::EC2::SecurityGroup":
        return security_groups.page_rules(clients, account_id, region, ids)
    return nullcontext()


def took_page_data() -> bool:
    """Whether this thread's last evaluation used state read for its page rather than live (and forget it):
    the engine then reads live again before it fixes anything."""
    return security_groups.took_page_rules()


def listable(resource_type: str) -> bool:
    return resource_type in LISTERS


def list_page(clients: Clients, resource_type: str, region: str, account_id: str, token: str | None) -> Page:
    """One page of the ids of every resource of this type in this region (KeyError: not listable)."""
    return LISTERS[resource_type](clients, region, account_id, token)
