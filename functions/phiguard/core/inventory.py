"""Every resource of a type in a region, a page at a time: what the sweep and `phiguard scan` walk.

A walk lists a type's ids once (every page of the service's own size) and judges them PAGE_SIZE at a time;
the token is an offset into that listing, so a sweep that runs out of time hands the rest to its next
invocation, which lists afresh if its listing is gone or old.
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
Lister = Callable[[Clients, str, str], list[str]]  # every id of one type in one region

# One walk pages through one listing: (account, region, type) -> (listed at, ids).
_LISTED: dict[tuple[str, str, str], tuple[float, list[str]]] = {}
LISTING_SECONDS = 300  # a later page of an older listing (a hand-off to a cold invocation) lists afresh


def _ids(client: Any, operation: str, key: str, field: str, **kwargs: Any) -> list[str]:
    """Every page at the service's own page size: n / 1,000 calls for most EC2 types, not n / PAGE_SIZE."""
    return [item[field] for page in client.get_paginator(operation).paginate(**kwargs) for item in page.get(key, [])]


def _buckets(clients: Clients, region: str, account_id: str) -> list[str]:
    return _ids(clients.s3(region), "list_buckets", "Buckets", "Name", BucketRegion=region)


def _instances(clients: Clients, region: str, account_id: str) -> list[str]:
    pages = clients.ec2(region).get_paginator("describe_instances").paginate()
    return [i["InstanceId"] for page in pages for r in page["Reservations"] for i in r.get("Instances", [])]


def _trails(clients: Clients, region: str, account_id: str) -> list[str]:
    arns = _ids(clients.cloudtrail(region), "list_trails", "Trails", "TrailARN")
    return [a for a in arns if trails.home_region(a) == region]  # each trail once, in its home region


def _account(clients: Clients, region: str, account_id: str) -> list[str]:
    return [account_id]


def _simple(service: str, operation: str, key: str, field: str, **kwargs: Any) -> Lister:
    def lister(clients: Clients, region: str, account_id: str) -> list[str]:
        return _ids(getattr(clients, service)(region), operation, key, field, **kwargs)

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
    clients: Clients, resource_type: str, account_id: str, region: str, ids: list[str], *, first_page: bool
) -> AbstractContextManager[None]:
    """While a page is judged: the state its controls read, read for the whole walk at once where one call can
    (security groups' rules); elsewhere nothing, each control reads its resource itself."""
    if resource_type == "AWS::EC2::SecurityGroup":
        return security_groups.page_rules(clients, account_id, region, ids, first_page=first_page)
    return nullcontext()


def took_page_data() -> bool:
    """Whether this thread's last evaluation used state read for its page rather than live (and forget it):
    the engine then reads live again before it fixes anything."""
    return security_groups.took_page_rules()


def listable(resource_type: str) -> bool:
    return resource_type in LISTERS


def list_page(clients: Clients, resource_type: str, region: str, account_id: str, token: str | None) -> Page:
    """One page of the ids of every resource of this type in this region (KeyError: not listable). A walk's
    first page lists the region afresh; the token is an offset into that listing (ValueError: not one)."""
    lister = LISTERS[resource_type]
    start = int(token or 0)
    key = (account_id, region, resource_type)
    listed_at, ids = _LISTED.get(key, (0.0, []))
    if not start or time.monotonic() - listed_at > LISTING_SECONDS:
        ids = lister(clients, region, account_id)
        _LISTED[key] = (time.monotonic(), ids)
    end = start + PAGE_SIZE
    return ids[start:end], str(end) if end < len(ids) else None
