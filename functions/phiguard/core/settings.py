"""Deployment settings, read once from the environment; a bad value fails fast and names the variable."""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from phiguard.core.exemptions import parse_list
from phiguard.core.model import REGION_NAME, Mode

_SG_ID = re.compile(r"^sg-[0-9a-f]{8,17}$")
_EVENT_SOURCE = re.compile(r"^[a-z0-9][a-z0-9.-]*\.amazonaws\.com$")
MAX_DEDUP_WINDOW_SECONDS = 900  # the longest an SQS message can be delayed: the window's summary waits that long


class SettingsError(ValueError):
    """A deployment setting is missing or malformed."""


@dataclass(frozen=True)
class Settings:
    mode: Mode = Mode.DRY_RUN
    topic_arn: str | None = None
    self_role_arns: frozenset[str] = frozenset()
    s3_kms_key_id: str | None = None
    authorized_public_ports: frozenset[int] = frozenset({80, 443})
    bastion_sg_ids: frozenset[str] = frozenset()
    database_sg_ids: frozenset[str] = frozenset()
    public_lb_sg_ids: frozenset[str] = frozenset()
    https_certificate_arn: str | None = None
    tls_policy: str = "ELBSecurityPolicy-TLS13-1-2-2021-06"
    evidence_table: str | None = None
    state_table: str | None = None  # idempotency records and the brake's counters
    evidence_retention_days: int = 2190  # six years: the HIPAA documentation retention period
    brake_max_fixes: int = 50
    brake_window_seconds: int = 3600
    exemptions: tuple[Mapping[str, Any], ...] = ()
    exemptions_parameter: str | None = None  # SSM parameter holding more of the same list
    log_bucket: str | None = None  # where S3 server access logs go
    cloudtrail_kms_key_id: str | None = None  # key for trail log encryption; None = notify instead
    cloudtrail_log_group_arn: str | None = None  # CloudWatch Logs group for trails; None = notify instead
    cloudtrail_logs_role_arn: str | None = None  # role CloudTrail assumes to write to that group
    rds_multi_az_fix: bool = True  # enabling Multi-AZ costs money and fails over briefly: the user's choice
    ebs_kms_key_id: str | None = None  # default EBS key to set along with encryption by default
    admin_cidrs: tuple[str, ...] = ()  # the organisation's addresses: the only SSH sources of the bastion
    flow_log_destination: str | None = None  # S3 bucket ARN or CloudWatch Logs group ARN; None = notify
    flow_log_role_arn: str | None = None  # needed when the destination is a CloudWatch Logs group
    certificate_expiry_days: int = 30
    accepted_tls_policies: tuple[str, ...] = (
        "ELBSecurityPolicy-TLS13-1-2-2021-06",
        "ELBSecurityPolicy-TLS13-1-2-Res-2021-06",
        "ELBSecurityPolicy-TLS13-1-3-2021-06",
        "ELBSecurityPolicy-TLS-1-2-2017-01",
        "ELBSecurityPolicy-TLS-1-2-Ext-2018-06",
        "ELBSecurityPolicy-FS-1-2-2019-08",
        "ELBSecurityPolicy-FS-1-2-Res-2019-08",
        "ELBSecurityPolicy-FS-1-2-Res-2020-10",
    )
    # CloudTrail event sources (e.g. "foo.amazonaws.com") that hipaa-eligible-services-only allows besides its shipped
    # list (phiguard/data/hipaa_eligible_services.json): services AWS has made eligible since, or that hold no PHI here.
    hipaa_eligible_services: tuple[str, ...] = ()
    slack_webhook_secret_arn: str | None = None  # Secrets Manager secret holding the Slack webhook URL
    allow_loopback_webhook: bool = False  # local runs only: also accept http://127.0.0.1, ::1, localhost
    sweep_regions: tuple[str, ...] = ()  # regions the sweep and `phiguard scan` walk; () = the current one
    sweep_concurrency: int = 8  # resources judged at once; adaptive retries pace each client on throttling
    sweep_margin_seconds: int = 120  # a sweep invocation hands the rest on when less time than this is left
    # Alert storms: after a message about one (control, resource, outcome), the same within this many seconds are
    # counted (in the state table) and told in one summary when the window closes; 0 = every message is sent.
    dedup_window_seconds: int = 300
    digest_queue_url: str | None = None  # SQS queue that holds each window's summary until the window closes

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        defaults = cls()
        return cls(
            mode=_mode(env.get("PHIGUARD_MODE", str(defaults.mode))),
            topic_arn=_arn(env, "PHIGUARD_TOPIC_ARN"),
            self_role_arns=frozenset(_arn_list(env, "PHIGUARD_SELF_ROLE_ARNS")),
            s3_kms_key_id=env.get("PHIGUARD_S3_KMS_KEY_ID") or None,
            authorized_public_ports=_ports(env, "PHIGUARD_AUTHORIZED_PUBLIC_PORTS") or defaults.authorized_public_ports,
            bastion_sg_ids=_sg_ids(env, "PHIGUARD_BASTION_SG_IDS"),
            database_sg_ids=_sg_ids(env, "PHIGUARD_DATABASE_SG_IDS"),
            public_lb_sg_ids=_sg_ids(env, "PHIGUARD_PUBLIC_LB_SG_IDS"),
            https_certificate_arn=_arn(env, "PHIGUARD_HTTPS_CERTIFICATE_ARN"),
            tls_policy=env.get("PHIGUARD_TLS_POLICY") or defaults.tls_policy,
            evidence_table=env.get("PHIGUARD_EVIDENCE_TABLE") or None,
            state_table=env.get("PHIGUARD_STATE_TABLE") or None,
            evidence_retention_days=_positive(
                env, "PHIGUARD_EVIDENCE_RETENTION_DAYS", defaults.evidence_retention_days
            ),
            brake_max_fixes=_positive(env, "PHIGUARD_BRAKE_MAX_FIXES", defaults.brake_max_fixes),
            brake_window_seconds=_positive(env, "PHIGUARD_BRAKE_WINDOW_SECONDS", defaults.brake_window_seconds),
            exemptions=_exemptions(env, "PHIGUARD_EXEMPTIONS"),
            exemptions_parameter=env.get("PHIGUARD_EXEMPTIONS_PARAMETER") or None,
            log_bucket=env.get("PHIGUARD_LOG_BUCKET") or None,
            cloudtrail_kms_key_id=env.get("PHIGUARD_CLOUDTRAIL_KMS_KEY_ID") or None,
            cloudtrail_log_group_arn=_arn(env, "PHIGUARD_CLOUDTRAIL_LOG_GROUP_ARN"),
            cloudtrail_logs_role_arn=_arn(env, "PHIGUARD_CLOUDTRAIL_LOGS_ROLE_ARN"),
            rds_multi_az_fix=_flag(env, "PHIGUARD_RDS_MULTI_AZ_FIX", defaults.rds_multi_az_fix),
            ebs_kms_key_id=env.get("PHIGUARD_EBS_KMS_KEY_ID") or None,
            admin_cidrs=_cidrs(env, "PHIGUARD_ADMIN_CIDRS"),
            flow_log_destination=_arn(env, "PHIGUARD_FLOW_LOG_DESTINATION"),
            flow_log_role_arn=_arn(env, "PHIGUARD_FLOW_LOG_ROLE_ARN"),
            certificate_expiry_days=_positive(
                env, "PHIGUARD_CERTIFICATE_EXPIRY_DAYS", defaults.certificate_expiry_days
            ),
            accepted_tls_policies=tuple(_items(env, "PHIGUARD_ACCEPTED_TLS_POLICIES"))
            or defaults.accepted_tls_policies,
            hipaa_eligible_services=_event_sources(env, "PHIGUARD_HIPAA_ELIGIBLE_SERVICES"),
            slack_webhook_secret_arn=_arn(env, "PHIGUARD_SLACK_WEBHOOK_SECRET_ARN"),
            allow_loopback_webhook=_flag(env, "PHIGUARD_ALLOW_LOOPBACK_WEBHOOK", defaults.allow_loopback_webhook),
            sweep_regions=_regions(env, "PHIGUARD_SWEEP_REGIONS"),
            sweep_concurrency=_positive(env, "PHIGUARD_SWEEP_CONCURRENCY", defaults.sweep_concurrency),
            sweep_margin_seconds=_positive(env, "PHIGUARD_SWEEP_MARGIN_SECONDS", defaults.sweep_margin_seconds),
            dedup_window_seconds=_bounded(
                env, "PHIGUARD_DEDUP_WINDOW_SECONDS", defaults.dedup_window_seconds, 0, MAX_DEDUP_WINDOW_SECONDS
            ),
            digest_queue_url=_queue_url(env, "PHIGUARD_DIGEST_QUEUE_URL"),
        )


