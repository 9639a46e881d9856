"""The sweep and the read-only walk: every resource of every control's type, against moto state.

Scenarios
- Given drifted and compliant resources, when the account is walked read-only, then each drift is a
  non-compliant finding and nothing changes.
- Given drifts, when the sweep runs, then each is fixed, each fix is notified on its own and one summary
  lists what still needs a person.
- Given more pages than time, when the sweep runs short of time, then it hands its cursors on and the next
  invocation finishes the account, each resource judged once.
- Given AccessDenied on one service's listing, then the sweep reports it and judges the rest.
- Given a region the account has not enabled, then it is skipped and reported.
- Given a resource deleted between listing and judging, then it is not applicable, never a failure.
- Given an empty account, then the walk ends with nothing but the account-level settings.
- Given account-wide settings and two regions, then they are judged once.
- Given a trail, then it is judged once, in its home region.
- The hand-off is an asynchronous invocation of the same function; the handler sweeps its own region.
- Given an unreadable hand-off, then it is said once and nothing is swept; a fix whose message failed is in the summary.
- Given a group changed after its page was read, then the fix is decided on live state.
- Given a page of security groups, then their rules are read in one call, and a fixed group's verifying
  evaluation reads live state.
"""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from helpers import ACCOUNT, REGION, CountingClients, FaultyClients, authorize, group, ingress, make_engine, vpc
from phiguard.core import inventory
from phiguard.core.aws import Clients
from phiguard.core.control import Control, all_controls, get_control
from phiguard.core.model import Finding, Mode, Outcome, ResourceRef, Status
from phiguard.core.sweep import SWEEP_KEY, Sweep, Walker

pytestmark = pytest.mark.usefixtures("aws")


def world() -> dict[str, str]:
    s3 = boto3.client("s3")
    for name in ("phi-plain", "phi-encrypted"):
        s3.create_bucket(Bucket=name)
    s3.put_bucket_encryption(
        Bucket="phi-encrypted",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}, "BucketKeyEnabled": True}]
        },
    )
    vpc_id = vpc()
    open_group = group(vpc_id, "web")
    authorize(open_group, 22, cidrs=("0.0.0.0/0",))
    return {"vpc": vpc_id, "open_group": open_group}


def controls(*ids: str) -> list[type[Control]]:
    return [get_control(i) for i in ids]


def walker(clients: Clients | None = None, regions: tuple[str, ...] = (REGION,), ids: tuple[str, ...] = ()) -> Walker:
    chosen = controls(*ids) if ids else all_controls()
    return Walker(clients or Clients(), ACCOUNT, regions, chosen, concurrency=4)


def scan(w: Walker) -> list[Finding]:
    engine, _ = make_engine(Mode.ENFORCE)
    findings, _ = w.walk(lambda control, ref: engine.assess(control(engine.context), ref))
    return findings


def verdicts(findings: list[Finding], control_id: str) -> dict[str, Status | None]:
    return {f.resource.resource_id: f.status for f in findings if f.control_id == control_id}


def test_given_drifted_and_compliant_resources_when_walked_read_only_then_each_drift_is_a_finding() -> None:
    ids = world()

    findings = scan(walker(ids=("s3-default-encryption-kms", "vpc-sg-restricted-ports")))

    assert verdicts(findings, "s3-default-encryption-kms") == {
        "phi-plain": Status.NON_COMPLIANT,
        "phi-encrypted": Status.COMPLIANT,
    }
    assert verdicts(findings, "vpc-sg-restricted-ports")[ids["open_group"]] is Status.NON_COMPLIANT
    assert _bucket_encryption("phi-plain") == "ServerSideEncryptionConfigurationNotFoundError"  # nothing changed


def _bucket_encryption(name: str) -> Any:
    try:
        return boto3.client("s3").get_bucket_encryption(Bucket=name)
    except boto3.client("s3").exceptions.ClientError as e:
        return e.response["Error"]["Code"]


