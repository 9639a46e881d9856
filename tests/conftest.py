"""Every test runs with fake credentials and no endpoint of its own: nothing can reach a real account."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from moto import mock_aws

# Powertools reads these when the handler module is imported, before any fixture runs (as in Lambda).
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "phiguard")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "PHIGuardTest")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

from aws_lambda_powertools.utilities import parameters
from phiguard.handlers import remediate


@pytest.fixture(autouse=True)
def fake_aws_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in (
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ROLE_ARN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "PHIGuardTest")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "phiguard")
    remediate.engine.cache_clear()
    parameters.clear_caches()  # Powertools caches SSM values across tests otherwise
    yield
    remediate.engine.cache_clear()
    parameters.clear_caches()


@pytest.fixture
def aws() -> Iterator[None]:
    """moto in-process for the test."""
    with mock_aws():
        yield
