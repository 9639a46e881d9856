"""Scenarios of rds-instance-public-access-check, against moto state."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from helpers import ACCOUNT, REGION, make_engine, ref
from phiguard.controls.rds_instance_public_access_check import RdsInstancePublicAccessCheck
from phiguard.core.aws import Clients
from phiguard.core.model import Outcome, Result

pytestmark = pytest.mark.usefixtures("aws")
DB = "phi-db"


def instance(**kwargs: Any) -> None:
    boto3.client("rds").create_db_instance(
        DBInstanceIdentifier=DB,
        Engine="postgres",
        DBInstanceClass="db.t3.micro",
        AllocatedStorage=20,
        MasterUsername="phiadmin",
        MasterUserPassword="correct-horse-battery",
        **kwargs,
    )


def set_status(status: str) -> None:
    from moto.rds.models import rds_backends

    rds_backends[ACCOUNT][REGION].databases[DB].status = status


def recorded(operation: str) -> tuple[Clients, list[dict[str, Any]]]:
    """Clients whose calls of `operation` are recorded with the exact parameters sent."""
    clients, calls = Clients(), []
    clients.rds(REGION).meta.events.register(
        f"provide-client-params.rds.{operation}", lambda params, **_: calls.append(dict(params))
    )
    return clients, calls


def run(clients: Clients | None = None) -> Result:
    engine, _ = make_engine(clients=clients)
    return engine.run(RdsInstancePublicAccessCheck(engine.context), ref("AWS::RDS::DBInstance", DB), None)


def public() -> bool:
    return bool(
        boto3.client("rds").describe_db_instances(DBInstanceIdentifier=DB)["DBInstances"][0]["PubliclyAccessible"]
    )


def test_given_a_public_available_instance_then_public_access_is_turned_off_at_once_and_nothing_else() -> None:
    instance(PubliclyAccessible=True)
    clients, calls = recorded("ModifyDBInstance")

    result = run(clients)

    assert result.outcome is Outcome.REMEDIATED
    assert not public()
    assert calls == [{"DBInstanceIdentifier": DB, "PubliclyAccessible": False, "ApplyImmediately": True}]
    assert (result.state_before, result.state_after) == ({"publicly_accessible": True}, {"publicly_accessible": False})


def test_given_a_private_instance_then_compliant_and_left_alone() -> None:
    instance(PubliclyAccessible=False)
    clients, calls = recorded("ModifyDBInstance")

    assert run(clients).outcome is Outcome.COMPLIANT
    assert calls == []


@pytest.mark.parametrize("status", ["creating", "modifying", "backing-up", "stopped"])
def test_given_a_public_instance_not_yet_available_then_the_fix_is_deferred_and_success_not_claimed(
    status: str,
) -> None:
    instance(PubliclyAccessible=True)
    set_status(status)
    clients, calls = recorded("ModifyDBInstance")

    result = run(clients)

    assert result.outcome is Outcome.NEEDS_ATTENTION
    assert calls == [] and public()
    assert "deferred until the instance is available" in result.remaining[0].summary
    assert result.remaining[0].fix is None
    assert result.state_before == {"publicly_accessible": True, "status": status}


def test_given_an_instance_deleted_before_the_event_is_handled_then_not_applicable() -> None:
    assert run().outcome is Outcome.NOT_APPLICABLE


def test_given_a_fix_reverted_then_the_instance_is_public_again() -> None:
    instance(PubliclyAccessible=True)
    result = run()
    control = RdsInstancePublicAccessCheck(make_engine()[0].context)

    assert control.revert(result.resource, result) == ["turned PubliclyAccessible on again (as before the fix)"]
    assert public()