def test_given_drifts_when_the_sweep_runs_then_each_is_fixed_and_one_summary_is_sent() -> None:
    ids = world()
    engine, inbox = make_engine(Mode.ENFORCE, s3_kms_key_id="alias/phi")
    sweep = Sweep(engine, walker(ids=("s3-default-encryption-kms", "vpc-sg-restricted-ports", "encrypted-volumes")), 5)
    boto3.client("ec2").create_volume(AvailabilityZone=f"{REGION}a", Size=8)  # unencrypted: notify-only

    outcome = sweep.handle({"source": "aws.events", "detail-type": "Scheduled Event"}, lambda: 900.0, _no_hand_off)

    assert outcome["done"] is True
    assert outcome["outcomes"]["remediated"] == 2
    assert outcome["outcomes"]["needs_attention"] == 1
    assert _bucket_encryption("phi-plain")["ServerSideEncryptionConfiguration"]["Rules"]
    assert sorted(r.control_id for r in inbox.results) == ["s3-default-encryption-kms", "vpc-sg-restricted-ports"]
    assert all(r.outcome is Outcome.REMEDIATED for r in inbox.results)
    [(subject, text, severity)] = inbox.alerts
    assert "1 finding(s) need attention" in subject
    assert "encrypted-volumes" in text and severity == "medium"
    assert "2 fix(es) were each notified on their own" in text
    assert ids["open_group"]


def _no_hand_off(payload: dict[str, Any]) -> None:
    raise AssertionError(f"the sweep should have finished: {payload}")


def test_given_more_pages_than_time_when_short_of_time_then_the_next_invocation_finishes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(inventory, "PAGE_SIZE", 2)
    s3 = boto3.client("s3")
    for i in range(5):
        s3.create_bucket(Bucket=f"phi-bucket-{i}")
    engine, inbox = make_engine(Mode.ENFORCE)
    sweep = Sweep(engine, walker(ids=("s3-bucket-versioning-enabled",)), margin_seconds=60)
    clock = iter([900.0, 30.0])  # time for one page, then short of time
    handed: list[dict[str, Any]] = []

    first = sweep.handle({}, lambda: next(clock, 30.0), handed.append)

    assert first["done"] is False
    [payload] = handed
    json.dumps(payload)  # travels as a Lambda payload
    assert payload[SWEEP_KEY]["cursors"][0]["token"]
    second = sweep.handle(payload, lambda: 900.0, _no_hand_off)
    assert second["done"] is True
    assert second["sweep_id"] == first["sweep_id"] and second["part"] == 2
    assert second["outcomes"] == {"remediated": 5}
    assert sorted(r.resource.resource_id for r in inbox.results) == [f"phi-bucket-{i}" for i in range(5)]


def test_given_access_denied_on_one_service_then_it_is_reported_and_the_rest_is_judged() -> None:
    world()
    clients = FaultyClients()
    clients.fail("DescribeSecurityGroups", "UnauthorizedOperation", "You are not authorized")

    engine, _ = make_engine(Mode.ENFORCE, clients=clients)
    w = walker(clients, ids=("s3-default-encryption-kms", "vpc-sg-restricted-ports"))
    findings, problems = w.walk(lambda control, ref: engine.assess(control(engine.context), ref))

    assert verdicts(findings, "s3-default-encryption-kms")["phi-plain"] is Status.NON_COMPLIANT
    [problem] = problems
    assert problem.resource_type == "AWS::EC2::SecurityGroup"
    assert "ec2:DescribeSecurityGroups" in problem.error


def test_given_access_denied_on_listing_buckets_then_the_s3_action_is_named() -> None:
    clients = FaultyClients()
    clients.fail("ListBuckets", "AccessDenied", "Access Denied")

    _, problems = walker(clients, ids=("s3-bucket-versioning-enabled",)).walk(lambda control, ref: None)

    [problem] = problems
    assert "(needs s3:ListAllMyBuckets)" in problem.error


