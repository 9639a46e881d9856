"""Security-group reads and writes shared by the network controls (rule-level, never whole groups)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, cast

from botocore.exceptions import ClientError

from phiguard.core.aws import Clients
from phiguard.core.control import Context, ResourceGone
from phiguard.core.model import JsonDict, ResourceRef, Result

if TYPE_CHECKING:
    from mypy_boto3_ec2.type_defs import IpPermissionTypeDef, SecurityGroupRuleTypeDef

WORLD_V4, WORLD_V6 = "0.0.0.0/0", "::/0"
ALL_PROTOCOLS = "-1"
_GONE = ("InvalidGroup.NotFound", "InvalidGroupId.Malformed", "InvalidGroupId.NotFound")

# The rules of a walk's region, read once when its first page of groups is judged: (account, region) ->
# (read at, group id -> its rules); and those of the pages being judged now, each group's taken once.
_WALK_RULES: dict[tuple[str, str], tuple[float, dict[str, list[SecurityGroupRuleTypeDef]]]] = {}
WALK_RULES_SECONDS = 300  # a later page of an older read (a hand-off to a cold invocation) reads afresh
_PAGE_RULES: dict[tuple[str, str, str], list[SecurityGroupRuleTypeDef]] = {}
_PAGE_LOCK = threading.Lock()
_SERVED = threading.local()  # this thread's last evaluation read a page's rules (not live ones)


def took_page_rules() -> bool:
    """Whether this thread read a group's rules from its page since the last call; and forget it."""
    served = bool(getattr(_SERVED, "flag", False))
    _SERVED.flag = False
    return served


def _region_rules(clients: Clients, region: str) -> dict[str, list[SecurityGroupRuleTypeDef]]:
    """Every rule of the region by group: rules / 1,000 calls instead of one call per page of groups."""
    by_group: dict[str, list[SecurityGroupRuleTypeDef]] = {}
    for page in clients.ec2(region).get_paginator("describe_security_group_rules").paginate():
        for rule in page["SecurityGroupRules"]:
            by_group.setdefault(str(rule.get("GroupId")), []).append(rule)
    return by_group


@contextmanager
def page_rules(
    clients: Clients, account_id: str, region: str, group_ids: list[str], *, first_page: bool
) -> Iterator[None]:
    """While a walk judges a page of groups: their rules from one read of the region's rules, made when the
    walk's first page is judged. Each group's rules go to the first evaluation that reads them and are then
    forgotten, so every later read, the verifying evaluation after a fix included, reads live state; a group
    the read did not see (made since, or with no rules at all) is read live as before. A fix is never decided
    on this read: the engine reads live again first (took_page_rules)."""
    keys: list[tuple[str, str, str]] = []
    if group_ids:
        with _PAGE_LOCK:
            read_at, walk_rules = _WALK_RULES.get((account_id, region), (0.0, {}))
            if first_page or time.monotonic() - read_at > WALK_RULES_SECONDS:
                walk_rules = _region_rules(clients, region)
                _WALK_RULES[(account_id, region)] = (time.monotonic(), walk_rules)
            for group_id in group_ids:
                rules = walk_rules.pop(group_id, None)
                if rules is not None:
                    _PAGE_RULES[(account_id, region, group_id)] = rules
                    keys.append((account_id, region, group_id))
    try:
        yield
    finally:
        with _PAGE_LOCK:
            for key in keys:
                _PAGE_RULES.pop(key, None)


def resolve(context: Context, ref: ResourceRef) -> ResourceRef:
    """A rule added by group name (default VPC only, in EC2's API) becomes a reference by id."""
    if not ref.by_name:
        return ref
    ec2 = context.clients.ec2(ref.region)
    groups = ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [ref.resource_id]}])[
        "SecurityGroups"
    ]
    default_vpcs = {v["VpcId"] for v in ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]}
    groups = [g for g in groups if g.get("VpcId") in default_vpcs]  # EC2's name form reaches the default VPC only
    if len(groups) != 1:
        raise ResourceGone(f"no single security group named {ref.resource_id!r} in the default VPC")
    return ResourceRef(ref.resource_type, groups[0]["GroupId"], ref.region, ref.account_id)


def ingress_rules(context: Context, ref: ResourceRef) -> list[SecurityGroupRuleTypeDef]:
    """Every ingress rule of the group, one CIDR / reference / prefix list per rule."""
    with _PAGE_LOCK:
        read_with_its_page = _PAGE_RULES.pop((ref.account_id, ref.region, ref.resource_id), None)
    if read_with_its_page is not None:
        _SERVED.flag = True
        return [rule for rule in read_with_its_page if not rule.get("IsEgress")]
    ec2 = context.clients.ec2(ref.region)
    try:
        pages = ec2.get_paginator("describe_security_group_rules").paginate(
            Filters=[{"Name": "group-id", "Values": [ref.resource_id]}]
        )
        rules = [rule for page in pages for rule in page["SecurityGroupRules"]]
        if not rules:  # no rules at all, or no group: tell the two apart
            ec2.describe_security_groups(GroupIds=[ref.resource_id])
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") in _GONE:
            raise ResourceGone(f"security group {ref.resource_id} does not exist") from e
        raise
    return [rule for rule in rules if not rule.get("IsEgress")]


def source(rule: SecurityGroupRuleTypeDef) -> str:
    referenced = rule.get("ReferencedGroupInfo", {}).get("GroupId")
    return str(rule.get("CidrIpv4") or rule.get("CidrIpv6") or rule.get("PrefixListId") or referenced or "?")


