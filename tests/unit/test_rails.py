"""The safety rails against moto: exemptions, evidence, exactly once, the blast-radius brake."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta

import boto3
import pytest
from helpers import (
    EVIDENCE_TABLE,
    STATE_TABLE,
    Clock,
    authorize,
    evidence_rows,
    group,
    ingress,
    load_event,
    make_rails_engine,
    rails_tables,
    tag_group,
    vpc,
)
from phiguard.core.engine import RemediationFailed
from phiguard.core.model import Evaluation, Mode, Outcome, ResourceRef, Result
from phiguard.notify.render import email_text

pytestmark = pytest.mark.usefixtures("aws")
TOMORROW = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
YESTERDAY = (datetime.now(UTC).date() - timedelta(days=1)).isoformat()


@pytest.fixture(autouse=True)
def tables(aws: None) -> None:
    rails_tables()


def open_group(name: str = "backend-sg") -> str:
    g = group(vpc(), name)
    authorize(g, 22, cidrs=("0.0.0.0/0",))
    return g


def deliver(engine, group_id: str):  # type: ignore[no-untyped-def]
    return engine.handle_event(load_event("ec2-authorize-sg-ingress-ssh-world.json", backend_sg=group_id))


def outcome_of(results, control_id: str = "vpc-sg-restricted-ports") -> Outcome:  # type: ignore[no-untyped-def]
    return next(r.outcome for r in results if r.control_id == control_id)


# --- exemptions ------------------------------------------------------------------------------


@pytest.mark.parametrize("controls", ["vpc-sg-restricted-ports", "all", "db-no-bastion-access,vpc-sg-restricted-ports"])
def test_a_tagged_exemption_is_honoured_reported_and_recorded(controls: str) -> None:
    g = open_group()
    tag_group(
        g,
        **{
            "phiguard:exempt": controls,
            "phiguard:exempt-until": TOMORROW,
            "phiguard:exempt-reason": "vendor VPN cut-over, CHG-1042",
        },
    )
    engine, inbox = make_rails_engine()

    results = deliver(engine, g)

    assert outcome_of(results) is Outcome.EXEMPT
    assert ingress(g) == [("tcp", 22, 22, "0.0.0.0/0")]
    [message] = [r for r in inbox.results if r.control_id == "vpc-sg-restricted-ports"]
    assert message.exemption and "CHG-1042" in message.exemption and TOMORROW in message.exemption
    [row] = [r for r in evidence_rows() if r["control_id"] == "vpc-sg-restricted-ports"]
    assert row["outcome"] == "exempt"


def test_an_exemption_for_another_control_does_not_cover_this_one() -> None:
    g = open_group()
    tag_group(
        g,
        **{"phiguard:exempt": "db-no-bastion-access", "phiguard:exempt-until": TOMORROW, "phiguard:exempt-reason": "x"},
    )
    engine, _ = make_rails_engine()

    assert outcome_of(deliver(engine, g)) is Outcome.REMEDIATED


def test_an_expired_exemption_is_ignored_and_reported_as_expired() -> None:
    g = open_group()
    tag_group(g, **{"phiguard:exempt": "all", "phiguard:exempt-until": YESTERDAY, "phiguard:exempt-reason": "old"})
    engine, inbox = make_rails_engine()

    results = deliver(engine, g)

    assert outcome_of(results) is Outcome.REMEDIATED
    assert ingress(g) == []
    [message] = [r for r in inbox.results if r.control_id == "vpc-sg-restricted-ports"]
    assert f"expired on {YESTERDAY}" in (message.exemption or "")


@pytest.mark.parametrize(
    ("tags", "problem"),
    [
        ({"phiguard:exempt-until": TOMORROW}, "gives no reason"),
        ({"phiguard:exempt-until": "next friday", "phiguard:exempt-reason": "x"}, "is not a date"),
        ({"phiguard:exempt-reason": "forever"}, "exemptions must expire"),
    ],
)
def test_a_malformed_exemption_is_reported_and_not_honoured(tags: dict[str, str], problem: str) -> None:
    g = open_group()
    tag_group(g, **{"phiguard:exempt": "all", **tags})
    engine, inbox = make_rails_engine()

    assert outcome_of(deliver(engine, g)) is Outcome.REMEDIATED
    [message] = [r for r in inbox.results if r.control_id == "vpc-sg-restricted-ports"]
    assert "not honoured" in (message.exemption or "") and problem in (message.exemption or "")


def test_the_exemption_list_covers_what_cannot_be_tagged() -> None:
    g = open_group()
    listed = ({"resource": g, "controls": ["vpc-sg-restricted-ports"], "until": TOMORROW, "reason": "listed"},)
    engine, _ = make_rails_engine(exemptions=listed)

    assert outcome_of(deliver(engine, g)) is Outcome.EXEMPT


def test_the_exemption_list_can_live_in_ssm() -> None:
    g = open_group()
    boto3.client("ssm").put_parameter(
        Name="/phiguard/exemptions",
        Type="String",
        Value=json.dumps([{"resource": g, "controls": "all", "until": TOMORROW, "reason": "from SSM"}]),
    )
    engine, _ = make_rails_engine(exemptions_parameter="/phiguard/exemptions")

    assert outcome_of(deliver(engine, g)) is Outcome.EXEMPT


# --- evidence --------------------------------------------------------------------------------


def test_a_fix_is_recorded_with_everything_an_auditor_asks() -> None:
    g = open_group()
    engine, inbox = make_rails_engine()

    deliver(engine, g)

    [row] = [r for r in evidence_rows() if r["control_id"] == "vpc-sg-restricted-ports"]
    assert row["outcome"] == "remediated"
    assert row["kind"] == "finding"
    assert (row["account_id"], row["region"], row["resource_id"]) == ("123456789012", "us-east-1", g)
    assert row["hipaa"] == ["164.308(a)(3)(i)", "164.308(a)(4)(ii)(B)", "164.312(a)(1)", "164.312(e)(1)"]
    assert row["event_id"] == "8f7c1f2e-5d3b-4c1a-9e0f-000000000004"
    assert row["actor"].endswith("assumed-role/Admin/jane.doe@example.com")
    assert row["mode"] == "enforce"
    assert json.loads(row["state_before"])["ingress_rules"][0]["CidrIpv4"] == "0.0.0.0/0"
    assert json.loads(row["state_after"])["ingress_rules"] == []
    assert row["changes"][0].startswith("revoke rule sgr-")
    six_years = (datetime.now(UTC) + timedelta(days=2190)).timestamp()
    assert abs(row["expires_at"] - six_years) < 120
    assert inbox.results[-1].evidence_id == row["evidence_id"]


def test_a_notify_only_finding_and_a_failure_are_recorded_too() -> None:
    vpc_id = vpc()
    database, bastion = group(vpc_id, "db-sg", "database"), group(vpc_id, "bastion-sg", "bastion")
    authorize(database, 3306, cidrs=("10.20.0.0/16",))  # covers nothing: no bastion instance here
    authorize(database, 3306, groups=(bastion,))
    engine, _ = make_rails_engine(Mode.DRY_RUN)

    engine.handle_event(
        load_event("ec2-authorize-sg-ingress-bastion-to-database.json", database_sg=database, bastion_sg=bastion)
    )

    [row] = [r for r in evidence_rows() if r["control_id"] == "db-no-bastion-access"]
    assert (row["control_id"], row["outcome"], row["mode"]) == ("db-no-bastion-access", "would_remediate", "dry-run")
    assert row["state_after"] == "null"


# --- exactly once ----------------------------------------------------------------------------


def test_the_same_event_twice_gives_one_message_and_one_row_even_in_dry_run() -> None:
    g = open_group()
    engine, inbox = make_rails_engine(Mode.DRY_RUN)
    event = load_event("ec2-authorize-sg-ingress-ssh-world.json", backend_sg=g)

    first, second = engine.handle_event(event), engine.handle_event(event)

    assert [r.to_json() for r in first] == [r.to_json() for r in second]
    assert len([r for r in inbox.results if r.control_id == "vpc-sg-restricted-ports"]) == 1
    assert len(evidence_rows()) == 1


def test_the_same_event_twice_in_enforce_mode_gives_one_change_and_one_message() -> None:
    g = open_group()
    engine, inbox = make_rails_engine()
    event = load_event("ec2-authorize-sg-ingress-ssh-world.json", backend_sg=g)

    engine.handle_event(event)
    authorize(g, 22, cidrs=("0.0.0.0/0",))  # someone opens it again: a *new* event would be needed
    engine.handle_event(event)

    assert len(inbox.results) == 1
    assert ingress(g) == [("tcp", 22, 22, "0.0.0.0/0")]  # the repeated delivery did not act again


def state_items() -> list[str]:
    items = boto3.client("dynamodb").scan(TableName=STATE_TABLE)["Items"]
    return sorted(str(item["id"]["S"]) for item in items)


def test_the_first_delivery_of_an_event_of_five_controls_takes_records_only_for_the_one_that_acts() -> None:
    g = open_group()
    engine, inbox = make_rails_engine()

    results = deliver(engine, g)

    assert len(results) == 5
    assert [r.control_id for r in inbox.results] == ["vpc-sg-restricted-ports"]
    items = state_items()
    assert len([i for i in items if i.startswith("phiguard-event#")]) == 1
    assert len([i for i in items if i.startswith("phiguard-brake#")]) == 1
    assert len(items) == 4  # the event, the brake, the fixing control's decision and its bookkeeping


def test_a_second_delivery_takes_every_record_and_sends_no_second_message() -> None:
    g = open_group()
    engine, inbox = make_rails_engine()
    deliver(engine, g)
    before = len(state_items())

    deliver(engine, g)  # a second delivery of the same event

    assert len(state_items()) == before + 4  # the four compliant controls now have records too
    assert len(inbox.results) == 1
    assert ingress(g) == []


def test_an_event_that_cannot_be_marked_changes_nothing_and_is_retried() -> None:
    from botocore.exceptions import ClientError
    from helpers import FaultyClients

    g = open_group()
    clients = FaultyClients()
    clients.fail("PutItem", "AccessDeniedException", "not authorized to perform dynamodb:PutItem", table=STATE_TABLE)
    engine, inbox = make_rails_engine(clients=clients)

    with pytest.raises(ClientError, match="AccessDenied"):
        deliver(engine, g)
    assert ingress(g) == [("tcp", 22, 22, "0.0.0.0/0")]
    assert inbox.results == []
    clients.heal()
    deliver(engine, g)
    assert ingress(g) == []


# --- the brake -------------------------------------------------------------------------------


def test_the_brake_holds_fixes_above_its_limit_alerts_once_and_releases_with_the_next_window() -> None:
    clock = Clock()
    engine, inbox = make_rails_engine(clock=clock, brake_max_fixes=2, brake_window_seconds=3600)
    groups = [open_group(f"burst-{n}") for n in range(4)]
    events = [load_event("ec2-authorize-sg-ingress-ssh-world.json", backend_sg=g) for g in groups]
    for n, event in enumerate(events):
        event["detail"]["eventID"] = f"burst-{n}"

    outcomes = [outcome_of(engine.handle_event(e)) for e in events]

    assert outcomes == [Outcome.REMEDIATED, Outcome.REMEDIATED, Outcome.HELD, Outcome.HELD]
    assert [ingress(g) for g in groups[2:]] == [[("tcp", 22, 22, "0.0.0.0/0")]] * 2
    [(subject, text, severity)] = inbox.alerts
    assert "notify-only" in text
    assert severity == "critical" and "brake" in subject and "123456789012" in subject
    held = [r for r in inbox.results if r.outcome is Outcome.HELD]
    assert len(held) == 2 and "notify-only until" in held[0].reason
    assert [r["outcome"] for r in evidence_rows()].count("held") == 2

    clock.now += 3600  # the next window: the brake has released by itself
    events[3]["detail"]["eventID"] = "burst-3-seen-again-by-the-sweep"
    assert outcome_of(engine.handle_event(events[3])) is Outcome.REMEDIATED
    assert ingress(groups[3]) == []
    assert len(inbox.alerts) == 1


def test_exemption_dates_are_inclusive() -> None:
    from phiguard.core.exemptions import from_tags, judge

    today = date(2026, 12, 3)
    exemption = from_tags(
        {"phiguard:exempt": "all", "phiguard:exempt-until": "2026-12-03", "phiguard:exempt-reason": "last day"}
    )
    assert exemption is not None
    assert judge(exemption, today).honoured
    assert not judge(exemption, today + timedelta(days=1)).honoured


# --- bookkeeping that fails after a fix is completed by the retry ------------------------------


def test_a_message_that_could_not_be_sent_is_sent_by_the_retry_without_a_second_fix() -> None:
    from phiguard.core.engine import RemediationFailed

    g = open_group()
    engine, inbox = make_rails_engine()
    event = load_event("ec2-authorize-sg-ingress-ssh-world.json", backend_sg=g)
    sent = inbox.results
    calls = {"n": 0}

    def flaky(result):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            raise ConnectionError("SNS unreachable")
        sent.append(result)

    engine.notify = flaky  # type: ignore[assignment]
    engine.notify.alert = inbox.alert  # type: ignore[attr-defined]
    with pytest.raises(RemediationFailed, match="SNS unreachable"):
        engine.handle_event(event)
    assert ingress(g) == []
    authorize(g, 22, cidrs=("0.0.0.0/0",))  # proves the retry does not act again on the same event

    engine.handle_event(event)  # Lambda's retry

    assert [r.outcome for r in sent if r.control_id == "vpc-sg-restricted-ports"] == [Outcome.REMEDIATED]
    assert ingress(g) == [("tcp", 22, 22, "0.0.0.0/0")]
    assert [r["outcome"] for r in evidence_rows() if r["control_id"] == "vpc-sg-restricted-ports"] == ["remediated"]


def test_evidence_that_could_not_be_written_is_written_by_the_retry() -> None:
    from helpers import FaultyClients
    from phiguard.core.engine import RemediationFailed

    g = open_group()
    clients = FaultyClients()
    clients.fail("PutItem", "AccessDeniedException", "not authorized to perform dynamodb:PutItem", table=EVIDENCE_TABLE)
    engine, inbox = make_rails_engine(clients=clients)
    event = load_event("ec2-authorize-sg-ingress-ssh-world.json", backend_sg=g)

    with pytest.raises(RemediationFailed, match="evidence not recorded"):
        engine.handle_event(event)
    assert "NOT RECORDED YET" in email_text(inbox.results[-1])
    clients.heal()
    engine.handle_event(event)

    assert [r["outcome"] for r in evidence_rows() if r["control_id"] == "vpc-sg-restricted-ports"] == ["remediated"]


def test_an_event_being_handled_elsewhere_fails_this_invocation_so_it_is_retried() -> None:
    from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError
    from phiguard.core.engine import RemediationFailed

    g = open_group()
    engine, _ = make_rails_engine()

    def busy(**_: object) -> None:
        raise IdempotencyAlreadyInProgressError("in progress")

    engine._decide_once = busy
    with pytest.raises(RemediationFailed, match="another invocation"):
        engine.handle_event(load_event("ec2-authorize-sg-ingress-ssh-world.json", backend_sg=g))
    assert ingress(g) == [("tcp", 22, 22, "0.0.0.0/0")]


def test_a_failed_fix_gives_its_brake_reservation_back() -> None:
    from helpers import FaultyClients
    from phiguard.core.engine import RemediationFailed

    clients = FaultyClients()
    clients.fail("RevokeSecurityGroupIngress", "UnauthorizedOperation")
    engine, _ = make_rails_engine(clients=clients, brake_max_fixes=1)
    first = open_group("first")
    with pytest.raises(RemediationFailed):
        deliver(engine, first)
    clients.heal()
    second = open_group("second")
    event = load_event("ec2-authorize-sg-ingress-ssh-world.json", backend_sg=second)
    event["detail"]["eventID"] = "second"

    assert outcome_of(engine.handle_event(event)) is Outcome.REMEDIATED


def test_without_its_counter_the_brake_fails_closed_and_says_why() -> None:
    from helpers import FaultyClients
    from phiguard.core.engine import RemediationFailed

    clients = FaultyClients()
    clients.fail("UpdateItem", "AccessDeniedException", "not authorized to perform dynamodb:UpdateItem")
    engine, _ = make_rails_engine(clients=clients)
    g = open_group()

    with pytest.raises(RemediationFailed, match="no fix is made without it"):
        deliver(engine, g)
    assert ingress(g) == [("tcp", 22, 22, "0.0.0.0/0")]


def test_a_huge_state_still_makes_a_valid_evidence_row() -> None:
    from phiguard.core.evidence import MAX_STATE_CHARS, row
    from phiguard.core.model import Mode as M
    from phiguard.core.model import ResourceRef, Result

    rules = [{"SecurityGroupRuleId": f"sgr-{n:017d}", "Description": "d" * 250} for n in range(2000)]
    result = Result(
        "c",
        "t",
        ("h",),
        ResourceRef("AWS::EC2::SecurityGroup", "sg-1", "us-east-1", "1"),
        Outcome.REMEDIATED,
        M.ENFORCE,
        None,
        state_before={"ingress_rules": rules},
        state_after={},
    )
    item = row(result, "id", datetime.now(UTC), 2190, "finding")

    assert json.loads(item["state_before"])["truncated"] is True
    assert len(item["state_before"]) < MAX_STATE_CHARS * 1.1  # JSON escaping adds a little
    assert len(json.dumps(item)) < 350_000


def test_a_valid_list_entry_wins_over_an_expired_tag_and_a_non_covering_entry_and_arns_match() -> None:
    g = open_group()
    tag_group(g, **{"phiguard:exempt": "all", "phiguard:exempt-until": YESTERDAY, "phiguard:exempt-reason": "old"})
    arn = f"arn:aws:ec2:us-east-1:123456789012:security-group/{g}"
    listed = (
        {"resource": g, "controls": ["db-no-bastion-access"], "until": TOMORROW, "reason": "other control"},
        {"resource": arn, "controls": ["VPC-SG-RESTRICTED-PORTS"], "until": TOMORROW, "reason": "by ARN"},
    )
    engine, inbox = make_rails_engine(exemptions=listed)

    assert outcome_of(deliver(engine, g)) is Outcome.EXEMPT
    [message] = [r for r in inbox.results if r.control_id == "vpc-sg-restricted-ports"]
    assert "by ARN" in (message.exemption or "")


def test_a_broken_exemption_list_in_ssm_fails_closed_and_names_the_parameter() -> None:
    from phiguard.core.engine import RemediationFailed

    g = open_group()
    boto3.client("ssm").put_parameter(Name="/phiguard/exemptions", Type="String", Value="[{not json")
    engine, _ = make_rails_engine(exemptions_parameter="/phiguard/exemptions")

    with pytest.raises(RemediationFailed, match="SSM parameter /phiguard/exemptions"):
        deliver(engine, g)
    assert ingress(g) == [("tcp", 22, 22, "0.0.0.0/0")]


def test_a_first_delivery_judges_every_control_before_one_acts_and_only_verifies_after() -> None:
    from helpers import CountingClients

    v = vpc()
    database, bastion = group(v, "database-sg", role="database"), group(v, "bastion-sg", role="bastion")
    authorize(database, 3306, groups=(bastion,))
    clients = CountingClients()
    engine, inbox = make_rails_engine(clients=clients)

    engine.handle_event(
        load_event("ec2-authorize-sg-ingress-bastion-to-database.json", database_sg=database, bastion_sg=bastion)
    )

    bookkeeping = {"PutItem", "UpdateItem", "GetItem", "Publish"}
    sent = [name for name in clients.calls if name not in bookkeeping]
    revoke = sent.index("RevokeSecurityGroupIngress")
    # db-no-bastion-access fixes; vpc-default-security-group-closed and vpc-sg-restricted-ports, after it in
    # the list, were judged before it from the same reads: after the fix only its verification reads.
    assert sent[revoke + 1 :] == ["DescribeSecurityGroupRules"]
    assert sent[:revoke].count("DescribeSecurityGroupRules") == 1
    # db-ingress-from-app-tier-only (report only) ran after the fix: the rule it would have put to a person
    # is gone, so the one message is the fix's.
    assert [(r.control_id, r.outcome) for r in inbox.results] == [("db-no-bastion-access", Outcome.REMEDIATED)]
    assert [row["control_id"] for row in evidence_rows()] == ["db-no-bastion-access"]


def test_a_duplicate_delivery_while_the_first_is_fixing_leaves_the_reports_to_the_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from phiguard.controls.db_no_bastion_access import DbNoBastionAccess

    v = vpc()
    database, bastion = group(v, "database-sg", role="database"), group(v, "bastion-sg", role="bastion")
    authorize(database, 3306, groups=(bastion,))
    event = load_event("ec2-authorize-sg-ingress-bastion-to-database.json", database_sg=database, bastion_sg=bastion)
    first, first_inbox = make_rails_engine()
    second, second_inbox = make_rails_engine()
    revoke = DbNoBastionAccess.remediate
    failed: list[Result] = []

    def remediate_while_delivered_again(self: DbNoBastionAccess, ref: ResourceRef, evaluation: Evaluation) -> list[str]:
        if not failed:
            with pytest.raises(RemediationFailed) as raised:  # EventBridge delivers the event again meanwhile
                second.handle_event(event)
            failed.extend(raised.value.results)
        return revoke(self, ref, evaluation)

    monkeypatch.setattr(DbNoBastionAccess, "remediate", remediate_while_delivered_again)
    results = first.handle_event(event)

    # The second invocation neither fixes nor reports on the group being fixed: it fails, to be retried.
    assert sorted(r.control_id for r in failed) == ["db-ingress-from-app-tier-only", "db-no-bastion-access"]
    assert second_inbox.results == []
    # The first reports after its fix: the rule db-ingress-from-app-tier-only would have put to a person is gone.
    assert [(r.control_id, r.outcome) for r in first_inbox.results] == [("db-no-bastion-access", Outcome.REMEDIATED)]
    assert ("db-ingress-from-app-tier-only", Outcome.COMPLIANT) in [(r.control_id, r.outcome) for r in results]
    assert ingress(database) == []
    # The retry of the second delivery changes and sends nothing.
    second.handle_event(event)
    assert second_inbox.results == []
