"""The one moto server both tools talk to (its own process), and the sweep's account of n resources."""

from __future__ import annotations

import logging
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ClientError

from phiguard_local.bench import drift_ops
from phiguard_local.embedded import fake_aws_environment, free_port

logger = logging.getLogger("phiguard.bench")


@contextmanager
def moto_server(log: Path) -> Iterator[str]:
    """A moto server in a process of its own on 127.0.0.1, so neither tool shares an interpreter (and its
    lock) with the emulator; fake credentials and the endpoint are forced in this process and its children."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "phiguard_local.bench.moto_server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_up(endpoint, server)
            with fake_aws_environment(endpoint):
                yield endpoint
        finally:
            server.terminate()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()


def _wait_until_up(endpoint: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the moto server exited with {server.returncode}")
        try:
            request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
            with urllib.request.urlopen(request, timeout=2) as response:
                response.read()
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
        else:
            return
    raise RuntimeError("the moto server did not start within 30 s")


GROUPS_PER_VPC = 1000
BUCKET_PREFIX = "bench-"


@dataclass
class SweepWorld:
    """An account for the sweep: half buckets (SSE-KMS), half security groups (HTTPS from the VPC); one in
    ten of each drifted before every run (default encryption removed; SSH opened to the world)."""

    key_arn: str
    buckets: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    vpcs: list[str] = field(default_factory=list)

    def grow(self, total: int, threads: int = 8) -> None:
        """Add resources until the bench's own are `total` (half buckets, half groups)."""
        want_buckets, want_groups = total // 2, total - total // 2
        ec2 = boto3.client("ec2")
        while len(self.vpcs) * GROUPS_PER_VPC < want_groups:
            self.vpcs.append(ec2.create_vpc(CidrBlock=f"10.{100 + len(self.vpcs)}.0.0/16")["Vpc"]["VpcId"])
        s3 = boto3.client("s3")
        new_buckets = [f"{BUCKET_PREFIX}{i:05d}-data" for i in range(len(self.buckets), want_buckets)]
        new_groups = list(range(len(self.groups), want_groups))
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(lambda name: self._bucket(s3, name), new_buckets))
        self.buckets += new_buckets
        # One at a time: moto's CreateSecurityGroup reads a dict that a concurrent one grows (HTTP 500).
        self.groups += [self._group(ec2, n) for n in new_groups]

    def _bucket(self, s3: Any, name: str) -> None:
        s3.create_bucket(Bucket=name)
        s3.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {
                        "ApplyServerSideEncryptionByDefault": {
                            "SSEAlgorithm": "aws:kms",
                            "KMSMasterKeyID": self.key_arn,
                        },
                        "BucketKeyEnabled": True,
                    }
                ]
            },
        )

    def _group(self, ec2: Any, n: int) -> str:
        vpc = self.vpcs[n // GROUPS_PER_VPC]
        group = str(ec2.create_security_group(GroupName=f"bench-{n:05d}-sg", Description="bench", VpcId=vpc)["GroupId"])
        ec2.authorize_security_group_ingress(
            GroupId=group,
            IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}
            ],
        )
        return group

    @property
    def drifted_buckets(self) -> list[str]:
        return self.buckets[::10]

    @property
    def drifted_groups(self) -> list[str]:
        return self.groups[::10]

    def drift(self, threads: int = 8) -> None:
        """One in ten of each drifted (again: the previous tool fixed them)."""

        def group(group_id: str) -> None:
            try:
                drift_ops.redrift("vpc-sg-restricted-ports", {"group": group_id})
            except ClientError as e:
                if e.response["Error"]["Code"] != "InvalidPermission.Duplicate":  # left drifted by the last run
                    raise

        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(
                pool.map(lambda b: drift_ops.redrift("s3-default-encryption-kms", {"bucket": b}), self.drifted_buckets)
            )
            list(pool.map(group, self.drifted_groups))

    def fixed(self, threads: int = 8) -> dict[str, int]:
        """How many of the drifted resources a run left compliant, read back from the emulator."""
        with ThreadPoolExecutor(max_workers=threads) as pool:
            buckets = sum(
                pool.map(lambda b: drift_ops.fixed("s3-default-encryption-kms", {"bucket": b}), self.drifted_buckets)
            )
            groups = sum(
                pool.map(lambda g: drift_ops.fixed("vpc-sg-restricted-ports", {"group": g}), self.drifted_groups)
            )
        return {
            "buckets": int(buckets),
            "groups": int(groups),
            "drifted": len(self.drifted_buckets) + len(self.drifted_groups),
        }


def count_swept(region: str) -> int:
    """Every bucket and security group in the account: what both tools' sweeps judge."""
    buckets = len(boto3.client("s3").list_buckets()["Buckets"])
    pages = boto3.client("ec2", region_name=region).get_paginator("describe_security_groups").paginate()
    return buckets + sum(len(p["SecurityGroups"]) for p in pages)
