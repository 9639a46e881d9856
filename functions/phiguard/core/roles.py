"""Which security groups play which part of the reference architecture.

Roles are found the way users already mark them: a `phiguard:role` tag on the security group or
instance, explicit ids in the deployment settings, and for databases the groups attached to RDS.
"""

from __future__ import annotations

from phiguard.core.control import Context

ROLE_TAG = "phiguard:role"
BASTION, DATABASE, PUBLIC_LB = "bastion", "database", "public-lb"


def _tagged_groups(context: Context, region: str, role: str) -> set[str]:
    pages = (
        context.clients.ec2(region)
        .get_paginator("describe_security_groups")
        .paginate(Filters=[{"Name": f"tag:{ROLE_TAG}", "Values": [role]}])
    )
    return {group["GroupId"] for page in pages for group in page["SecurityGroups"]}


def _tagged_instances(context: Context, region: str, role: str) -> list[dict[str, object]]:
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


def bastion_group_ids(context: Context, region: str) -> set[str]:
    groups = set(context.settings.bastion_sg_ids) | _tagged_groups(context, region, BASTION)
    for instance in _tagged_instances(context, region, BASTION):
        groups |= {g["GroupId"] for g in instance.get("SecurityGroups", [])}  # type: ignore[attr-defined]
    return groups


def bastion_addresses(context: Context, region: str, bastion_groups: set[str]) -> set[str]:
    """Private and public IPv4 addresses of the bastion instances (tagged or in a bastion group)."""
    instances = _tagged_instances(context, region, BASTION)
    if bastion_groups:
        pages = (
            context.clients.ec2(region)
            .get_paginator("describe_instances")
            .paginate(Filters=[{"Name": "instance.group-id", "Values": sorted(bastion_groups)}])
        )
        instances += [dict(i) for page in pages for r in page["Reservations"] for i in r.get("Instances", [])]
    addresses = set()
    for instance in instances:
        for key in ("PrivateIpAddress", "PublicIpAddress"):
            if isinstance(instance.get(key), str):
                addresses.add(str(instance[key]))
    return addresses


def database_group_ids(context: Context, region: str) -> set[str]:
    groups = set(context.settings.database_sg_ids) | _tagged_groups(context, region, DATABASE)
    for page in context.clients.rds(region).get_paginator("describe_db_instances").paginate():
        for db in page["DBInstances"]:
            groups |= {g["VpcSecurityGroupId"] for g in db.get("VpcSecurityGroups", [])}
    return groups


def public_lb_group_ids(context: Context, region: str) -> set[str]:
    """Groups of internet-facing load balancers: their world rules on public ports are the entrance."""
    groups = set(context.settings.public_lb_sg_ids) | _tagged_groups(context, region, PUBLIC_LB)
    for page in context.clients.elbv2(region).get_paginator("describe_load_balancers").paginate():
        for lb in page["LoadBalancers"]:
            if lb.get("Scheme") == "internet-facing":
                groups |= set(lb.get("SecurityGroups", []))
    return groups
