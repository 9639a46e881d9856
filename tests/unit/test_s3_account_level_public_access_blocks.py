"""Scenarios of s3-account-level-public-access-blocks, against moto state."""

from __future__ import annotations

import boto3
import pytest
from helpers import ACCOUNT, make_engine, ref
from phiguard.controls.s3_account_level_public_access_blocks import S3AccountLevelPublicAccessBlocks
from phiguard.core.model import Outcome, Result

pytestmark = pytest.mark.usefixtures("aws")
ALL_ON = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}


def run() -> Result:
    engine, _ = make_engine()
    return engine.run(S3AccountLevelPublicAccessBlocks(engine.context), ref("AWS::::Account", ACCOUNT), None)


def flags() -> dict[str, bool]:
    return dict(boto3.client("s3control").get_public_access_block(AccountId=ACCOUNT)["PublicAccessBlockConfiguration"])


def test_given_no_account_level_block_then_all_four_flags_are_set() -> None:
    assert run().outcome is Outcome.REMEDIATED
    assert flags() == ALL_ON


def test_given_some_flags_off_then_all_four_are_set() -> None:
    boto3.client("s3control").put_public_access_block(
        AccountId=ACCOUNT, PublicAccessBlockConfiguration={**ALL_ON, "IgnorePublicAcls": False}
    )

    assert "IgnorePublicAcls" in run().violations[0].summary
    assert flags() == ALL_ON


def test_given_all_four_on_then_compliant() -> None:
    boto3.client("s3control").put_public_access_block(AccountId=ACCOUNT, PublicAccessBlockConfiguration=ALL_ON)

    assert run().outcome is Outcome.COMPLIANT