def test_given_a_listing_that_fails_oddly_then_the_sweep_reports_it_and_goes_on() -> None:
    boto3.client("s3").create_bucket(Bucket="phi-plain")
    engine, inbox = make_engine(Mode.ENFORCE)
    carried = {
        "tally": {"sweep_id": "s-1", "started_at": "2026-12-04T00:00:00+00:00"},
        "cursors": [
            {"resource_type": "AWS::S3::Bucket", "region": REGION, "token": "not-an-offset"},
            {"resource_type": "AWS::S3::Bucket", "region": REGION, "token": None},
        ],
    }

    outcome = Sweep(engine, walker(ids=("s3-bucket-versioning-enabled",)), 5).handle(
        {SWEEP_KEY: carried}, lambda: 900.0, _no_hand_off
    )

    assert outcome["done"] is True and outcome["outcomes"] == {"remediated": 1}
    [problem] = outcome["problems"]
    assert "not-an-offset" in problem
    [(_, _, severity)] = inbox.alerts
    assert severity == "high"


def test_given_throttling_that_outlasts_the_retries_then_the_resource_could_not_be_evaluated() -> None:
    boto3.client("s3").create_bucket(Bucket="phi-plain")
    clients = FaultyClients()
    clients.fail("GetBucketEncryption", "SlowDown", "Please reduce your request rate.", 503)

    engine, _ = make_engine(Mode.ENFORCE, clients=clients)
    findings, _ = walker(clients, ids=("s3-default-encryption-kms",)).walk(
        lambda control, ref: engine.assess(control(engine.context), ref)
    )

    [finding] = findings
    assert finding.status is None and finding.error and "SlowDown" in finding.error


def test_given_a_region_not_enabled_then_it_is_skipped_and_reported() -> None:
    w = walker(regions=(REGION, "ap-east-1"), ids=("s3-bucket-versioning-enabled",))

    cursors, problems = w.start()

    assert {c.region for c in cursors} == {REGION}
    [problem] = problems
    assert problem.region == "ap-east-1" and problem.skipped_region
    engine, inbox = make_engine(Mode.ENFORCE)
    outcome = Sweep(engine, w, 5).handle({}, lambda: 900.0, _no_hand_off)
    assert outcome["skipped"] == ["ap-east-1"] and not outcome["problems"]
    assert not inbox.alerts  # nothing wrong: no summary, and never a critical one for a skipped region


def test_given_a_resource_deleted_between_listing_and_judging_then_it_is_not_applicable() -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="phi-short-lived")
    engine, inbox = make_engine(Mode.ENFORCE)

    def judge_after_deletion(control: type[Control], ref: ResourceRef) -> Any:
        s3.delete_bucket(Bucket=ref.resource_id)
        return engine.run(control(engine.context), ref, None)

    results, problems = walker(ids=("s3-bucket-versioning-enabled",)).walk(judge_after_deletion)

    assert [r.outcome for r in results] == [Outcome.NOT_APPLICABLE]
    assert not problems and not inbox.results


def test_given_an_empty_account_then_only_account_settings_are_judged() -> None:
    findings = scan(walker())

    assert {f.resource.resource_type for f in findings} <= {"AWS::::Account", "AWS::EC2::VPC", "AWS::EC2::Subnet",
                                                             "AWS::EC2::SecurityGroup", "AWS::KMS::Key"}  # fmt: skip
    assert all(f.error is None for f in findings), [f.error for f in findings if f.error]


def test_given_two_regions_then_account_wide_settings_are_judged_once_and_regional_ones_in_each() -> None:
    findings = scan(walker(regions=(REGION, "eu-west-1"), ids=("iam-password-policy", "ec2-ebs-encryption-by-default")))

    assert [f.resource.region for f in findings if f.control_id == "iam-password-policy"] == [REGION]
    assert sorted(f.resource.region for f in findings if f.control_id == "ec2-ebs-encryption-by-default") == [
        "eu-west-1",
        REGION,
    ]


def test_given_a_trail_then_it_is_judged_once_in_its_home_region() -> None:
    boto3.client("s3").create_bucket(Bucket="phi-trail-logs")
    arn = boto3.client("cloudtrail").create_trail(Name="phi-audit", S3BucketName="phi-trail-logs")["TrailARN"]

    findings = scan(walker(regions=(REGION, "eu-west-1"), ids=("cloud-trail-log-file-validation-enabled",)))

    assert [(f.resource.resource_id, f.resource.region, f.status) for f in findings] == [
        (arn, REGION, Status.NON_COMPLIANT)
    ]


