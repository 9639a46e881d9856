"""Drifts injected the way a person causes them: a real API call, then the CloudTrail event it makes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3

from phiguard_local import cloudtrail
from phiguard_local.refarch import RefArch


@dataclass(frozen=True)
class Drift:
    control_id: str
    resource_id: str
    description: str
    event: dict[str, Any]


def _new_rules(group_id: str, before: set[str]) -> list[dict[str, Any]]:
    rules = boto3.client("ec2").describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group_id]}])[
        "SecurityGroupRules"
    ]
    return [r for r in rules if r["SecurityGroupRuleId"] not in before]


def _rule_ids(group_id: str) -> set[str]:
    return {r["SecurityGroupRuleId"] for r in _new_rules(group_id, set())}


def delete_bucket_encryption(arch: RefArch) -> Drift:
    boto3.client("s3").delete_bucket_encryption(Bucket=arch.bucket)
    request = {"bucketName": arch.bucket, "Host": f"{arch.bucket}.s3.amazonaws.com", "encryption": ""}
    event = cloudtrail.envelope("aws.s3", cloudtrail.detail("s3", "DeleteBucketEncryption", request, None))
    return Drift(
        "s3-default-encryption-kms",
        arch.bucket,
        "DeleteBucketEncryption on the PHI bucket (S3 falls back to SSE-S3)",
        event,
    )


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
)