def _regions(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    values = _items(env, name)
    for value in values:
        if not REGION_NAME.match(value):
            raise SettingsError(f"{name} has {value!r}, which is not an AWS region name (such as us-east-1)")
    return tuple(dict.fromkeys(values))


def _cidrs(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    values = _items(env, name)
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise SettingsError(f"{name} has {value!r}, which is not a CIDR range") from None
    return tuple(values)


def _event_sources(env: Mapping[str, str], name: str) -> tuple[str, ...]:
    values = _items(env, name)
    for value in values:
        if not _EVENT_SOURCE.match(value):
            raise SettingsError(f"{name} has {value!r}, which is not a CloudTrail event source (name.amazonaws.com)")
    return tuple(values)


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    value = env.get(name, "").strip().lower()
    if not value:
        return default
    if value not in ("true", "false"):
        raise SettingsError(f"{name}={value!r} is not true or false")
    return value == "true"


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or int(value) < 1:
        raise SettingsError(f"{name}={value!r} is not a positive whole number")
    return int(value)


def _bounded(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    value = env.get(name, "").strip()
    if not value:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise SettingsError(f"{name}={value!r} is not a whole number from {low} to {high}")
    return int(value)


def _queue_url(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    if value and not value.startswith(("https://", "http://")):
        raise SettingsError(f"{name}={value!r} is not an SQS queue URL")
    return value or None


def _exemptions(env: Mapping[str, str], name: str) -> tuple[Mapping[str, Any], ...]:
    try:
        return tuple(parse_list(env.get(name, "")))
    except ValueError as e:  # json.JSONDecodeError is a ValueError
        raise SettingsError(f"{name} is not a valid exemption list: {e}") from None


def _items(env: Mapping[str, str], name: str) -> list[str]:
    return [item.strip() for item in env.get(name, "").split(",") if item.strip()]


def _mode(value: str) -> Mode:
    try:
        return Mode(value.strip().lower())
    except ValueError:
        allowed = ", ".join(m.value for m in Mode)
        raise SettingsError(f"PHIGUARD_MODE={value!r} is not one of: {allowed}") from None


def _arn(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name, "").strip()
    if value and not value.startswith("arn:"):
        raise SettingsError(f"{name}={value!r} is not an ARN")
    return value or None


def _arn_list(env: Mapping[str, str], name: str) -> list[str]:
    values = _items(env, name)
    for value in values:
        if not value.startswith("arn:"):
            raise SettingsError(f"{name} has {value!r}, which is not an ARN")
    return values


def _ports(env: Mapping[str, str], name: str) -> frozenset[int]:
    ports: set[int] = set()
    for item in _items(env, name):
        if not item.isdigit() or not 1 <= int(item) <= 65535:
            raise SettingsError(f"{name} has {item!r}, which is not a TCP port (1-65535)")
        ports.add(int(item))
    return frozenset(ports)


def _sg_ids(env: Mapping[str, str], name: str) -> frozenset[str]:
    ids = _items(env, name)
    for group_id in ids:
        if not _SG_ID.match(group_id):
            raise SettingsError(f"{name} has {group_id!r}, which is not a security group id (sg-...)")
    return frozenset(ids)
