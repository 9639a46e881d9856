"""AWS Config events in, engine work out: configuration item changes and rule compliance changes.

Both become the (control, resource) pairs a CloudTrail event becomes, with an Actor standing for AWS Config
whose event id is EventBridge's, so the engine's exactly-once handling covers a redelivered Config event too.
The event only says where to look: controls re-read live state, as always.

- "Config Configuration Item Change": the item (or, when it is oversized, its summary) names the resource, and
  every control that judges that resource type evaluates it. Deleted and not-recorded items are not applicable.
- "Config Rules Compliance Change": only NON_COMPLIANT is acted on. The rule is matched by its source identifier
  (the AWS managed rule it runs), read once per rule name for the life of the process, so the copies a
  conformance pack deploys (`<rule>-conformance-pack-<id>`) and renamed rules match; when the rule cannot be
  read, by its name. Rules PHI Guard does not know are logged and left alone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from phiguard.core import rds, trails
from phiguard.core.aws import Clients
from phiguard.core.control import Control, all_controls, get_control
from phiguard.core.events import MalformedEvent, check_region
from phiguard.core.model import Actor, ResourceRef

logger = Logger()

ITEM_CHANGE = "Config Configuration Item Change"
COMPLIANCE_CHANGE = "Config Rules Compliance Change"
DETAIL_TYPES = (ITEM_CHANGE, COMPLIANCE_CHANGE)
ACCOUNT = "AWS::::Account"
LOAD_BALANCER = "AWS::ElasticLoadBalancingV2::LoadBalancer"

# What reading Config events needs besides the controls' own permissions: the rule's source, a DB instance by its
# DbiResourceId, and the trails of a region (rules that judge the account, not a trail).
PERMISSIONS = ("config:DescribeConfigRules", "rds:DescribeDBInstances", "cloudtrail:DescribeTrails")

# Item statuses with no live resource behind them.
NOT_RECORDED = frozenset({"ResourceDeleted", "ResourceNotRecorded", "ResourceDeletedNotRecorded"})

# Errors of DescribeConfigRules after which the rule is matched by its name instead.
_UNREADABLE_RULE = frozenset(
    {"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "NoSuchConfigRuleException"}
)
_CONFORMANCE_PACK_SUFFIX = re.compile(r"-conformance-pack-[A-Za-z0-9]+$")
_DBI_RESOURCE_ID = re.compile(r"^db-[A-Z0-9]+$")  # identifiers are lower case; DbiResourceIds are not

Work = list[tuple[type[Control], ResourceRef]]


@dataclass(frozen=True)
class Alias:
    """A Config resource type whose controls are declared under another type."""

    resource_type: str  # the type of the reference the controls are given
    control_ids: tuple[str, ...]


ALIASES = {
    "AWS::S3::AccountPublicAccessBlock": Alias(ACCOUNT, ("s3-account-level-public-access-blocks",)),
    # Storage encryption of a cluster is judged on the cluster; the control is declared on instances.
    rds.CLUSTER: Alias(rds.CLUSTER, ("rds-storage-encrypted",)),
}

# The AWS managed rules (source identifiers) each control answers, where the control id upper-cased with "_" for
# "-" is not it. Controls marked "ours" in the catalogue have no managed rule: no rule reaches them.
IDENTIFIERS: dict[str, tuple[str, ...]] = {
    "cloudtrail-enabled": ("CLOUD_TRAIL_ENABLED",),
    "multi-region-cloudtrail-enabled": ("MULTI_REGION_CLOUD_TRAIL_ENABLED",),
    "vpc-sg-restricted-ports": (
        "VPC_SG_OPEN_ONLY_TO_AUTHORIZED_PORTS",
        "RESTRICTED_INCOMING_TRAFFIC",  # restricted-common-ports
        "INCOMING_SSH_DISABLED",  # restricted-ssh
    ),
    "s3-account-level-public-access-blocks": (
        "S3_ACCOUNT_LEVEL_PUBLIC_ACCESS_BLOCKS",
        "S3_ACCOUNT_LEVEL_PUBLIC_ACCESS_BLOCKS_PERIODIC",
    ),
    # rds-snapshots-public-prohibited judges DB snapshots and DB cluster snapshots alike.
    "rds-cluster-snapshots-public-prohibited": ("RDS_SNAPSHOTS_PUBLIC_PROHIBITED",),
    "bastion-ssh-from-allowed-cidrs": (),
    "db-ingress-from-app-tier-only": (),
    "db-no-bastion-access": (),
    "elbv2-tls-policy": (),
    "hipaa-eligible-services-only": (),
    "vpc-s3-gateway-endpoint": (),
}
# AWS managed rules whose default name is not their identifier in lower case (the fallback matches by name).
RULE_NAMES = {
    "cloudtrail-enabled": "CLOUD_TRAIL_ENABLED",
    "multi-region-cloudtrail-enabled": "MULTI_REGION_CLOUD_TRAIL_ENABLED",
    "restricted-common-ports": "RESTRICTED_INCOMING_TRAFFIC",
    "restricted-ssh": "INCOMING_SSH_DISABLED",
}


def is_config_event(event: Any) -> bool:
    return isinstance(event, Mapping) and event.get("detail-type") in DETAIL_TYPES


def work_from_event(event: Mapping[str, Any], clients: Clients) -> tuple[Work, Actor]:
    """The (control, resource) pairs one Config event asks for, and the actor they are recorded under."""
    if not is_config_event(event):
        kind = event.get("detail-type") if isinstance(event, Mapping) else type(event).__name__
        raise MalformedEvent(f"detail-type is {kind!r}, not one of {DETAIL_TYPES}")
    detail = event.get("detail")
    if not isinstance(detail, Mapping):
        raise MalformedEvent("event has no detail object")
    if event["detail-type"] == ITEM_CHANGE:
        item, where = _item(detail)
        actor = _actor(event, "ConfigurationItemChange", item.get("configurationItemCaptureTime"))
        return _item_work(event, item, where, clients), actor
    result = detail.get("newEvaluationResult")
    if not isinstance(result, Mapping):
        raise MalformedEvent("detail.newEvaluationResult is missing")
    rule = _text(detail, "configRuleName", "detail")
    compliance = _text(result, "complianceType", "detail.newEvaluationResult")
    actor = _actor(event, f"ComplianceChange of rule {rule}", result.get("resultRecordedTime"))
    return _compliance_work(event, detail, rule, compliance, clients), actor


def item_resource_types() -> list[str]:
    """The Config resource types whose item changes some control acts on (the template routes exactly these).
    Config records no item of the account itself, nor of PHI Guard's own pseudo types."""
    ours = {c.resource_type for c in all_controls() if c.resource_type.startswith("AWS::")}
    return sorted((ours - {ACCOUNT}) | set(ALIASES))