def test_the_hand_off_invokes_the_same_function_asynchronously_with_the_rest() -> None:
    from botocore.stub import Stubber
    from phiguard.core.sweep import invoke_later

    clients = Clients()
    arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:phiguard-sweep"
    payload = {SWEEP_KEY: {"tally": {"sweep_id": "s-1", "started_at": "2026-12-04T00:00:00+00:00"}, "cursors": []}}
    with Stubber(clients.lambda_(REGION)) as stub:
        stub.add_response(
            "invoke",
            {"StatusCode": 202},
            {"FunctionName": arn, "InvocationType": "Event", "Payload": json.dumps(payload)},
        )
        invoke_later(clients, arn)(payload)
        stub.assert_no_pending_responses()


def test_the_sweep_handler_walks_the_functions_region_and_reports(monkeypatch: pytest.MonkeyPatch) -> None:
    from phiguard.handlers import sweep as handler

    boto3.client("s3").create_bucket(Bucket="phi-plain")
    monkeypatch.setenv("PHIGUARD_MODE", "enforce")
    handler.engine.cache_clear()

    class Context:
        function_name = "phiguard-sweep"
        function_version = "$LATEST"
        invoked_function_arn = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:phiguard-sweep"
        memory_limit_in_mb = 1024
        aws_request_id = "test"

        @staticmethod
        def get_remaining_time_in_millis() -> int:
            return 900_000

    try:
        outcome = handler.lambda_handler({"source": "aws.events", "detail-type": "Scheduled Event"}, Context())
    finally:
        handler.engine.cache_clear()

    assert outcome["done"] is True
    assert outcome["outcomes"]["remediated"] >= 1
    assert boto3.client("s3").get_bucket_versioning(Bucket="phi-plain")["Status"] == "Enabled"


@pytest.mark.parametrize(
    "carried",
    [
        {"cursors": []},
        {"tally": "not an object", "cursors": []},
        {"tally": {"sweep_id": "s", "started_at": "t"}, "cursors": [{"resource_type": "AWS::No::Such", "region": "x"}]},
        {"tally": {"sweep_id": "s", "started_at": "t"}, "cursors": "everything"},
        "a string",
    ],
)
def test_given_an_unreadable_hand_off_then_it_is_said_once_and_nothing_is_swept(carried: Any) -> None:
    engine, inbox = make_engine(Mode.ENFORCE)
    sweep = Sweep(engine, walker(ids=("s3-bucket-versioning-enabled",)), 5)

    outcome = sweep.handle({SWEEP_KEY: carried}, lambda: 900.0, _no_hand_off)

    assert outcome["done"] is False and "unreadable hand-off" in outcome["error"]
    [(subject, _, severity)] = inbox.alerts
    assert "could not continue a sweep" in subject and severity == "warning"
    assert not inbox.results


def test_given_a_fix_whose_message_cannot_be_sent_then_the_summary_says_so() -> None:
    boto3.client("s3").create_bucket(Bucket="phi-plain")
    engine, inbox = make_engine(Mode.ENFORCE)

    def broken(result: Any) -> None:
        raise RuntimeError("topic unavailable")

    engine.notify = type("Broken", (), {"__call__": lambda self, r: broken(r), "alert": inbox.alert})()
    outcome = Sweep(engine, walker(ids=("s3-bucket-versioning-enabled",)), 5).handle({}, lambda: 900.0, _no_hand_off)

    assert outcome["outcomes"] == {"remediated": 1, "bookkeeping_failed": 1}
    [(subject, text, severity)] = inbox.alerts
    assert "1 failure(s)" in subject and "topic unavailable" in text and severity == "critical"


