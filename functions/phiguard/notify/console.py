"""AWS console links to the resource a notification is about, pure (no AWS call).

Each supported resource type opens the resource's own page; anything else opens its service's console
(or the console home) in the resource's region, so a link is never missing and never wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote

_PARTITION_CONSOLES = (
    ("cn-", "https://console.amazonaws.cn"),
    ("us-gov-", "https://console.amazonaws-us-gov.com"),
)
_DEFAULT_CONSOLE = "https://console.aws.amazon.com"

# The console path of a service when the resource type has no page of its own.
_SERVICE_HOMES = {
    "acm": "acm/home",
    "cloudtrail": "cloudtrailv2/home",
    "ec2": "ec2/home",
    "elasticloadbalancingv2": "ec2/home",
    "iam": "iam/home",
    "kms": "kms/home",
    "rds": "rds/home",
    "s3": "s3/home",
}


def _q(value: str) -> str:
    return quote(value, safe="")


def _after(value: str, marker: str) -> str:
    """The part of an ARN after marker (key/..., certificate/...); the value itself if it has none."""
    return value.split(marker, 1)[1] if value.startswith("arn:") and marker in value else value


def _s3(resource_id: str, region: str) -> str:
    return f"s3/buckets/{_q(_after(resource_id, ':::'))}?region={region}&tab=properties"


def _security_group(resource_id: str, region: str) -> str:
    if resource_id.startswith("sg-"):
        return f"ec2/home?region={region}#SecurityGroup:groupId={_q(resource_id)}"
    return f"ec2/home?region={region}#SecurityGroups:search={_q(resource_id)}"  # a group name or a VPC id


def _load_balancer(resource_id: str, region: str) -> str:
    return f"ec2/home?region={region}#LoadBalancer:loadBalancerArn={_q(resource_id)}"


def _db_instance(resource_id: str, region: str) -> str:
    return f"rds/home?region={region}#database:id={_q(_after(resource_id, ':db:'))};is-cluster=false"


def _db_cluster(resource_id: str, region: str) -> str:
    return f"rds/home?region={region}#database:id={_q(_after(resource_id, ':cluster:'))};is-cluster=true"


def _db_snapshot(resource_id: str, region: str) -> str:
    return f"rds/home?region={region}#db-snapshot:id={_q(_after(resource_id, ':snapshot:'))}"


def _trail(resource_id: str, region: str) -> str:
    if resource_id.startswith("arn:"):
        return f"cloudtrailv2/home?region={region}#/trails/{_q(resource_id)}"
    return f"cloudtrailv2/home?region={region}#/trails"  # a name: the list shows it


def _kms_key(resource_id: str, region: str) -> str:
    key = _after(resource_id, ":key/")
    if key.startswith("alias/") or ":alias/" in key:
        return f"kms/home?region={region}#/kms/keys"
    return f"kms/home?region={region}#/kms/keys/{_q(key)}"


def _certificate(resource_id: str, region: str) -> str:
    return f"acm/home?region={region}#/certificates/{_q(_after(resource_id, ':certificate/'))}"


def _volume(resource_id: str, region: str) -> str:
    return f"ec2/home?region={region}#VolumeDetails:volumeId={_q(resource_id)}"


def _instance(resource_id: str, region: str) -> str:
    return f"ec2/home?region={region}#InstanceDetails:instanceId={_q(resource_id)}"


def _vpc(resource_id: str, region: str) -> str:
    if resource_id.startswith("vpc-"):
        return f"vpcconsole/home?region={region}#VpcDetails:VpcId={_q(resource_id)}"
    return f"vpcconsole/home?region={region}#vpcs:"  # "*": every VPC of the region


def _subnet(resource_id: str, region: str) -> str:
    return f"vpcconsole/home?region={region}#SubnetDetails:subnetId={_q(resource_id)}"


def _alarm(resource_id: str, region: str) -> str:
    return f"cloudwatch/home?region={region}#alarmsV2:alarm/{_q(_after(resource_id, ':alarm:'))}"


_PAGES: dict[str, Callable[[str, str], str]] = {
    "AWS::S3::Bucket": _s3,
    "AWS::EC2::SecurityGroup": _security_group,
    "AWS::ElasticLoadBalancingV2::LoadBalancer": _load_balancer,
    "AWS::RDS::DBInstance": _db_instance,
    "AWS::RDS::DBCluster": _db_cluster,
    "AWS::RDS::DBSnapshot": _db_snapshot,
    "AWS::CloudTrail::Trail": _trail,
    "AWS::KMS::Key": _kms_key,
    "AWS::ACM::Certificate": _certificate,
    "AWS::EC2::Volume": _volume,
    "AWS::EC2::Instance": _instance,
    "AWS::EC2::VPC": _vpc,
    "AWS::EC2::Subnet": _subnet,
    "AWS::CloudWatch::Alarm": _alarm,
}


def console_url(resource_type: str, resource_id: str, region: str) -> str:
    """The console page of the resource; its service's console (or the console home) for other types."""
    base = next((url for prefix, url in _PARTITION_CONSOLES if region.startswith(prefix)), _DEFAULT_CONSOLE)
    page = _PAGES.get(resource_type)
    if page is not None:
        return f"{base}/{page(resource_id, region)}"
    service = resource_type.split("::")[1].lower() if resource_type.count("::") == 2 else ""
    home = _SERVICE_HOMES.get(service, "console/home")
    return f"{base}/{home}?region={region}"
