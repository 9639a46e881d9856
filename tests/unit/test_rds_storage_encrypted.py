"""Scenarios of rds-storage-encrypted, against moto state."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from helpers import REGION, make_engine, ref
from phiguard.controls.rds_storage_encrypted import RdsStorageEncrypted
from phiguard.core.aws import Clients
from phiguard.core.model import Outcome, Result

pytestmark = pytest.mark.usefixtures("aws")
DB, CLUSTER = "phi-db", "phi-aurora"
PASSWORD = "correct-horse-battery"


def instance(db_id: str = DB, **kwargs: Any) -> None:
    kwargs.setdefault("Engine", "postgres")
    if "DBClusterIdentifier" not in kwargs:
        kwargs.update(AllocatedStorage=20, MasterUsername="phiadmin", MasterUserPassword=PASSWORD)
    boto3.client("rds").create_db_instance(DBInstanceIdentifier=db_id, DBInstanceClass="db.t3.micro", **kwargs)


def cluster(**kwargs: Any) -> None:
    boto3.client("rds").create_db_cluster(
        DBClusterIdentifier=CLUSTER,
        Engine="aurora-postgresql",
        MasterUsername="phiadmin",
        MasterUserPassword=PASSWORD,
        **kwargs,
    )


def recorded() -> tuple[Clients, list[str]]:
    """Clients that record the name of every RDS call that is not a read."""
    clients, calls = Clients(), []

    def record(model: Any, **_: Any) -> None:
        if not model.name.startswith(("Describe", "List")):
            calls.append(model.name)

    clients.rds(REGION).meta.events.register("before-call.rds.*", record)
    return clients, calls


def run(resource_type: str = "AWS::RDS::DBInstance", resource_id: str = DB, clients: Clients | None = None) -> Result:
    engine, _ = make_engine(clients=clients)
    return engine.run(RdsStorageEncrypted(engine.context), ref(resource_type, resource_id), None)


def test_given_an_unencrypted_instance_then_a_person_gets_the_exact_steps_and_nothing_changes() -> None:
    instance(StorageEncrypted=False)
    clients, calls = recorded()

    result = run(clients=clients)

    assert result.outcome is Outcome.NEEDS_ATTENTION
    assert calls == []
    steps = result.remaining[0].manual_steps
    assert len(steps) == 5
    assert "create-db-snapshot" in steps[0]
    assert "copy-db-snapshot" in steps[1] and "--kms-key-id" in steps[1] and "encrypted" in steps[1]
    assert "restore-db-instance-from-db-snapshot" in steps[2]
    assert "endpoint" in steps[3]
    assert "Retire the old instance only after verifying" in steps[4]


def test_given_an_unencrypted_cluster_then_the_same_steps_at_cluster_level() -> None:
    cluster(StorageEncrypted=False)

    result = run("AWS::RDS::DBCluster", CLUSTER)

    assert result.outcome is Outcome.NEEDS_ATTENTION
    steps = result.remaining[0].manual_steps
    assert "create-db-cluster-snapshot" in steps[0] and "copy-db-cluster-snapshot" in steps[1]
    assert "restore-db-cluster-from-snapshot" in steps[2]


def test_given_encrypted_storage_then_compliant() -> None:
    instance(StorageEncrypted=True)
    cluster(StorageEncrypted=True)

    assert run().outcome is Outcome.COMPLIANT
    assert run("AWS::RDS::DBCluster", CLUSTER).outcome is Outcome.COMPLIANT


def test_given_a_cluster_member_then_not_applicable_as_the_cluster_is_judged() -> None:
    cluster(StorageEncrypted=False)
    instance("phi-aurora-1", Engine="aurora-postgresql", DBClusterIdentifier=CLUSTER)

    result = run(resource_id="phi-aurora-1")

    assert result.outcome is Outcome.NOT_APPLICABLE
    assert CLUSTER in result.reason


def test_given_an_instance_or_cluster_deleted_before_the_event_is_handled_then_not_applicable() -> None:
    assert run().outcome is Outcome.NOT_APPLICABLE
    assert run("AWS::RDS::DBCluster", CLUSTER).outcome is Outcome.NOT_APPLICABLE
