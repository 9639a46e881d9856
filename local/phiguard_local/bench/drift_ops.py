"""The compared drifts as plain boto3 calls: make one again, tell whether it is fixed, undo it.

Standard library and boto3 only: the Custodian driver imports this file too. Both tools are judged by
the same checks, read back from the emulator after each event, independently of either tool's code.
"""

from __future__ import annotations

import copy
import os
import threading
import uuid
from typing import Any

import boto3
from botocore.exceptions import ClientError

WORLD = ("0.0.0.0/0", "::/0")
KMS = ("aws:kms", "aws:kms:dsse")
_CLIENTS: dict[tuple[str, str], Any] = {}
_LOCK = threading.Lock()


def _client(service: str) -> Any:
    """One client per service and endpoint, made once (boto3's default session is not safe to share across
    threads; a later run in the same process has a moto server of its own)."""
    key = (service, os.environ.get("AWS_ENDPOINT_URL", ""))
    with _LOCK:
        if key not in _CLIENTS:
            _CLIENTS[key] = boto3.session.Session().client(service)  # type: ignore[call-overload]
        return _CLIENTS[key]


def _ingress(group: str) -> list[dict[str, Any]]:
    rules = _client("ec2").describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group]}])
    return [r for r in rules["SecurityGroupRules"] if not r["IsEgress"]]


def _ssh_world(group: str) -> list[dict[str, Any]]:
    return [
        r
        for r in _ingress(group)
        if r.get("FromPort") == 22 and (r.get("CidrIpv4") in WORLD or r.get("CidrIpv6") in WORLD)
    ]


def _bastion_rules(group: str, bastion: str) -> list[dict[str, Any]]:
    return [r for r in _ingress(group) if r.get("ReferencedGroupInfo", {}).get("GroupId") == bastion]


def fresh_event(event: dict[str, Any]) -> dict[str, Any]:
    """The same CloudTrail event again, as CloudTrail records a new call: new ids (PHI Guard acts once per id)."""
    fresh = copy.deepcopy(event)
    fresh["id"] = str(uuid.uuid4())
    fresh["detail"]["eventID"] = str(uuid.uuid4())
    fresh["detail"]["requestID"] = str(uuid.uuid4())
    return fresh


def redrift(control_id: str, ids: dict[str, str]) -> None:
    """The drift a person causes, made again with the same API call before each event, for both tools."""
    if control_id == "s3-default-encryption-kms":
        _client("s3").delete_bucket_encryption(Bucket=ids["bucket"])
    elif control_id == "vpc-sg-restricted-ports":
        _client("ec2").authorize_security_group_ingress(
            GroupId=ids["group"],
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": 22,
                    "ToPort": 22,
                    "IpRanges": [{"CidrIp": WORLD[0]}],
                    "Ipv6Ranges": [{"CidrIpv6": WORLD[1]}],
                }
            ],
        )
    elif control_id == "db-no-bastion-access":
        _client("ec2").authorize_security_group_ingress(
            GroupId=ids["group"],
            IpPermissions=[
                {
                    "IpProtocol": "tcp",
                    "FromPort": 3306,
                    "ToPort": 3306,
                    "UserIdGroupPairs": [{"GroupId": ids["bastion"]}],
                }
            ],
        )
    elif control_id == "alb-http-to-https-redirection-check":
        _client("elbv2").modify_listener(
            ListenerArn=ids["listener"], DefaultActions=[{"Type": "forward", "TargetGroupArn": ids["target_group"]}]
        )
    else:
        raise KeyError(control_id)


def fixed(control_id: str, ids: dict[str, str]) -> bool:
    """Read back: is the drift gone?"""
    if control_id == "s3-default-encryption-kms":
        try:
            rules = _client("s3").get_bucket_encryption(Bucket=ids["bucket"])["ServerSideEncryptionConfiguration"]
        except ClientError:
            return False
        return any(r.get("ApplyServerSideEncryptionByDefault", {}).get("SSEAlgorithm") in KMS for r in rules["Rules"])
    if control_id == "vpc-sg-restricted-ports":
        return not _ssh_world(ids["group"])
    if control_id == "db-no-bastion-access":
        return not _bastion_rules(ids["group"], ids["bastion"])
    if control_id == "alb-http-to-https-redirection-check":
        listener = _client("elbv2").describe_listeners(ListenerArns=[ids["listener"]])["Listeners"][0]
        actions = listener["DefaultActions"]
        return all(a["Type"] == "redirect" and a["RedirectConfig"]["Protocol"] == "HTTPS" for a in actions)
    raise KeyError(control_id)


def undo(control_id: str, ids: dict[str, str]) -> None:
    """Put the resource back as compliant (after a tool left the drift), so the next event starts alike."""
    ec2 = _client("ec2")
    if control_id == "s3-default-encryption-kms":
        _client("s3").put_bucket_encryption(
            Bucket=ids["bucket"],
            ServerSideEncryptionConfiguration={
                "Rules": [
                    {
                        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": ids["key"]},
                        "BucketKeyEnabled": True,
                    }
                ]
            },
        )
    elif control_id == "vpc-sg-restricted-ports":
        rules = [r["SecurityGroupRuleId"] for r in _ssh_world(ids["group"])]
        if rules:
            ec2.revoke_security_group_ingress(GroupId=ids["group"], SecurityGroupRuleIds=rules)
    elif control_id == "db-no-bastion-access":
        rules = [r["SecurityGroupRuleId"] for r in _bastion_rules(ids["group"], ids["bastion"])]
        if rules:
            ec2.revoke_security_group_ingress(GroupId=ids["group"], SecurityGroupRuleIds=rules)
    elif control_id == "alb-http-to-https-redirection-check":
        redirect = {
            "Type": "redirect",
            "RedirectConfig": {"Protocol": "HTTPS", "Port": "443", "StatusCode": "HTTP_301"},
        }
        _client("elbv2").modify_listener(ListenerArn=ids["listener"], DefaultActions=[redirect])  # type: ignore[list-item]
    else:
        raise KeyError(control_id)
