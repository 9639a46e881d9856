"""Scenarios of db-ingress-from-app-tier-only (notify-only), against moto state."""

from __future__ import annotations

import pytest
from helpers import authorize, group, ingress, make_engine, sg_ref, vpc
from phiguard.controls.db_ingress_from_app_tier_only import DbIngressFromAppTierOnly
from phiguard.core.model import Outcome, Result

pytestmark = pytest.mark.usefixtures("aws")


def run(group_id: str) -> Result:
    engine, _ = make_engine()
    return engine.run(DbIngressFromAppTierOnly(engine.context), sg_ref(group_id), None)


def tiers() -> tuple[str, str, str]:
    v = vpc()
    database, backend = group(v, "database-sg", role="database"), group(v, "backend-sg", role="backend")
    authorize(database, 5432, groups=(backend,))
    return v, database, backend


def test_given_a_cidr_and_a_non_backend_group_admitted_then_each_is_listed_and_nothing_changes() -> None:
    v, database, backend = tiers()
    other = group(v, "reporting-sg")
    authorize(database, 5432, cidrs=("10.20.0.0/16",))
    authorize(database, 5432, groups=(other,))

    result = run(database)

    assert result.outcome is Outcome.NEEDS_ATTENTION
    assert len(result.remaining) == 2
    assert {r[3] for r in ingress(database)} == {backend, other, "10.20.0.0/16"}


def test_given_only_the_backend_group_admitted_then_compliant() -> None:
    _, database, _ = tiers()

    assert run(database).outcome is Outcome.COMPLIANT


def test_given_a_group_that_is_not_a_database_group_then_not_applicable() -> None:
    _, _, backend = tiers()
    authorize(backend, 8080, cidrs=("10.20.0.0/16",))

    assert run(backend).outcome is Outcome.NOT_APPLICABLE


def test_given_a_database_group_named_in_settings_but_deleted_then_not_applicable() -> None:
    engine, _ = make_engine(database_sg_ids=frozenset({"sg-0a1b2c3d4e5f60009"}))
    result = engine.run(DbIngressFromAppTierOnly(engine.context), sg_ref("sg-0a1b2c3d4e5f60009"), None)

    assert result.outcome is Outcome.NOT_APPLICABLE
