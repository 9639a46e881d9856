"""Scenarios of rds-instance-deletion-protection-enabled, against moto state."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from helpers import ACCOUNT, REGION, make_engine, ref
from phiguard.controls.rds_instance_deletion_protection_enabled import RdsInstanceDeletionProtectionEnabled
from phiguard.core.aws import Clients
from phiguard.core.model import Outcome, Result

pytestmark = pytest.mark.usefixtures("aws")
DB, CLUSTER, MEMBER = "phi-db", "phi-aurora", "phi-aurora-1"
PASSWORD = "correct-horse-battery"


def instance(db_id: str = DB, **kwargs: Any) -> None:
    kwargs.setdefault("Engine", "postgres")
    if "DBClusterIdentifier" not in kwargs:
        kwargs.update(AllocatedStorage=20, MasterUsername="phiadmin", MasterUserPassword=PASSWORD)
    boto3.client("rds").create_db_instance(DBInstanceIdentifier=db_id, DBInstanceClass="db.t3.micro", **kwargs)


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
    return engine.run(RdsInstanceDeletionProtectionEnabled(engine.context), ref("AWS::RDS::DBInstance", db_id), None)


def protected() -> bool:
    return bool(
        boto3.client("rds").describe_db_instances(DBInstanceIdentifier=DB)["DBInstances"][0]["DeletionProtection"]
    )


def test_given_an_instance_without_deletion_protection_then_it_is_turned_on_at_once() -> None:
    instance(DeletionProtection=False)
    clients, calls = recorded("ModifyDBInstance", "ModifyDBCluster")

    result = run(clients=clients)

    assert result.outcome is Outcome.REMEDIATED
    assert protected()
    assert calls == [
        ("ModifyDBInstance", {"DBInstanceIdentifier": DB, "DeletionProtection": True, "ApplyImmediately": True})
    ]


def test_given_deletion_protection_on_then_compliant_and_left_alone() -> None:
    instance(DeletionProtection=True)
    clients, calls = recorded("ModifyDBInstance", "ModifyDBCluster")

    assert run(clients=clients).outcome is Outcome.COMPLIANT
    assert calls == []


def test_given_an_aurora_member_then_the_cluster_is_protected_and_the_change_names_it() -> None:
    boto3.client("rds").create_db_cluster(
        DBClusterIdentifier=CLUSTER, Engine="aurora-postgresql", MasterUsername="phiadmin", MasterUserPassword=PASSWORD
    )
    instance(MEMBER, Engine="aurora-postgresql", DBClusterIdentifier=CLUSTER)
    clients, calls = recorded("ModifyDBInstance", "ModifyDBCluster")

    result = run(MEMBER, clients)

    assert result.outcome is Outcome.REMEDIATED
    assert result.resource.resource_id == MEMBER
    assert calls == [
        ("ModifyDBCluster", {"DBClusterIdentifier": CLUSTER, "DeletionProtection": True, "ApplyImmediately": True})
    ]
    assert CLUSTER in result.changes[0]
    assert boto3.client("rds").describe_db_clusters(DBClusterIdentifier=CLUSTER)["DBClusters"][0]["DeletionProtection"]


def test_given_an_instance_still_being_created_then_the_fix_is_deferred() -> None:
    instance(DeletionProtection=False)
    set_status("creating")
    clients, calls = recorded("ModifyDBInstance", "ModifyDBCluster")

    result = run(clients=clients)

    assert result.outcome is Outcome.NEEDS_ATTENTION
    assert calls == [] and not protected()
    assert "deferred until the instance is available" in result.remaining[0].summary


def test_given_an_instance_deleted_before_the_event_is_handled_then_not_applicable() -> None:
    assert run().outcome is Outcome.NOT_APPLICABLE


def test_given_a_fix_reverted_then_deletion_protection_is_off_again() -> None:
    instance(DeletionProtection=False)
    result = run()

    RdsInstanceDeletionProtectionEnabled(make_engine()[0].context).revert(result.resource, result)

    assert not protected()