def ports(rule: SecurityGroupRuleTypeDef) -> str:
    protocol = str(rule.get("IpProtocol"))
    if protocol == ALL_PROTOCOLS:
        return "all traffic"
    if protocol in ("icmp", "icmpv6", "1", "58"):
        kind, code = rule.get("FromPort", -1), rule.get("ToPort", -1)
        return (
            f"{protocol} all types"
            if kind == -1
            else f"{protocol} type {kind}" + (f" code {code}" if code != -1 else "")
        )
    low, high = rule.get("FromPort"), rule.get("ToPort")
    if low in (None, -1):
        return f"{protocol} all ports"
    return f"{protocol} {low}" if low == high else f"{protocol} {low}-{high}"


def describe(rule: SecurityGroupRuleTypeDef) -> str:
    return f"{rule.get('SecurityGroupRuleId')} ({ports(rule)} from {source(rule)})"


def rule_state(rules: list[SecurityGroupRuleTypeDef]) -> list[JsonDict]:
    """The rules as evidence: stable order, JSON-ready."""
    keys = ("SecurityGroupRuleId", "IpProtocol", "FromPort", "ToPort", "CidrIpv4", "CidrIpv6", "PrefixListId")
    state: list[JsonDict] = []
    for rule in rules:
        entry: dict[str, Any] = {k: rule.get(k) for k in keys if rule.get(k) is not None}
        referenced = rule.get("ReferencedGroupInfo", {}).get("GroupId")
        if referenced:
            entry["ReferencedGroupId"] = referenced
        if rule.get("Description"):
            entry["Description"] = rule.get("Description")
        state.append(entry)
    return sorted(state, key=lambda r: str(r.get("SecurityGroupRuleId")))


def revoke(context: Context, ref: ResourceRef, rule_ids: list[str]) -> None:
    """Revoke exactly these rules by id (moto and AWS agree on this form, descriptions or not)."""
    if not rule_ids:
        return
    try:
        context.clients.ec2(ref.region).revoke_security_group_ingress(
            GroupId=ref.resource_id, SecurityGroupRuleIds=rule_ids
        )
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") not in (
            "InvalidSecurityGroupRuleId.NotFound",
            "InvalidPermission.NotFound",
        ):
            raise
        # Someone else removed a rule first: revoke the rest one by one, tolerating the gone ones.
        if len(rule_ids) > 1:
            for rule_id in rule_ids:
                revoke(context, ref, [rule_id])


_STATE_SOURCES = (
    ("CidrIpv4", "IpRanges", "CidrIp"),
    ("CidrIpv6", "Ipv6Ranges", "CidrIpv6"),
    ("PrefixListId", "PrefixListIds", "PrefixListId"),
    ("ReferencedGroupId", "UserIdGroupPairs", "GroupId"),
)


def state_source(rule: JsonDict) -> str:
    return next((str(rule[key]) for key, _, _ in _STATE_SOURCES if rule.get(key)), "?")


def reauthorize(context: Context, ref: ResourceRef, rule: JsonDict, *, egress: bool = False) -> None:
    """Authorize one rule again exactly as rule_state() recorded it (used by revert)."""
    permission: dict[str, Any] = {"IpProtocol": str(rule["IpProtocol"])}
    if rule.get("FromPort") is not None:
        permission.update(FromPort=int(rule["FromPort"]), ToPort=int(rule["ToPort"]))
    for state_key, list_key, item_key in _STATE_SOURCES:
        if rule.get(state_key):
            entry = {item_key: rule[state_key]}
            if rule.get("Description"):
                entry["Description"] = rule["Description"]
            permission[list_key] = [entry]
            break
    ec2 = context.clients.ec2(ref.region)
    authorize = ec2.authorize_security_group_egress if egress else ec2.authorize_security_group_ingress
    try:
        authorize(GroupId=ref.resource_id, IpPermissions=[cast("IpPermissionTypeDef", permission)])
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") != "InvalidPermission.Duplicate":
            raise


def revert_revoked(
    context: Context, ref: ResourceRef, fixed: Result, *, also_revoke_description: str | None = None
) -> list[str]:
    """Re-authorize the rules a fix revoked (from its before-state); optionally drop what it re-added."""
    before = {r.get("SecurityGroupRuleId"): r for r in fixed.state_before.get("ingress_rules", [])}
    restored = []
    for violation in fixed.violations:
        rule = before.get(violation.detail.get("rule_id"))
        if violation.fixable and rule:
            reauthorize(context, ref, rule)
            ports = f"{rule.get('IpProtocol')} {rule.get('FromPort')}-{rule.get('ToPort')}"
            restored.append(f"re-authorized {ports} from {state_source(rule)}")
    if also_revoke_description:
        # Only the rules this fix added: in its after-state, not in its before-state, and still live.
        added_ids = {
            r.get("SecurityGroupRuleId")
            for r in (fixed.state_after or {}).get("ingress_rules", [])
            if r.get("Description") == also_revoke_description
        } - set(before)
        added = [r for r in ingress_rules(context, ref) if r.get("SecurityGroupRuleId") in added_ids]
        revoke(context, ref, [str(r["SecurityGroupRuleId"]) for r in added])
        restored += [f"revoked {describe(r)}, which the fix had added" for r in added]
    return restored
