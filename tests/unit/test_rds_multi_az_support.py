"""Scenarios of rds-multi-az-support, against moto state (moto applies every modification at once, so the
scheduling is checked on the parameters sent and on the finding)."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from helpers import ACCOUNT, REGION, make_engine, ref
from phiguard.controls.rds_multi_az_support import RdsMultiAzSupport
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


def set_status(status: str) -> None:
    from moto.rds.models import rds_backends

    rds_backends[ACCOUNT][REGION].databases[DB].status = status


def recorded(operation: str) -> tuple[Clients, list[dict[str, Any]]]:
    clients, calls = Clients(), []
    clients.rds(REGION).meta.events.register(
        f"provide-client-params.rds.{operation}", lambda params, **_: calls.append(dict(params))
    )
    return clients, calls


def run(db_id: str = DB, clients: Clients | None = None, **settings: Any) -> Result:
    engine, _ = make_engine(clients=clients, **settings)
    return engine.run(RdsMultiAzSupport(engine.context), ref("AWS::RDS::DBInstance", db_id), None)


def multi_az() -> bool:
    return bool(boto3.client("rds").describe_db_instances(DBInstanceIdentifier=DB)["DBInstances"][0]["MultiAZ"])


def test_given_a_single_az_instance_then_multi_az_is_scheduled_for_the_maintenance_window() -> None:
    instance(MultiAZ=False)
    clients, calls = recorded("ModifyDBInstance")

    result = run(clients=clients)

    assert result.outcome is Outcome.REMEDIATED
    assert calls == [{"DBInstanceIdentifier": DB, "MultiAZ": True, "ApplyImmediately": False}]
    assert "maintenance window" in result.changes[0]
    assert result.violations[0].detail == {"scheduled": True}
    assert multi_az()  # moto applies it at once; AWS would in the window


def test_given_a_multi_az_instance_then_compliant_and_left_alone() -> None:
    instance(MultiAZ=True)
    clients, calls = recorded("ModifyDBInstance")

    assert run(clients=clients).outcome is Outcome.COMPLIANT
    assert calls == []


def test_given_the_multi_az_fix_turned_off_in_the_settings_then_a_person_is_told_the_steps() -> None:
    instance(MultiAZ=False)
    clients, calls = recorded("ModifyDBInstance")

    result = run(clients=clients, rds_multi_az_fix=False)

    assert result.outcome is Outcome.NEEDS_ATTENTION
    assert calls == [] and not multi_az()
    assert result.remaining[0].fix is None
    assert any("--multi-az --no-apply-immediately" in step for step in result.remaining[0].manual_steps)


def test_given_a_single_az_instance_still_being_created_then_the_fix_is_deferred() -> None:
    instance(MultiAZ=False)
    set_status("creating")
    clients, calls = recorded("ModifyDBInstance")

    result = run(clients=clients)

    assert result.outcome is Outcome.NEEDS_ATTENTION
    assert calls == [] and not multi_az()
    assert "deferred until the instance is available" in result.remaining[0].summary


def test_given_an_aurora_instance_then_not_applicable_because_the_cluster_spans_zones() -> None:
    boto3.client("rds").create_db_cluster(
        DBClusterIdentifier=CLUSTER, Engine="aurora-postgresql", MasterUsername="phiadmin", MasterUserPassword=PASSWORD
    )
    instance("phi-aurora-1", Engine="aurora-postgresql", DBClusterIdentifier=CLUSTER)

    result = run("phi-aurora-1")

    assert result.outcome is Outcome.NOT_APPLICABLE
    assert "Aurora" in result.reason


def test_given_an_instance_deleted_before_the_event_is_handled_then_not_applicable() -> None:
    assert run().outcome is Outcome.NOT_APPLICABLE
