"""CloudTrail trails: where an API call names its trail, and the reads the trail controls share.

A trail lives in its home region; a multi-region trail also shows as a "shadow" in every other region,
where it cannot be changed. So every reference is resolved to the trail's ARN and home region, and
every read and write is made there.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from phiguard.core.control import Context, ResourceGone
from phiguard.core.model import ApiCall, ResourceRef

if TYPE_CHECKING:
    from mypy_boto3_cloudtrail.type_defs import TrailTypeDef

TRAIL = "AWS::CloudTrail::Trail"
GONE_CODES = frozenset({"TrailNotFoundException"})
# What resolving a name and reading a trail need (every trail control lists them).
READ_PERMISSIONS = ("cloudtrail:DescribeTrails", "cloudtrail:GetTrail")

_ARN = re.compile(
    r"^arn:(?P<partition>[\w-]+):cloudtrail:(?P<region>[a-z0-9-]+):(?P<account>\d{12}):trail/(?P<name>.+)$"
)
_PARTITIONS = (("cn-", "aws-cn"), ("us-gov-", "aws-us-gov"), ("us-isob-", "aws-iso-b"), ("us-iso-", "aws-iso"))


def home_region(arn: str) -> str | None:
    """The region in a trail ARN, or None when the value is not a trail ARN."""
    match = _ARN.match(arn)
    return match["region"] if match else None


def trail_arn(name: str, region: str, account_id: str) -> str:
    """The ARN a trail of this name created in this region has."""
    partition = next((p for prefix, p in _PARTITIONS if region.startswith(prefix)), "aws")
    return f"arn:{partition}:cloudtrail:{region}:{account_id}:trail/{name}"


def trail_name(ref: ResourceRef) -> str:
    """The trail's name, from its ARN (or the name itself)."""
    match = _ARN.match(ref.resource_id)
    return match["name"] if match else ref.resource_id


def trails(call: ApiCall) -> list[ResourceRef]:
    """The trail a CloudTrail API call names: by ARN in its home region, or by name for resolve()."""
    names = [call.request.get("name"), call.response.get("trailARN"), call.response.get("name")]
    values = [n for n in names if isinstance(n, str) and n]
    for value in values:
        region = home_region(value)
        if region:
            return [ResourceRef(TRAIL, value, region, call.account_id)]
    return [call.ref(TRAIL, values[0], by_name=True)] if values else []


def resolve(context: Context, ref: ResourceRef) -> ResourceRef:
    """A trail named by name becomes a reference by ARN, in the trail's home region.

    A name reaches the trails of the event's region and, with shadow trails, the multi-region trails
    of the other regions; a trail of the region itself is preferred over a shadow of the same name.
    """
    if not ref.by_name:
        return ref
    found = context.clients.cloudtrail(ref.region).describe_trails(
        trailNameList=[ref.resource_id], includeShadowTrails=True
    )
    matches = [t for t in found.get("trailList", []) if t.get("Name") == ref.resource_id and t.get("TrailARN")]
    matches.sort(key=lambda t: t.get("HomeRegion") != ref.region)
    if not matches:
        raise ResourceGone(f"no trail named {ref.resource_id!r} in {ref.region}")
    arn = matches[0]["TrailARN"]
    return ResourceRef(
        ref.resource_type, arn, matches[0].get("HomeRegion") or home_region(arn) or ref.region, ref.account_id
    )


def read(context: Context, ref: ResourceRef) -> TrailTypeDef:
    """The trail's settings, read in its home region; a trail that is not there is ResourceGone."""
    try:
        return context.clients.cloudtrail(ref.region).get_trail(Name=ref.resource_id)["Trail"]
    except ClientError as e:
        if _code(e) in GONE_CODES:
            raise ResourceGone(f"trail {ref.resource_id} does not exist") from e
        raise


def is_logging(context: Context, ref: ResourceRef) -> bool:
    try:
        return bool(context.clients.cloudtrail(ref.region).get_trail_status(Name=ref.resource_id).get("IsLogging"))
    except ClientError as e:
        if _code(e) in GONE_CODES:
            raise ResourceGone(f"trail {ref.resource_id} does not exist") from e
        raise


def _code(error: ClientError) -> str | None:
    return error.response.get("Error", {}).get("Code")
