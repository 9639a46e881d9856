"""Which security groups play which part of the reference architecture.

Roles are found the way users already mark them: a `phiguard:role` tag on the security group or
instance, explicit ids in the deployment settings, and for databases the groups attached to RDS.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from botocore.exceptions import ClientError

from phiguard.core.control import Context, ResourceGone
from phiguard.core.model import ResourceRef
from phiguard.core.tags import read_tags

ROLE_TAG = "phiguard:role"
BASTION, DATABASE, PUBLIC_LB, BACKEND = "bastion", "database", "public-lb", "backend"
T = TypeVar("T")
_SHARED: ContextVar[dict[tuple[Any, ...], _Once] | None] = ContextVar("phiguard_roles", default=None)
_KEYS_LOCK = threading.Lock()


@contextmanager
def shared_reads() -> Iterator[None]:
    """While one event (or one sweep page) is handled, who plays which role is read once and shared by the
    controls it concerns (five for a security-group rule), instead of once per control. A fix changes rules or
    settings, never tags, attachments or load balancers, so the roles hold for the whole event. Inside an event
    or a page, a run's own shared_reads() joins theirs."""
    if _SHARED.get() is not None:
        yield
        return
    token = _SHARED.set({})
    try:
        yield
    finally:
        _SHARED.reset(token)


class _Once:
    """One shared read: the first caller makes it while the others wait; a read that fails is tried again by the
    next caller."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._done = False
        self._value: Any = None

    def get(self, read: Callable[[], T]) -> T:
        with self._lock:
            if not self._done:
                self._value, self._done = read(), True
            return self._value  # type: ignore[no-any-return]


def _shared(key: tuple[Any, ...], read: Callable[[], T]) -> T:
    reads = _SHARED.get()
    if reads is None:
        return read()
    with _KEYS_LOCK:
        once = reads.setdefault(key, _Once())
    return once.get(read)


def tagged_groups(context: Context, region: str, role: str) -> set[str]:
    """Groups tagged `phiguard:role=<role>`: every role's groups come from one read per event."""
    return {group_id for group_id, value in _role_tags(context, region) if value == role}


def _role_tags(context: Context, region: str) -> frozenset[tuple[str, str]]:
    def read() -> frozenset[tuple[str, str]]:
        pages = (
            context.clients.ec2(region)
            .get_paginator("describe_security_groups")
            .paginate(Filters=[{"Name": "tag-key", "Values": [ROLE_TAG]}])
        )
        return frozenset(
            (group["GroupId"], tag["Value"])
            for page in pages
            for group in page["SecurityGroups"]
            for tag in group.get("Tags", [])
            if tag["Key"] == ROLE_TAG
        )

    return _shared(("role-tags", region), read)


def own_role(context: Context, ref: ResourceRef) -> str | None:
    """The group's own `phiguard:role` tag. Read with the same request as the group's exemption tags and the
    default-group check, so one event reads it once: whether the event's group plays a role needs no read
    of every tagged group (only a control that needs the other groups of a role reads those)."""
    return _shared(("own-role", ref.region, ref.resource_id), lambda: _read_own_role(context, ref))


def _read_own_role(context: Context, ref: ResourceRef) -> str | None:
    try:
        return read_tags(context, ref).get(ROLE_TAG)
    except ClientError as e:
        if e.response.get("Error", {}).get("Code") in ("InvalidGroup.NotFound", "InvalidGroupId.NotFound"):
            raise ResourceGone(f"security group {ref.resource_id} does not exist") from e
        raise


def _tagged_instances(context: Context, region: str, role: str) -> list[dict[str, object]]:
    return _shared(("instances", region, role), lambda: _read_tagged_instances(context, region, role))