def test_given_pages_of_groups_then_their_rules_are_read_in_one_call_and_a_fix_is_verified_live(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(inventory, "PAGE_SIZE", 5)  # three pages and more, one read of the rules
    vpc_id = vpc()
    groups = [group(vpc_id, f"tier-{n}") for n in range(12)]
    authorize(groups[5], 22, cidrs=("0.0.0.0/0",))
    authorize(groups[7], 443, cidrs=("10.20.0.0/16",))
    clients = CountingClients()
    engine, inbox = make_engine(Mode.ENFORCE, clients=clients)
    sweep = Sweep(engine, walker(clients, ids=("vpc-sg-restricted-ports",)), 5)

    outcome = sweep.handle({}, lambda: 900.0, _no_hand_off)

    assert outcome["outcomes"]["remediated"] == 1
    assert outcome["outcomes"]["compliant"] >= 13  # the twelve and the VPCs' default groups
    # the page's rules; live again before the fix (never decided on the page's read); the fix's verification
    assert clients.calls.count("DescribeSecurityGroupRules") == 3
    assert ingress(groups[5]) == []
    assert ingress(groups[7]) == [("tcp", 443, 443, "10.20.0.0/16")]
    [fixed] = inbox.results
    assert fixed.resource.resource_id == groups[5] and fixed.outcome is Outcome.REMEDIATED


def test_given_pages_of_groups_then_who_plays_which_role_is_read_once_per_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(inventory, "PAGE_SIZE", 5)
    vpc_id = vpc()
    bastion = group(vpc_id, "bastion", role="bastion")
    authorize(bastion, 22, cidrs=("198.51.100.0/24",))  # outside the admin CIDRs
    for n in range(11):
        group(vpc_id, f"tier-{n}")
    listed = len(boto3.client("ec2").describe_security_groups()["SecurityGroups"])
    pages = -(-listed // 5)
    clients = CountingClients()
    engine, inbox = make_engine(Mode.ENFORCE, clients=clients, admin_cidrs=("203.0.113.0/24",))
    ids = ("bastion-ssh-from-allowed-cidrs", "db-ingress-from-app-tier-only", "db-no-bastion-access")
    sweep = Sweep(engine, walker(clients, ids=ids), 5)

    outcome = sweep.handle({}, lambda: 900.0, _no_hand_off)

    assert outcome["outcomes"]["remediated"] == 1
    assert ingress(bastion) == []
    # once per page, shared by the page's groups and controls (it was once per group and control)
    assert clients.calls.count("DescribeDBInstances") == pages
    assert clients.calls.count("DescribeInstances") == pages
    [fixed] = inbox.results
    assert fixed.resource.resource_id == bastion and fixed.control_id == "bastion-ssh-from-allowed-cidrs"


def test_given_a_group_fixed_after_its_page_was_read_then_the_fix_is_decided_on_live_state() -> None:
    from phiguard.core import security_groups

    group_id = group(vpc(), "web")
    authorize(group_id, 22, cidrs=("0.0.0.0/0",))
    engine, inbox = make_engine(Mode.ENFORCE)
    control = get_control("vpc-sg-restricted-ports")
    ref = ResourceRef("AWS::EC2::SecurityGroup", group_id, REGION, ACCOUNT)

    with security_groups.page_rules(Clients(), ACCOUNT, REGION, [group_id], first_page=True):
        ec2 = boto3.client("ec2")
        rule = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group_id]}])
        [world] = [r for r in rule["SecurityGroupRules"] if r.get("CidrIpv4") == "0.0.0.0/0" and not r["IsEgress"]]
        ec2.revoke_security_group_ingress(GroupId=group_id, SecurityGroupRuleIds=[world["SecurityGroupRuleId"]])
        result = engine.run(control(engine.context), ref, None)

    assert result.outcome is Outcome.COMPLIANT  # the page said world-open; live state said fixed already
    assert not inbox.results


def test_a_walk_lists_each_type_once_and_judges_every_resource_once_page_by_page(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(inventory, "PAGE_SIZE", 3)
    ec2 = boto3.client("ec2")
    vpc_id = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    made = {ec2.create_security_group(GroupName=f"g{i}", Description="g", VpcId=vpc_id)["GroupId"] for i in range(8)}
    clients = CountingClients()
    seen: list[str] = []

    _, problems = walker(clients, ids=("vpc-sg-restricted-ports",)).walk(
        lambda control, ref: seen.append(ref.resource_id)
    )

    assert problems == []
    assert made <= set(seen) and len(seen) == len(set(seen))  # every group once (the VPCs' defaults too)
    assert clients.calls.count("DescribeSecurityGroups") == 1  # one listing paged from, not one per page
    assert len(seen) > 2 * 3  # so the walk did take three pages or more
