"""Scenarios of iam-root-access-key-check, against moto state (moto cannot create root keys: the summary is faked)."""

from __future__ import annotations

from typing import Any

import pytest
from helpers import ACCOUNT, REGION, make_engine, ref
from phiguard.controls.iam_root_access_key_check import IamRootAccessKeyCheck
from phiguard.core.aws import Clients
from phiguard.core.model import Actor, ApiCall, Outcome, Result

pytestmark = pytest.mark.usefixtures("aws")


class RootKeysClients(Clients):
    """moto clients, except that GetAccountSummary reports root access keys."""

    def _client(self, service: str, region: str | None) -> Any:
        fresh = (service, region) not in self._cache
        client = super()._client(service, region)
        if fresh and service == "iam":
            client.meta.events.register("before-call.iam.GetAccountSummary", _summary_with_root_keys)
        return client


def _summary_with_root_keys(**_: Any) -> Any:
    from botocore.awsrequest import AWSResponse

    body = {"SummaryMap": {"AccountAccessKeysPresent": 1, "AccountMFAEnabled": 1}}
    return AWSResponse("https://iam.invalid", 200, {}, None), {**body, "ResponseMetadata": {"HTTPStatusCode": 200}}


def call(principal_type: str) -> ApiCall:
    actor = Actor(f"arn:aws:iam::{ACCOUNT}:root", principal_type, None, "2026-01-01T00:00:00Z", "CreateAccessKey", "e1")
    return ApiCall("aws.iam", "iam.amazonaws.com", "CreateAccessKey", REGION, ACCOUNT, {}, {}, actor)


def run(clients: Clients | None = None) -> Result:
    engine, _ = make_engine(clients=clients)
    return engine.run(IamRootAccessKeyCheck(engine.context), ref("AWS::::Account", ACCOUNT), call("Root").actor)


def test_given_the_root_user_creates_an_access_key_then_a_person_is_told_the_steps() -> None:
    engine, _ = make_engine(clients=RootKeysClients())

    results = engine.handle_call(call("Root"))

    outcome = [r for r in results if r.control_id == IamRootAccessKeyCheck.control_id]
    assert [r.outcome for r in outcome] == [Outcome.NEEDS_ATTENTION]
    assert any("Deactivate the root access keys" in step for step in outcome[0].remaining[0].manual_steps)
    assert outcome[0].resource.resource_id == ACCOUNT


@pytest.mark.parametrize("principal_type", ["IAMUser", "AssumedRole"])
def test_given_an_iam_user_or_role_creates_an_access_key_then_the_control_is_not_triggered(
    principal_type: str,
) -> None:
    (trigger,) = IamRootAccessKeyCheck.triggers

    assert trigger.resources(call(principal_type)) == []
    assert trigger.event_source == "iam.amazonaws.com"


def test_given_no_root_access_keys_then_compliant() -> None:
    assert run().outcome is Outcome.COMPLIANT
