"""Scenarios of rds-snapshots-public-prohibited, against moto state."""

from __future__ import annotations

import boto3
import pytest
from helpers import make_engine, ref
from phiguard.controls.rds_snapshots_public_prohibited import RdsSnapshotsPublicProhibited
from phiguard.core.model import Outcome, Result

pytestmark = pytest.mark.usefixtures("aws")
DB, SNAPSHOT, PARTNER = "phi-db", "phi-db-2026-03-01", "111122223333"


def snapshot(*shared_with: str) -> None:
    rds = boto3.client("rds")
    rds.create_db_instance(
        DBInstanceIdentifier=DB,
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        MasterUsername="phiadmin",
        MasterUserPassword="correct-horse-battery",
    )
    rds.create_db_snapshot(DBSnapshotIdentifier=SNAPSHOT, DBInstanceIdentifier=DB)
    if shared_with:
        rds.modify_db_snapshot_attribute(
            DBSnapshotIdentifier=SNAPSHOT, AttributeName="restore", ValuesToAdd=list(shared_with)
        )


def shares() -> list[str]:
    attributes = boto3.client("rds").describe_db_snapshot_attributes(DBSnapshotIdentifier=SNAPSHOT)[
        "DBSnapshotAttributesResult"
    ]["DBSnapshotAttributes"]
    return sorted(v for a in attributes if a["AttributeName"] == "restore" for v in a["AttributeValues"])


def run() -> Result:
    engine, _ = make_engine()
    return engine.run(RdsSnapshotsPublicProhibited(engine.context), ref("AWS::RDS::DBSnapshot", SNAPSHOT), None)


def test_given_a_snapshot_shared_with_all_then_it_is_private_again() -> None:
    snapshot("all")

    assert run().outcome is Outcome.REMEDIATED
    assert shares() == []


def test_given_a_snapshot_shared_with_all_and_an_account_then_only_all_is_removed() -> None:
    snapshot("all", PARTNER)

    result = run()

    assert result.outcome is Outcome.REMEDIATED
    assert shares() == [PARTNER]
    assert result.state_before == {"restore_shared_with": [PARTNER, "all"]}
    assert result.changes == ('remove "all" from the restore attribute; the 1 account(s) it is shared with stay',)


@pytest.mark.parametrize("shared_with", [(), (PARTNER,)])
def test_given_a_snapshot_private_or_shared_with_named_accounts_then_compliant(shared_with: tuple[str, ...]) -> None:
    snapshot(*shared_with)

    assert run().outcome is Outcome.COMPLIANT
    assert shares() == list(shared_with)


def test_given_a_snapshot_deleted_before_the_event_is_handled_then_not_applicable() -> None:
    assert run().outcome is Outcome.NOT_APPLICABLE


def test_given_a_fix_reverted_then_the_snapshot_is_public_again() -> None:
    snapshot("all", PARTNER)
    result = run()

    RdsSnapshotsPublicProhibited(make_engine()[0].context).revert(result.resource, result)

    assert shares() == [PARTNER, "all"]