def identifiers_of(control: type[Control]) -> tuple[str, ...]:
    return IDENTIFIERS.get(control.control_id, (control.control_id.upper().replace("-", "_"),))


def controls_for_rule(identifier: str) -> list[type[Control]]:
    return [c for c in all_controls() if identifier in identifiers_of(c)]


def identifier_from_name(rule_name: str) -> str:
    """The managed rule a rule's name implies: a conformance pack's suffix removed, default names looked up."""
    name = _CONFORMANCE_PACK_SUFFIX.sub("", rule_name)
    return RULE_NAMES.get(name, name.upper().replace("-", "_"))


@cache
def source_identifier(clients: Clients, region: str, rule_name: str) -> str:
    """The rule's Source.SourceIdentifier (for AWS managed rules, the managed rule), read once per rule and process;
    when the rule cannot be read, the identifier its name implies. Other errors propagate: the event is retried."""
    try:
        found = clients.config(region).describe_config_rules(ConfigRuleNames=[rule_name])["ConfigRules"]
    except ClientError as e:
        code = str(e.response.get("Error", {}).get("Code"))
        if code not in _UNREADABLE_RULE:
            raise
        found, problem = [], f"{code}: {e.response.get('Error', {}).get('Message', '')}"
    else:
        problem = "no such rule"
    if not found:
        identifier = identifier_from_name(rule_name)
        logger.warning(
            "config rule's source could not be read: matched by its name instead",
            rule=rule_name,
            problem=problem,
            identifier=identifier,
            needs="config:DescribeConfigRules on PHI Guard's role, and the rule in this region",
        )
        return identifier
    source = found[0].get("Source", {})
    return str(source.get("SourceIdentifier") or f"{source.get('Owner', 'unknown')} rule without identifier")


