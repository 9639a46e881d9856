"""Small worlds in moto for the control scenarios, and the events/ fixtures with their ids filled in."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from phiguard.core.aws import Clients
from phiguard.core.control import Context
from phiguard.core.engine import Engine
from phiguard.core.model import Mode, ResourceRef, Result
from phiguard.core.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
EVENTS = ROOT / "events"
ACCOUNT, REGION = "123456789012", "us-east-1"

# The ids written in events/*.json, replaced by a test's real moto ids.
PLACEHOLDERS = {
    "bucket": "phi-data-123456789012",
    "backend_sg": "sg-0a1b2c3d4e5f60001",
    "database_sg": "sg-0a1b2c3d4e5f60002",
    "bastion_sg": "sg-0a1b2c3d4e5f60003",
    "lb": "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/frontend-alb/50dc6c495c0c9188",
    "listener": "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/frontend-alb/50dc6c495c0c9188/"
    "f2f7dc8efc522ab2",
    "target_group": "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/frontend-tg/943f017f100becff",
    "kms_key": "1234abcd-12ab-34cd-56ef-1234567890ab",
    "volume": "vol-0a1b2c3d4e5f60001",
    "subnet": "subnet-0a1b2c3d4e5f60001",
}
SELF_ROLE = "arn:aws:iam::123456789012:role/phiguard-RemediationRole-1A2B3C4D5E6F"


def load_event(name: str, **ids: str) -> dict[str, Any]:
    text = (EVENTS / name).read_text()
    for key, value in ids.items():
        text = text.replace(PLACEHOLDERS[key], value)
    event: dict[str, Any] = json.loads(text)
    return event


@dataclass
class Inbox:
    """A fake notifier: what would have been published, in order."""

    results: list[Result] = field(default_factory=list)
    alerts: list[tuple[str, str, str]] = field(default_factory=list)

    def __call__(self, result: Result) -> None:
        self.results.append(result)

    def alert(self, subject: str, text: str, severity: str) -> None:
        self.alerts.append((subject, text, severity))


def make_engine(mode: Mode = Mode.ENFORCE, clients: Clients | None = None, **settings: Any) -> tuple[Engine, Inbox]:
    inbox = Inbox()
    config = Settings(mode=mode, self_role_arns=frozenset({SELF_ROLE}), **settings)
    return Engine(Context(config, clients or Clients()), inbox), inbox


def ref(resource_type: str, resource_id: str) -> ResourceRef:
    return ResourceRef(resource_type, resource_id, REGION, ACCOUNT)


def sg_ref(group_id: str) -> ResourceRef:
    return ref("AWS::EC2::SecurityGroup", group_id)


# --- worlds ---------------------------------------------------------------------------------


def vpc() -> str:
    return boto3.client("ec2").create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]


def group(vpc_id: str, name: str, role: str | None = None) -> str:
    tags = [{"Key": "Name", "Value": name}] + ([{"Key": "phiguard:role", "Value": role}] if role else [])
    return boto3.client("ec2").create_security_group(
        GroupName=name,
        Description=name,
        VpcId=vpc_id,
        TagSpecifications=[{"ResourceType": "security-group", "Tags": tags}],
    )["GroupId"]


def authorize(
    group_id: str,
    port: int | None,
    *,
    protocol: str = "tcp",
    to_port: int | None = None,
    cidrs: tuple[str, ...] = (),
    cidrs6: tuple[str, ...] = (),
    groups: tuple[str, ...] = (),
    prefix_lists: tuple[str, ...] = (),
) -> None:
    permission: dict[str, Any] = {"IpProtocol": protocol}
    if port is not None:
        permission.update(FromPort=port, ToPort=to_port if to_port is not None else port)
    if cidrs:
        permission["IpRanges"] = [{"CidrIp": c} for c in cidrs]
    if cidrs6:
        permission["Ipv6Ranges"] = [{"CidrIpv6": c} for c in cidrs6]
    if groups:
        permission["UserIdGroupPairs"] = [{"GroupId": g} for g in groups]
    if prefix_lists:
        permission["PrefixListIds"] = [{"PrefixListId": p} for p in prefix_lists]
    boto3.client("ec2").authorize_security_group_ingress(GroupId=group_id, IpPermissions=[permission])


def ingress(group_id: str) -> list[tuple[str, Any, Any, str]]:
    """(protocol, from, to, source) of every ingress rule, sorted: what a test compares."""
    rules = boto3.client("ec2").describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group_id]}])[
        "SecurityGroupRules"
    ]
    return sorted(
        (
            r["IpProtocol"],
            r.get("FromPort"),
            r.get("ToPort"),
            r.get("CidrIpv4")
            or r.get("CidrIpv6")
            or r.get("PrefixListId")
            or r.get("ReferencedGroupInfo", {}).get("GroupId"),
        )
        for r in rules
        if not r["IsEgress"]
    )


@dataclass(frozen=True)
class Alb:
    lb: str
    lb_group: str
    http: str
    https: str | None
    target_group: str


def alb(scheme: str = "internet-facing", *, https: bool = True, open_443: bool = True) -> Alb:
    ec2, elbv2 = boto3.client("ec2"), boto3.client("elbv2")
    vpc_id = vpc()
    subnets = [
        ec2.create_subnet(VpcId=vpc_id, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=f"us-east-1{z}")["Subnet"][
            "SubnetId"
        ]
        for i, z in ((1, "a"), (2, "b"))
    ]
    lb_group = group(vpc_id, "lb-sg")
    authorize(lb_group, 80, cidrs=("0.0.0.0/0",))
    if open_443:
        authorize(lb_group, 443, cidrs=("0.0.0.0/0",))
    lb = elbv2.create_load_balancer(
        Name="web-alb", Subnets=subnets, SecurityGroups=[lb_group], Scheme=scheme, Type="application"
    )["LoadBalancers"][0]["LoadBalancerArn"]
    tg = elbv2.create_target_group(Name="web-tg", Protocol="HTTP", Port=8080, VpcId=vpc_id)["TargetGroups"][0][
        "TargetGroupArn"
    ]
    forward = [{"Type": "forward", "TargetGroupArn": tg}]
    https_arn = None
    if https:
        cert = boto3.client("acm").request_certificate(DomainName="web.example.com")["CertificateArn"]
        https_arn = elbv2.create_listener(
            LoadBalancerArn=lb,
            Protocol="HTTPS",
            Port=443,
            Certificates=[{"CertificateArn": cert}],
            DefaultActions=forward,
            SslPolicy="ELBSecurityPolicy-TLS13-1-2-2021-06",
        )["Listeners"][0]["ListenerArn"]
    http = elbv2.create_listener(LoadBalancerArn=lb, Protocol="HTTP", Port=80, DefaultActions=forward)["Listeners"][0][
        "ListenerArn"
    ]
    return Alb(lb, lb_group, http, https_arn, tg)


def listener_actions(listener_arn: str) -> list[dict[str, Any]]:
    listeners = boto3.client("elbv2").describe_listeners(ListenerArns=[listener_arn])["Listeners"]
    return list(listeners[0]["DefaultActions"])


# --- the rails: evidence and state tables as the template defines them -----------------------

EVIDENCE_TABLE, STATE_TABLE = "phiguard-evidence", "phiguard-state"


def rails_tables() -> None:
    dynamodb = boto3.client("dynamodb")
    for name, key in ((EVIDENCE_TABLE, "evidence_id"), (STATE_TABLE, "id")):
        dynamodb.create_table(
            TableName=name,
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": key, "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": key, "AttributeType": "S"}],
        )


class Clock:
    """A clock the brake reads, that a test moves on."""

    def __init__(self, now: float = 1_796_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_rails_engine(
    mode: Mode = Mode.ENFORCE, clients: Clients | None = None, clock: Clock | None = None, **settings: Any
) -> tuple[Engine, Inbox]:
    """An engine with every rail on: evidence, exactly-once, brake (the tables must exist)."""
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer
    from phiguard.core.brake import Brake
    from phiguard.core.deliveries import Deliveries
    from phiguard.core.engine import EXACTLY_ONCE_SECONDS
    from phiguard.core.evidence import DynamoEvidence

    clients = clients or Clients()
    config = Settings(
        mode=mode,
        self_role_arns=frozenset({SELF_ROLE}),
        evidence_table=EVIDENCE_TABLE,
        state_table=STATE_TABLE,
        **settings,
    )
    inbox = Inbox()
    brake = Brake(clients, STATE_TABLE, config.brake_max_fixes, config.brake_window_seconds, clock or Clock())
    engine = Engine(
        Context(config, clients),
        inbox,
        DynamoEvidence(clients, EVIDENCE_TABLE, 2190),
        brake,
        DynamoDBPersistenceLayer(table_name=STATE_TABLE),
        deliveries=Deliveries(clients, STATE_TABLE, EXACTLY_ONCE_SECONDS),
    )
    return engine, inbox


def evidence_rows() -> list[dict[str, Any]]:
    from phiguard.core.evidence import DynamoEvidence

    return sorted(DynamoEvidence(Clients(), EVIDENCE_TABLE, 2190).rows(), key=lambda r: str(r["evidence_id"]))


def tag_group(group_id: str, **tags: str) -> None:
    boto3.client("ec2").create_tags(Resources=[group_id], Tags=[{"Key": k, "Value": v} for k, v in tags.items()])


class CountingClients(Clients):
    """moto clients that remember the name of every request they send, in order (reads answered from an
    event's shared reads are not sent, so not counted)."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def _client(self, service: str, region: str | None) -> Any:
        fresh = (service, region) not in self._cache
        client = super()._client(service, region)
        if fresh:
            client.meta.events.register_first("before-send.*.*", self._sent)
        return client

    def _sent(self, event_name: str, **_: Any) -> None:
        self.calls.append(event_name.rsplit(".", 1)[-1])


class FaultyClients(Clients):
    """moto clients, except that chosen operations answer with an AWS error (AccessDenied, throttling).

    The fault is injected with botocore's before-call hook, so every other call still reaches moto.
    """

    def __init__(self) -> None:
        super().__init__()
        self.faults: dict[str, tuple[str, str, int, str | None]] = {}
        self.injected = 0

    def fail(
        self, operation: str, code: str, message: str = "denied", status: int = 403, *, table: str | None = None
    ) -> None:
        """Fail every call of the operation, or (DynamoDB) only those on this table."""
        self.faults[operation] = (code, message, status, table)

    def heal(self) -> None:
        self.faults.clear()

    def _client(self, service: str, region: str | None) -> Any:
        fresh = (service, region) not in self._cache
        client = super()._client(service, region)
        if fresh:
            client.meta.events.register("before-call.*.*", self._inject)
        return client

    def _inject(self, model: Any, params: dict[str, Any], **_: Any) -> Any:
        from botocore.awsrequest import AWSResponse

        if model.name not in self.faults:
            return None
        code, message, status, table = self.faults[model.name]
        if table and f'"TableName": "{table}"' not in str(params.get("body", b""), "utf-8"):
            return None
        self.injected += 1
        return AWSResponse("https://fault.invalid", status, {}, None), {
            "Error": {"Code": code, "Message": message},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }
