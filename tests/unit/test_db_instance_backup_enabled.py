"""Scenarios of db-instance-backup-enabled, against moto state."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from helpers import ACCOUNT, REGION, make_engine, ref
from phiguard.controls.db_instance_backup_enabled import DbInstanceBackupEnabled
from phiguard.core.aws import Clients
from phiguard.core.control import NotRevertible
from phiguard.core.model import Outcome, Result

pytestmark = pytest.mark.usefixtures("aws")
DB, CLUSTER, MEMBER = "phi-db", "phi-aurora", "phi-aurora-1"
PASSWORD = "correct-horse-battery"


def instance(db_id: str = DB, **kwargs: Any) -> None:
    kwargs.setdefault("Engine", "postgres")
    if "DBClusterIdentifier" not in kwargs:
        kwargs.update(AllocatedStorage=20, MasterUsername="phiadmin", MasterUserPassword=PASSWORD)
    boto3.client("rds").create_db_instance(DBInstanceIdentifier=db_id, DBInstanceClass="db.t3.micro", **kwargs)


def aurora(retention: int = 1) -> None:
    boto3.client("rds").create_db_cluster(
        DBClusterIdentifier=CLUSTER,
        Engine="aurora-postgresql",
        MasterUsername="phiadmin",
        MasterUserPassword=PASSWORD,
        BackupRetentionPeriod=retention,
    )
    instance(MEMBER, Engine="aurora-postgresql", DBClusterIdentifier=CLUSTER)


def set_status(status: str) -> None:
    from moto.rds.models import rds_backends

    rds_backends[ACCOUNT][REGION].databases[DB].status = status


def recorded(*operations: str) -> tuple[Clients, list[tuple[str, dict[str, Any]]]]:
    clients, calls = Clients(), []
    for operation in operations:
        clients.rds(REGION).meta.events.register(
            f"provide-client-params.rds.{operation}",
            lambda params, model, **_: calls.append((model.name, dict(params))),
        )
    return clients, calls


def run(db_id: str = DB, clients: Clients | None = None) -> Result:
    engine, _ = make_engine(clients=clients)
    return engine.run(DbInstanceBackupEnabled(engine.context), ref("AWS::RDS::DBInstance", db_id), None)


def retention() -> int:
    return int(
        boto3.client("rds").describe_db_instances(DBInstanceIdentifier=DB)["DBInstances"][0]["BackupRetentionPeriod"]
    )


@pytest.mark.parametrize("days", [0, 1, 6])
def test_given_backups_kept_fewer_than_7_days_then_retention_is_set_to_7_at_once(days: int) -> None:
    instance(BackupRetentionPeriod=days)
    clients, calls = recorded("ModifyDBInstance", "ModifyDBCluster")

    result = run(clients=clients)

    assert result.outcome is Outcome.REMEDIATED
    assert retention() == 7
    assert calls == [
        ("ModifyDBInstance", {"DBInstanceIdentifier": DB, "BackupRetentionPeriod": 7, "ApplyImmediately": True})
    ]
    assert result.state_before == {"backup_retention_period": days}


def test_given_backups_kept_14_days_then_compliant_and_never_shortened() -> None:
    instance(BackupRetentionPeriod=14)
    clients, calls = recorded("ModifyDBInstance", "ModifyDBCluster")

    assert run(clients=clients).outcome is Outcome.COMPLIANT
    assert calls == [] and retention() == 14


def test_given_an_aurora_member_then_the_cluster_is_modified_and_the_change_names_it() -> None:
    aurora(retention=1)
    clients, calls = recorded("ModifyDBInstance", "ModifyDBCluster")

    result = run(MEMBER, clients)

    assert result.outcome is Outcome.REMEDIATED
    assert result.resource.resource_id == MEMBER
    assert calls == [
        ("ModifyDBCluster", {"DBClusterIdentifier": CLUSTER, "BackupRetentionPeriod": 7, "ApplyImmediately": True})
    ]
    assert CLUSTER in result.changes[0]
    cluster = boto3.client("rds").describe_db_clusters(DBClusterIdentifier=CLUSTER)["DBClusters"][0]
    assert cluster["BackupRetentionPeriod"] == 7


def test_given_an_aurora_member_whose_cluster_is_busy_then_the_fix_is_deferred() -> None:
    from moto.rds.models import rds_backends

    aurora(retention=1)
    rds_backends[ACCOUNT][REGION].clusters[CLUSTER].status = "modifying"
    clients, calls = recorded("ModifyDBInstance", "ModifyDBCluster")

    result = run(MEMBER, clients)

    assert result.outcome is Outcome.NEEDS_ATTENTION
    assert calls == []
    assert "deferred until the cluster is available (it is modifying)" in result.remaining[0].summary


def test_given_an_instance_still_being_created_then_the_fix_is_deferred() -> None:
    instance(BackupRetentionPeriod=1)
    set_status("creating")
    clients, calls = recorded("ModifyDBInstance", "ModifyDBCluster")

    result = run(clients=clients)

    assert result.outcome is Outcome.NEEDS_ATTENTION
    assert calls == [] and retention() == 1
    assert "deferred until the instance is available" in result.remaining[0].summary


def test_given_an_instance_deleted_before_the_event_is_handled_then_not_applicable() -> None:
    assert run().outcome is Outcome.NOT_APPLICABLE


def test_given_a_fix_reverted_then_the_shorter_retention_is_back_but_never_zero() -> None:
    instance(BackupRetentionPeriod=3)
    result = run()
    control = DbInstanceBackupEnabled(make_engine()[0].context)

    control.revert(result.resource, result)

    assert retention() == 3
    with pytest.raises(NotRevertible):
        control.revert(
            result.resource, Result.from_json({**result.to_json(), "state_before": {"backup_retention_period": 0}})
        )