# Configuration item changes -----------------------------------------------------------------------


def _item(detail: Mapping[str, Any]) -> tuple[Mapping[str, Any], str]:
    kind = detail.get("messageType")
    where = {
        "ConfigurationItemChangeNotification": "configurationItem",
        "OversizedConfigurationItemChangeNotification": "configurationItemSummary",
    }.get(str(kind))
    if where is None:
        raise MalformedEvent(f"detail.messageType is {kind!r}, not a configuration item change notification")
    item = detail.get(where)
    if not isinstance(item, Mapping):
        raise MalformedEvent(f"detail.{where} is missing")
    return item, f"detail.{where}"


def _item_work(event: Mapping[str, Any], item: Mapping[str, Any], where: str, clients: Clients) -> Work:
    config_type, resource_id = _text(item, "resourceType", where), _text(item, "resourceId", where)
    region, account = _region(item, event, where), _account(item, event)
    status = item.get("configurationItemStatus")
    log: dict[str, Any] = {"resource_type": config_type, "resource_id": resource_id, "region": region}
    log["event_id"] = event.get("id")
    if status in NOT_RECORDED:
        logger.info("config item not applicable: the resource is deleted or not recorded", status=status, **log)
        return []
    ref_type, controls = controls_for_type(config_type)
    if not controls:
        logger.info("no control for this resource type", **log)
        return []
    name, arn = item.get("resourceName"), item.get("ARN")
    ref = _ref(clients, ref_type, resource_id, region, account, name=_str(name), arn=_str(arn))
    return [(control, ref) for control in controls] if ref else []


def controls_for_type(config_type: str) -> tuple[str, list[type[Control]]]:
    """The type the controls are given, and the controls, for a resource of this Config type."""
    alias = ALIASES.get(config_type)
    if alias:
        return alias.resource_type, [get_control(i) for i in alias.control_ids]
    return config_type, [c for c in all_controls() if c.resource_type == config_type]


# Rule compliance changes --------------------------------------------------------------------------


def _compliance_work(
    event: Mapping[str, Any], detail: Mapping[str, Any], rule: str, compliance: str, clients: Clients
) -> Work:
    config_type, resource_id = _text(detail, "resourceType", "detail"), _text(detail, "resourceId", "detail")
    region, account = _region(detail, event, "detail"), _account(detail, event)
    log: dict[str, Any] = {"rule": rule, "resource_type": config_type, "resource_id": resource_id}
    log["event_id"] = event.get("id")
    if compliance != "NON_COMPLIANT":
        logger.info("config compliance change ignored: only NON_COMPLIANT is acted on", compliance=compliance, **log)
        return []
    identifier = source_identifier(clients, region, rule)
    controls = controls_for_rule(identifier)
    if not controls:
        logger.warning("config rule unknown to PHI Guard: no control acts on it", identifier=identifier, **log)
        return []
    ref_type, of_type = controls_for_type(config_type)
    judged = [c for c in controls if c in of_type]
    if judged:
        ref = _ref(clients, ref_type, resource_id, region, account)
        return [(control, ref) for control in judged] if ref else []
    trail_controls = [c for c in controls if c.resource_type == trails.TRAIL]
    if config_type == ACCOUNT and trail_controls:  # cloudtrail-enabled and multi-region-cloudtrail-enabled
        return [(control, ref) for ref in _trails_of(clients, region, account, log) for control in trail_controls]
    logger.warning(
        "the rule judged a resource type its controls do not",
        identifier=identifier,
        controls=[c.control_id for c in controls],
        **log,
    )
    return []