def _read_tagged_instances(context: Context, region: str, role: str) -> list[dict[str, object]]:
    pages = (
        context.clients.ec2(region)
        .get_paginator("describe_instances")
        .paginate(
            Filters=[
                {"Name": f"tag:{ROLE_TAG}", "Values": [role]},
                {"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]},
            ]
        )
    )
    return [dict(i) for page in pages for r in page["Reservations"] for i in r.get("Instances", [])]


@dataclass(frozen=True)
class Bastions:
    groups: frozenset[str]  # bastion-only groups: admitting one admits the bastion and nothing else
    shared_groups: frozenset[str]  # groups a bastion shares with other instances: a person decides
    addresses: frozenset[str]  # private and public IPv4 addresses of the bastion instances


def _instances_in(context: Context, region: str, group_id: str) -> list[dict[str, object]]:
    pages = (
        context.clients.ec2(region)
        .get_paginator("describe_instances")
        .paginate(Filters=[{"Name": "instance.group-id", "Values": [group_id]}])
    )
    return [dict(i) for page in pages for r in page["Reservations"] for i in r.get("Instances", [])]


def _is_bastion(instance: dict[str, object]) -> bool:
    tags = instance.get("Tags") or []
    return any(t.get("Key") == ROLE_TAG and t.get("Value") == BASTION for t in tags)  # type: ignore[attr-defined]


def is_bastion_only(context: Context, ref: ResourceRef) -> bool:
    """Whether the group is one of bastions(...).groups, read from the group's own tag and the bastion
    instances rather than from every tagged group."""
    if ref.resource_id in context.settings.bastion_sg_ids or own_role(context, ref) == BASTION:
        return True
    if ref.resource_id not in _groups_of(_tagged_instances(context, ref.region, BASTION)):
        return False
    return _only_bastions_in(context, ref.region, ref.resource_id)


def _groups_of(instances: list[dict[str, object]]) -> set[str]:
    return {g["GroupId"] for i in instances for g in i.get("SecurityGroups", [])}  # type: ignore[attr-defined]


def _only_bastions_in(context: Context, region: str, group_id: str) -> bool:
    return all(_is_bastion(m) for m in _instances_in(context, region, group_id))


def bastions(context: Context, region: str, *, addresses: bool = True) -> Bastions:
    return _shared(("bastions", region, addresses), lambda: _bastions(context, region, addresses))


def _bastions(context: Context, region: str, addresses: bool) -> Bastions:
    """The bastion's groups and addresses, telling bastion-only groups from shared ones.

    Bastion groups are those listed in the settings or tagged `phiguard:role=bastion`, and the groups of
    instances tagged so when every instance in them is a bastion. A group the bastion shares with other
    instances (a common agents group, the VPC's default group) is shared: admitting it is reported, never
    revoked, because it may carry legitimate traffic. `addresses=False` when the caller needs the groups
    only: the instances of the declared groups are then not read (one DescribeInstances per group less).
    """
    declared = set(context.settings.bastion_sg_ids) | tagged_groups(context, region, BASTION)
    tagged = _tagged_instances(context, region, BASTION)
    instances = {str(i["InstanceId"]): i for i in tagged}
    groups, shared = set(declared), set[str]()
    for group_id in _groups_of(tagged) - declared:
        (groups if _only_bastions_in(context, region, group_id) else shared).add(group_id)
    if not addresses:
        return Bastions(frozenset(groups), frozenset(shared), frozenset())
    for group_id in declared:
        instances |= {str(i["InstanceId"]): i for i in _instances_in(context, region, group_id)}
    found = {
        str(i[key]) for i in instances.values() for key in ("PrivateIpAddress", "PublicIpAddress")
        if isinstance(i.get(key), str)
    }  # fmt: skip
    return Bastions(frozenset(groups), frozenset(shared), frozenset(found))


def is_database_group(context: Context, ref: ResourceRef) -> bool:
    """A database's group: listed in the settings, tagged `phiguard:role=database`, or attached to RDS."""
    if ref.resource_id in context.settings.database_sg_ids or own_role(context, ref) == DATABASE:
        return True
    return ref.resource_id in _shared(("rds-groups", ref.region), lambda: _rds_group_ids(context, ref.region))


def _rds_group_ids(context: Context, region: str) -> frozenset[str]:
    pages = context.clients.rds(region).get_paginator("describe_db_instances").paginate()
    return frozenset(g["VpcSecurityGroupId"] for page in pages for db in page["DBInstances"]
                     for g in db.get("VpcSecurityGroups", []))  # fmt: skip


def public_lb_group_ids(context: Context, region: str) -> set[str]:
    """Groups of internet-facing load balancers: their world rules on public ports are the entrance."""
    return set(_shared(("public-lb", region), lambda: frozenset(_public_lb_group_ids(context, region))))


def _public_lb_group_ids(context: Context, region: str) -> set[str]:
    groups = set(context.settings.public_lb_sg_ids) | tagged_groups(context, region, PUBLIC_LB)
    for page in context.clients.elbv2(region).get_paginator("describe_load_balancers").paginate():
        for lb in page["LoadBalancers"]:
            if lb.get("Scheme") == "internet-facing":
                groups |= set(lb.get("SecurityGroups", []))
    return groups
