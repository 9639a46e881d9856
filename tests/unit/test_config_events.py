"""AWS Config events through the engine, against moto: configuration items and rule compliance changes.

Scenarios:
- Given an item change for a drifted bucket, Then every bucket control re-reads it live and the drift is fixed.
- Given an oversized item change, Then its summary names the resource and it is handled the same way.
- Given an item whose resource is deleted or not recorded, Then nothing runs and nothing is notified.
- Given an item of a type no control judges, Then it is logged and nothing runs.
- Given an AccountPublicAccessBlock item, Then the account-level control runs on the account.
- Given a NON_COMPLIANT change of a conformance pack's copy of a managed rule, Then only that rule's control runs.
- Given a renamed rule, Then it is matched by its source identifier.
- Given a COMPLIANT change, Then nothing runs.
- Given a rule PHI Guard does not know, Then it is logged, nothing runs and nobody is alerted.
- Given DescribeConfigRules is denied, Then the rule is matched by its name, without its conformance pack suffix.
- Given an RDS compliance change naming the DbiResourceId, Then the instance (by identifier) is fixed; when no
  instance has that id, nothing runs.
- Given the account non-compliant with cloudtrail-enabled, Then the trails of the region are evaluated.
- Given the same event delivered twice, Then it is acted on and notified once.
- Given a malformed Config event, Then it is logged and alerted, and not retried.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import boto3
import moto
import pytest
from helpers import (
    ACCOUNT,
    CountingClients,
    FaultyClients,
    authorize,
    evidence_rows,
    group,
    ingress,
    load_event,
    make_engine,
    make_rails_engine,
    rails_tables,
    vpc,
)
from phiguard.core import config_events, trails
from phiguard.core.aws import Clients
from phiguard.core.config_events import controls_for_type, identifier_from_name, identifiers_of, work_from_event
from phiguard.core.control import all_controls, get_control
from phiguard.core.model import Outcome

pytestmark = pytest.mark.usefixtures("aws")
BUCKET = "phi-data-123456789012"
CONFORMANCE_PACK_RULE = "s3-bucket-ssl-requests-only-conformance-pack-abcd1234"
TLS_ONLY = "s3-bucket-ssl-requests-only"


def drifted_bucket(algorithm: str = "AES256") -> None:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_bucket_encryption(
        Bucket=BUCKET,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": algorithm}}]
        },
    )


def encryption() -> str:
    rules = boto3.client("s3").get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]["Rules"]
    return str(rules[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"])


def denies_insecure_transport() -> bool:
    try:
        policy = json.loads(boto3.client("s3").get_bucket_policy(Bucket=BUCKET)["Policy"])
    except boto3.client("s3").exceptions.from_code("NoSuchBucketPolicy"):
        return False
    return any(
        s["Effect"] == "Deny" and "aws:SecureTransport" in json.dumps(s.get("Condition", {}))
        for s in policy["Statement"]
    )


def managed_rule(name: str, identifier: str) -> None:
    boto3.client("config").put_config_rule(
        ConfigRule={"ConfigRuleName": name, "Source": {"Owner": "AWS", "SourceIdentifier": identifier}}
    )


def item_event(**changes: Any) -> dict[str, Any]:
    event = load_event("config-item-change-s3-bucket.json")
    event["detail"]["configurationItem"].update(changes)
    return event


def compliance_event(
    rule: str = CONFORMANCE_PACK_RULE,
    resource_type: str = "AWS::S3::Bucket",
    resource_id: str = BUCKET,
    compliance: str = "NON_COMPLIANT",
    event_id: str | None = None,
) -> dict[str, Any]:
    event = load_event("config-compliance-change-conformance-pack.json")
    detail = event["detail"]
    detail.update(configRuleName=rule, resourceType=resource_type, resourceId=resource_id)
    detail["newEvaluationResult"]["complianceType"] = compliance
    qualifier = detail["newEvaluationResult"]["evaluationResultIdentifier"]["evaluationResultQualifier"]
    qualifier.update(configRuleName=rule, resourceType=resource_type, resourceId=resource_id)
    if event_id:
        event["id"] = event_id
    return event


def logged(caplog: pytest.LogCaptureFixture, key: str) -> list[Any]:
    """The values a structured log key took, in order."""
    return [getattr(r, key) for r in caplog.records if hasattr(r, key)]


def outcomes(results: list[Any]) -> list[tuple[str, Outcome]]:
    return sorted((r.control_id, r.outcome) for r in results)


# --- configuration item changes --------------------------------------------------------------


def test_given_an_item_change_for_a_drifted_bucket_then_every_bucket_control_re_reads_it_and_it_is_fixed() -> None:
    drifted_bucket("AES256")
    engine, inbox = make_engine()
    event = load_event("config-item-change-s3-bucket.json")

    results = engine.handle_event(event)

    assert ("s3-default-encryption-kms", Outcome.REMEDIATED) in outcomes(results)
    assert {r.control_id for r in results} == {
        c.control_id for c in all_controls() if c.resource_type == "AWS::S3::Bucket"
    }
    assert encryption() == "aws:kms"
    actor = results[0].actor
    assert actor is not None
    assert (actor.arn, actor.principal_type, actor.event_id) == ("config.amazonaws.com", "AWSService", event["id"])
    assert actor.event_time == event["detail"]["configurationItem"]["configurationItemCaptureTime"]
    assert len(inbox.results) == len([r for r in results if r.outcome.notified])


def test_given_an_oversized_item_change_then_its_summary_names_the_group_and_the_world_open_ssh_is_revoked() -> None:
    g = group(vpc(), "backend-sg")
    authorize(g, 22, cidrs=("0.0.0.0/0",))
    engine, _ = make_engine()

    results = engine.handle_event(load_event("config-item-change-oversized-security-group.json", backend_sg=g))

    assert ("vpc-sg-restricted-ports", Outcome.REMEDIATED) in outcomes(results)
    assert {r.resource.resource_id for r in results} == {g}
    assert ingress(g) == []


@pytest.mark.parametrize("status", sorted(config_events.NOT_RECORDED))
def test_given_an_item_whose_resource_is_deleted_or_not_recorded_then_nothing_runs(
    status: str, caplog: pytest.LogCaptureFixture
) -> None:
    drifted_bucket("AES256")
    engine, inbox = make_engine()

    assert engine.handle_event(item_event(configurationItemStatus=status)) == []
    assert (inbox.results, inbox.alerts) == ([], [])
    assert encryption() == "AES256"
    assert "the resource is deleted or not recorded" in caplog.text


def test_given_an_item_of_a_type_no_control_judges_then_it_is_logged_and_nothing_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine, inbox = make_engine()

    assert engine.handle_event(item_event(resourceType="AWS::EFS::FileSystem", resourceId="fs-01f0d526165b57f95")) == []
    assert (inbox.results, inbox.alerts) == ([], [])
    assert "no control for this resource type" in caplog.text


def test_given_an_account_public_access_block_item_then_the_account_level_control_runs_on_the_account() -> None:
    engine, _ = make_engine()
    event = item_event(resourceType="AWS::S3::AccountPublicAccessBlock", resourceId=ACCOUNT, resourceName=None)

    [result] = engine.handle_event(event)

    assert (result.control_id, result.outcome) == ("s3-account-level-public-access-blocks", Outcome.REMEDIATED)
    assert (result.resource.resource_type, result.resource.resource_id) == ("AWS::::Account", ACCOUNT)
    block = boto3.client("s3control").get_public_access_block(AccountId=ACCOUNT)["PublicAccessBlockConfiguration"]
    assert all(block.values())


def test_rds_ids_in_items_are_the_identifier_not_the_dbi_resource_id() -> None:
    event = item_event(
        resourceType="AWS::RDS::DBClusterSnapshot",
        resourceId="arn:aws:rds:us-east-1:123456789012:cluster-snapshot:phi-cluster-snap",
        resourceName=None,
    )
    work, _ = work_from_event(event, Clients())
    assert [(c.control_id, r.resource_id) for c, r in work] == [
        ("rds-cluster-snapshots-public-prohibited", "phi-cluster-snap")
    ]

    event = item_event(resourceType="AWS::RDS::DBCluster", resourceId="cluster-ABCDEFGHIJKL", resourceName="phi-db")
    work, _ = work_from_event(event, Clients())
    assert [(c.control_id, r.resource_type, r.resource_id) for c, r in work] == [
        ("rds-storage-encrypted", "AWS::RDS::DBCluster", "phi-db")
    ]


# --- rule compliance changes -----------------------------------------------------------------


def test_given_a_non_compliant_conformance_pack_copy_then_only_that_rules_control_runs() -> None:
    drifted_bucket("AES256")
    managed_rule(CONFORMANCE_PACK_RULE, "S3_BUCKET_SSL_REQUESTS_ONLY")
    engine, inbox = make_engine()

    results = engine.handle_event(load_event("config-compliance-change-conformance-pack.json"))

    assert outcomes(results) == [(TLS_ONLY, Outcome.REMEDIATED)]
    assert denies_insecure_transport()
    assert encryption() == "AES256"  # the other bucket controls were not asked
    assert [r.actor.event_name for r in inbox.results if r.actor] == [
        f"ComplianceChange of rule {CONFORMANCE_PACK_RULE}"
    ]


def test_given_a_renamed_rule_then_it_is_matched_by_its_source_identifier() -> None:
    drifted_bucket()
    managed_rule("phi-buckets-tls-only", "S3_BUCKET_SSL_REQUESTS_ONLY")
    engine, _ = make_engine()

    results = engine.handle_event(compliance_event(rule="phi-buckets-tls-only"))

    assert outcomes(results) == [(TLS_ONLY, Outcome.REMEDIATED)]


def test_given_a_compliant_change_then_nothing_runs(caplog: pytest.LogCaptureFixture) -> None:
    drifted_bucket()
    managed_rule(CONFORMANCE_PACK_RULE, "S3_BUCKET_SSL_REQUESTS_ONLY")
    engine, inbox = make_engine()

    assert engine.handle_event(compliance_event(compliance="COMPLIANT")) == []
    assert (inbox.results, inbox.alerts) == ([], [])
    assert not denies_insecure_transport()
    assert "only NON_COMPLIANT is acted on" in caplog.text


def test_given_a_rule_phi_guard_does_not_know_then_it_is_logged_and_nobody_is_alerted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    drifted_bucket()
    engine, inbox = make_engine()

    assert engine.handle_event(load_event("config-compliance-change-unknown-rule.json")) == []
    assert (inbox.results, inbox.alerts) == ([], [])
    assert "config rule unknown to PHI Guard" in caplog.text
    assert logged(caplog, "identifier") == ["REQUIRED_TAGS", "REQUIRED_TAGS"]  # by its name: moto has no such rule


def test_given_describe_config_rules_is_denied_then_the_rule_is_matched_by_its_name(
    caplog: pytest.LogCaptureFixture,
) -> None:
    drifted_bucket()
    clients = FaultyClients()
    clients.fail("DescribeConfigRules", "AccessDeniedException", "not authorized to perform config:DescribeConfigRules")
    engine, _ = make_engine(clients=clients)

    results = engine.handle_event(load_event("config-compliance-change-conformance-pack.json"))

    assert outcomes(results) == [(TLS_ONLY, Outcome.REMEDIATED)]
    assert clients.injected == 1
    assert "matched by its name instead" in caplog.text
    assert logged(caplog, "problem")[0].startswith("AccessDeniedException")


@pytest.mark.parametrize(
    ("name", "identifier"),
    [
        ("s3-bucket-ssl-requests-only-conformance-pack-abcd1234", "S3_BUCKET_SSL_REQUESTS_ONLY"),
        ("cloudtrail-enabled-conformance-pack-x1y2z3w4", "CLOUD_TRAIL_ENABLED"),
        ("multi-region-cloudtrail-enabled", "MULTI_REGION_CLOUD_TRAIL_ENABLED"),
        ("restricted-ssh", "INCOMING_SSH_DISABLED"),
        ("restricted-common-ports-conformance-pack-0a9b8c7d", "RESTRICTED_INCOMING_TRAFFIC"),
        ("vpc-sg-open-only-to-authorized-ports", "VPC_SG_OPEN_ONLY_TO_AUTHORIZED_PORTS"),
    ],
)
def test_a_rule_name_implies_the_managed_rule_it_was_created_from(name: str, identifier: str) -> None:
    assert identifier_from_name(name) == identifier


def test_the_rule_source_is_read_once_per_rule_for_the_life_of_the_process() -> None:
    drifted_bucket()
    managed_rule(CONFORMANCE_PACK_RULE, "S3_BUCKET_SSL_REQUESTS_ONLY")
    clients = CountingClients()
    engine, _ = make_engine(clients=clients)

    engine.handle_event(compliance_event(event_id="first"))
    engine.handle_event(compliance_event(event_id="second"))

    assert clients.calls.count("DescribeConfigRules") == 1


def public_db() -> str:
    return str(
        boto3.client("rds").create_db_instance(
            DBInstanceIdentifier="phi-db",
            Engine="mysql",
            DBInstanceClass="db.t3.micro",
            AllocatedStorage=20,
            MasterUsername="admin",
            MasterUserPassword="correct-horse-battery",
            PubliclyAccessible=True,
        )["DBInstance"]["DbiResourceId"]
    )


def test_given_an_rds_compliance_change_naming_the_dbi_resource_id_then_the_instance_is_fixed() -> None:
    dbi = public_db()
    managed_rule("rds-instance-public-access-check", "RDS_INSTANCE_PUBLIC_ACCESS_CHECK")
    engine, _ = make_engine()

    [result] = engine.handle_event(compliance_event("rds-instance-public-access-check", "AWS::RDS::DBInstance", dbi))

    assert (result.control_id, result.outcome, result.resource.resource_id) == (
        "rds-instance-public-access-check",
        Outcome.REMEDIATED,
        "phi-db",
    )
    db = boto3.client("rds").describe_db_instances(DBInstanceIdentifier="phi-db")["DBInstances"][0]
    assert db["PubliclyAccessible"] is False


def test_given_a_dbi_resource_id_no_instance_has_then_nothing_runs(caplog: pytest.LogCaptureFixture) -> None:
    managed_rule("rds-instance-public-access-check", "RDS_INSTANCE_PUBLIC_ACCESS_CHECK")
    engine, inbox = make_engine()
    event = compliance_event(
        "rds-instance-public-access-check", "AWS::RDS::DBInstance", "db-M5ENSHXFPU6XHZ4G4ZEI5QIO2U"
    )

    assert engine.handle_event(event) == []
    assert inbox.results == []
    assert "no single DB instance has this resource id" in caplog.text


def test_given_the_account_non_compliant_with_cloudtrail_enabled_then_the_trails_of_the_region_are_evaluated() -> None:
    boto3.client("s3").create_bucket(Bucket="trail-logs-123456789012")
    arn = boto3.client("cloudtrail").create_trail(Name="org-trail", S3BucketName="trail-logs-123456789012")["TrailARN"]
    managed_rule("cloudtrail-enabled", "CLOUD_TRAIL_ENABLED")
    engine, _ = make_engine()

    [result] = engine.handle_event(compliance_event("cloudtrail-enabled", "AWS::::Account", ACCOUNT))

    assert (result.control_id, result.outcome, result.resource.resource_id) == (
        "cloudtrail-enabled",
        Outcome.REMEDIATED,
        arn,
    )
    assert boto3.client("cloudtrail").get_trail_status(Name=arn)["IsLogging"] is True


def test_given_a_rule_on_a_resource_type_its_control_does_not_judge_then_it_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    managed_rule("s3-default-encryption-kms", "S3_DEFAULT_ENCRYPTION_KMS")  # it also judges KMS keys
    engine, _ = make_engine()

    assert engine.handle_event(compliance_event("s3-default-encryption-kms", "AWS::KMS::Key", "1234abcd")) == []
    assert "the rule judged a resource type its controls do not" in caplog.text


def test_a_snapshot_rule_reaches_the_control_of_the_snapshots_kind() -> None:
    managed_rule("rds-snapshots-public-prohibited", "RDS_SNAPSHOTS_PUBLIC_PROHIBITED")
    for resource_type, control_id in (
        ("AWS::RDS::DBSnapshot", "rds-snapshots-public-prohibited"),
        ("AWS::RDS::DBClusterSnapshot", "rds-cluster-snapshots-public-prohibited"),
    ):
        event = compliance_event("rds-snapshots-public-prohibited", resource_type, "phi-snap")
        work, _ = work_from_event(event, Clients())
        assert [(c.control_id, r.resource_id) for c, r in work] == [(control_id, "phi-snap")]


# --- exactly once and bad input --------------------------------------------------------------


def test_given_the_same_compliance_change_twice_then_it_is_acted_on_and_notified_once() -> None:
    rails_tables()
    drifted_bucket()
    managed_rule(CONFORMANCE_PACK_RULE, "S3_BUCKET_SSL_REQUESTS_ONLY")
    engine, inbox = make_rails_engine()
    event = load_event("config-compliance-change-conformance-pack.json")

    first, second = engine.handle_event(event), engine.handle_event(event)

    assert [r.to_json() for r in first] == [r.to_json() for r in second]
    assert outcomes(first) == [(TLS_ONLY, Outcome.REMEDIATED)]
    assert len(inbox.results) == 1
    assert len(evidence_rows()) == 1


def _break(event: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    *parents, last = path.split(".")
    target = event
    for key in parents:
        target = target[key]
    if value is KeyError:
        del target[last]
    else:
        target[last] = value
    return event


@pytest.mark.parametrize(
    ("name", "path", "value"),
    [
        ("config-item-change-s3-bucket.json", "detail", "garbage"),
        ("config-item-change-s3-bucket.json", "detail.messageType", "SomethingElse"),
        ("config-item-change-s3-bucket.json", "detail.configurationItem", ["not", "an", "object"]),
        ("config-item-change-s3-bucket.json", "detail.configurationItem.resourceId", KeyError),
        ("config-item-change-oversized-security-group.json", "detail.configurationItemSummary.resourceType", 7),
        ("config-compliance-change-conformance-pack.json", "detail.newEvaluationResult", KeyError),
        ("config-compliance-change-conformance-pack.json", "detail.newEvaluationResult.complianceType", None),
        ("config-compliance-change-conformance-pack.json", "detail.configRuleName", ""),
        ("config-compliance-change-conformance-pack.json", "detail.resourceId", {"id": BUCKET}),
    ],
)
def test_given_a_malformed_config_event_then_it_is_logged_and_alerted_and_not_retried(
    name: str, path: str, value: Any, caplog: pytest.LogCaptureFixture
) -> None:
    engine, inbox = make_engine()

    assert engine.handle_event(_break(load_event(name), path, value)) == []  # no exception: no retry
    [(subject, _, severity)] = inbox.alerts
    assert ("could not read an event" in subject, severity) == (True, "warning")
    assert "malformed event ignored" in caplog.text


# --- the tables against AWS's list of managed rules ------------------------------------------

MANAGED_RULES: dict[str, Any] = json.loads(
    gzip.decompress((Path(moto.__file__).parent / "config/resources/aws_managed_rules.json.gz").read_bytes())
)["ManagedRules"]  # moto ships AWS Config's managed-rule list, taken from the AWS documentation


def test_every_identifier_is_an_aws_managed_rule() -> None:
    for control in all_controls():
        for identifier in identifiers_of(control):
            assert identifier in MANAGED_RULES, f"{control.control_id}: {identifier} is no AWS managed rule"
    assert set(config_events.RULE_NAMES.values()) <= set(MANAGED_RULES)
    assert set(config_events.IDENTIFIERS) <= {c.control_id for c in all_controls()}


def test_every_managed_rule_judges_a_resource_type_its_control_is_given() -> None:
    for control in all_controls():
        for identifier in identifiers_of(control):
            types = MANAGED_RULES[identifier].get("Resource Types", "AWS::::Account").split(", ")
            reached = any(control in controls_for_type(t)[1] for t in types)
            account_trails = control.resource_type == trails.TRAIL and types == ["AWS::::Account"]
            assert reached or account_trails, f"{identifier} judges {types}; {control.control_id} never sees them"


def test_every_alias_names_registered_controls() -> None:
    for alias in config_events.ALIASES.values():
        assert all(get_control(control_id) for control_id in alias.control_ids)


def test_given_a_region_that_is_not_a_region_name_then_the_event_is_malformed_and_not_retried() -> None:
    engine, inbox = make_engine()
    event = load_event("config-item-change-s3-bucket.json")
    event["detail"]["configurationItem"]["awsRegion"] = "us-east-1; rm -rf"

    assert engine.handle_event(event) == []

    [(subject, text, _)] = inbox.alerts
    assert "could not read" in subject and "not an AWS region name" in text