def _trails_of(clients: Clients, region: str, account: str, log: dict[str, Any]) -> list[ResourceRef]:
    """A rule that judges the account's trails: every trail that logs this region, by ARN in its home region."""
    found = clients.cloudtrail(region).describe_trails(includeShadowTrails=True).get("trailList", [])
    refs = [
        ResourceRef(trails.TRAIL, t["TrailARN"], t.get("HomeRegion") or region, account)
        for t in found
        if t.get("TrailARN")
    ]
    if not refs:
        logger.warning("the account has no trail in this region: a person must create one", **log)
    return list(dict.fromkeys(refs))


# Resource ids as the controls expect them ---------------------------------------------------------


def _ref(
    clients: Clients,
    ref_type: str,
    resource_id: str,
    region: str,
    account: str,
    *,
    name: str | None = None,
    arn: str | None = None,
) -> ResourceRef | None:
    """Config's resourceId is what our controls use, except: RDS names resources by identifier (Config's
    resourceName; its resourceId is a DbiResourceId), trails by ARN (home region) or name, the account by id."""
    if ref_type == ACCOUNT:
        return ResourceRef(ACCOUNT, account, region, account)
    if ref_type == rds.INSTANCE:
        identifier = name or _db_instance_identifier(clients, region, resource_id)
        return ResourceRef(ref_type, identifier, region, account) if identifier else None
    if ref_type in (rds.CLUSTER, rds.SNAPSHOT, rds.CLUSTER_SNAPSHOT):
        # An ARN ends in the identifier (arn:aws:rds:<region>:<account>:snapshot:<identifier>, which may hold ":").
        parts = resource_id.split(":", 6)
        identifier = parts[6] if resource_id.startswith("arn:") and len(parts) == 7 else resource_id
        return ResourceRef(ref_type, name or identifier, region, account)
    if ref_type == trails.TRAIL:
        value = arn or resource_id
        home = trails.home_region(value)
        return ResourceRef(ref_type, value, home or region, account, by_name=home is None)
    if ref_type == LOAD_BALANCER and not resource_id.startswith("arn:") and arn:
        return ResourceRef(ref_type, arn, region, account)
    return ResourceRef(ref_type, resource_id, region, account)


def _db_instance_identifier(clients: Clients, region: str, resource_id: str) -> str | None:
    """Compliance events name DB instances by DbiResourceId ("db-ABC..."): find the instance's identifier."""
    if not _DBI_RESOURCE_ID.match(resource_id):
        return resource_id
    found = clients.rds(region).describe_db_instances(Filters=[{"Name": "dbi-resource-id", "Values": [resource_id]}])
    identifiers = [db["DBInstanceIdentifier"] for db in found["DBInstances"]]
    if len(identifiers) != 1:
        logger.info("no single DB instance has this resource id: nothing to evaluate", dbi_resource_id=resource_id)
        return None
    return identifiers[0]


# Reading the event --------------------------------------------------------------------------------


def _actor(event: Mapping[str, Any], kind: str, when: Any) -> Actor:
    return Actor(
        arn="config.amazonaws.com",
        principal_type="AWSService",
        session_issuer_arn=None,
        event_time=str(when or event.get("time") or ""),
        event_name=kind,
        event_id=str(event.get("id") or ""),
    )


def _text(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedEvent(f"{where}.{key} is missing or not text")
    return value


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _region(data: Mapping[str, Any], event: Mapping[str, Any], where: str) -> str:
    region = _str(data.get("awsRegion")) or _str(event.get("region"))
    if region is None:
        raise MalformedEvent(f"{where}.awsRegion is missing")
    return check_region(region, f"{where}.awsRegion")


def _account(data: Mapping[str, Any], event: Mapping[str, Any]) -> str:
    account = _str(data.get("awsAccountId")) or _str(event.get("account"))
    if account is None:
        raise MalformedEvent("event names no account")
    return account
