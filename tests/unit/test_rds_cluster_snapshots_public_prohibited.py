"""Scenarios of rds-cluster-snapshots-public-prohibited, against moto state."""

from __future__ import annotations

import boto3
import pytest
from helpers import make_engine, ref
from phiguard.controls.rds_cluster_snapshots_public_prohibited import RdsClusterSnapshotsPublicProhibited
from phiguard.core.model import Outcome, Result

pytestmark = pytest.mark.usefixtures("aws")
CLUSTER, SNAPSHOT, PARTNER = "phi-aurora", "phi-aurora-2026-03-01", "111122223333"


def snapshot(*shared_with: str) -> None:
    rds = boto3.client("rds")
    rds.create_db_cluster(
        DBClusterIdentifier=CLUSTER,
        Engine="aurora-postgresql",
        MasterUsername="phiadmin",
        MasterUserPassword="correct-horse-battery",
    )
    rds.create_db_cluster_snapshot(DBClusterSnapshotIdentifier=SNAPSHOT, DBClusterIdentifier=CLUSTER)
    if shared_with:
        rds.modify_db_cluster_snapshot_attribute(
            DBClusterSnapshotIdentifier=SNAPSHOT, AttributeName="restore", ValuesToAdd=list(shared_with)
        )


def shares() -> list[str]:
    attributes = boto3.client("rds").describe_db_cluster_snapshot_attributes(DBClusterSnapshotIdentifier=SNAPSHOT)[
        "DBClusterSnapshotAttributesResult"
    ]["DBClusterSnapshotAttributes"]
    return sorted(v for a in attributes if a["AttributeName"] == "restore" for v in a["AttributeValues"])


def run() -> Result:
    engine, _ = make_engine()
    control = RdsClusterSnapshotsPublicProhibited(engine.context)
    return engine.run(control, ref("AWS::RDS::DBClusterSnapshot", SNAPSHOT), None)


def test_given_a_cluster_snapshot_shared_with_all_and_an_account_then_only_all_is_removed() -> None:
    snapshot("all", PARTNER)

    result = run()

    assert result.outcome is Outcome.REMEDIATED
    assert shares() == [PARTNER]
    assert result.state_after == {"restore_shared_with": [PARTNER]}


@pytest.mark.parametrize("shared_with", [(), (PARTNER,)])
def test_given_a_cluster_snapshot_private_or_shared_with_named_accounts_then_compliant(
    shared_with: tuple[str, ...],
) -> None:
    snapshot(*shared_with)

    assert run().outcome is Outcome.COMPLIANT
    assert shares() == list(shared_with)


def test_given_a_cluster_snapshot_deleted_before_the_event_is_handled_then_not_applicable() -> None:
    assert run().outcome is Outcome.NOT_APPLICABLE


def test_given_a_fix_reverted_then_the_cluster_snapshot_is_public_again() -> None:
    snapshot("all", PARTNER)
    result = run()

    RdsClusterSnapshotsPublicProhibited(make_engine()[0].context).revert(result.resource, result)

    assert shares() == [PARTNER, "all"]
