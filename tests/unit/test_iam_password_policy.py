"""Scenarios of iam-password-policy, against moto state."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from helpers import ACCOUNT, make_engine, ref
from phiguard.controls.iam_password_policy import IamPasswordPolicy
from phiguard.core.model import Mode, Outcome, Result

pytestmark = pytest.mark.usefixtures("aws")

BASELINE = {
    "MinimumPasswordLength": 14,
    "RequireUppercaseCharacters": True,
    "RequireLowercaseCharacters": True,
    "RequireNumbers": True,
    "RequireSymbols": True,
    "MaxPasswordAge": 90,
    "PasswordReusePrevention": 24,
}


def run(mode: Mode = Mode.ENFORCE) -> Result:
    engine, _ = make_engine(mode)
    return engine.run(IamPasswordPolicy(engine.context), ref("AWS::::Account", ACCOUNT), None)


def policy() -> dict[str, Any] | None:
    try:
        return dict(boto3.client("iam").get_account_password_policy()["PasswordPolicy"])
    except boto3.client("iam").exceptions.NoSuchEntityException:
        return None


def test_given_no_password_policy_then_the_baseline_policy_is_set() -> None:
    result = run()

    assert result.outcome is Outcome.REMEDIATED
    assert BASELINE.items() <= (policy() or {}).items()
    assert (policy() or {})["AllowUsersToChangePassword"] is True


def test_given_a_weaker_policy_then_only_weak_settings_are_raised_and_the_rest_is_kept() -> None:
    boto3.client("iam").update_account_password_policy(
        MinimumPasswordLength=20,
        RequireUppercaseCharacters=True,
        RequireSymbols=False,
        MaxPasswordAge=30,
        PasswordReusePrevention=5,
        AllowUsersToChangePassword=False,
        HardExpiry=True,
    )

    result = run()

    assert result.outcome is Outcome.REMEDIATED
    now = policy() or {}
    assert now["MinimumPasswordLength"] == 20  # stronger: kept
    assert now["MaxPasswordAge"] == 30  # stronger: kept
    assert now["PasswordReusePrevention"] == 24
    assert now["RequireSymbols"] and now["RequireNumbers"] and now["RequireLowercaseCharacters"]
    assert (now["AllowUsersToChangePassword"], now["HardExpiry"]) == (False, True)
    assert sorted(result.changes) == sorted(
        [
            "set RequireLowercaseCharacters to True",
            "set RequireNumbers to True",
            "set RequireSymbols to True",
            "set PasswordReusePrevention to 24",
        ]
    )


def test_given_passwords_that_never_expire_then_they_expire_after_90_days() -> None:
    boto3.client("iam").update_account_password_policy(
        **{k: v for k, v in BASELINE.items() if k != "MaxPasswordAge"}, AllowUsersToChangePassword=True
    )

    result = run()

    assert result.outcome is Outcome.REMEDIATED
    assert result.changes == ("set MaxPasswordAge to 90",)
    assert (policy() or {})["MaxPasswordAge"] == 90


def test_given_a_policy_meeting_the_baseline_then_compliant() -> None:
    boto3.client("iam").update_account_password_policy(**BASELINE)

    assert run().outcome is Outcome.COMPLIANT


def test_given_dry_run_then_nothing_is_set() -> None:
    result = run(Mode.DRY_RUN)

    assert result.outcome is Outcome.WOULD_REMEDIATE
    assert policy() is None


def test_given_a_fix_reverted_then_the_previous_policy_is_back_exactly() -> None:
    boto3.client("iam").update_account_password_policy(
        MinimumPasswordLength=8, RequireNumbers=True, AllowUsersToChangePassword=True, HardExpiry=True
    )
    before = policy()
    result = run()
    engine, _ = make_engine()

    IamPasswordPolicy(engine.context).revert(result.resource, result)

    assert policy() == before


def test_given_a_fix_reverted_where_there_was_no_policy_then_it_is_deleted() -> None:
    result = run()
    engine, _ = make_engine()

    IamPasswordPolicy(engine.context).revert(result.resource, result)

    assert policy() is None
