"""The main job end to end, as `make demo` runs it: moto server, EventBridge routing, the handler."""

from __future__ import annotations

import json
import os
from pathlib import Path
from unittest import mock

import boto3
import pytest
from phiguard_local import demo
from phiguard_local.embedded import embedded_aws

pytestmark = pytest.mark.integration


def run(tmp_path: Path, mode: str) -> dict:  # type: ignore[type-arg]
    with mock.patch.dict(os.environ), embedded_aws() as endpoint:
        assert boto3.client("s3").meta.endpoint_url == endpoint  # never a real account
        return demo.run(tmp_path, mode=mode)


def test_enforce_mode_fixes_every_headline_drift_and_nothing_else(tmp_path: Path) -> None:
    report = run(tmp_path, "enforce")

    assert sorted(d["control_id"] for d in report["drifts"]) == sorted(
        [
            "s3-default-encryption-kms",
            "vpc-sg-restricted-ports",
            "alb-http-to-https-redirection-check",
            "alb-http-to-https-redirection-check",
            "db-no-bastion-access",
        ]
    )
    assert all(d["remediated"] for d in report["drifts"])
    assert report["still_non_compliant"] == 0
    assert report["legitimate_rules_preserved"] is True
    assert report["notifications"] == report["published"] == 5
    assert report["own_calls_ignored"] is True
    assert report["failed_call_routed"] is False
    assert demo.succeeded(report)
    on_disk = json.loads((tmp_path / "report.json").read_text())
    assert on_disk["drifts"] == report["drifts"]
    states = json.loads((tmp_path / "state.json").read_text())
    assert states["after"] == states["baseline"] != states["drifted"]


def test_dry_run_mode_reports_every_drift_and_changes_nothing(tmp_path: Path) -> None:
    report = run(tmp_path, "dry-run")

    assert not any(d["remediated"] for d in report["drifts"])
    assert report["still_non_compliant"] == 5
    assert report["notifications"] == 5
    messages = json.loads((tmp_path / "notifications.json").read_text())
    assert {m["outcome"] for m in messages} == {"would_remediate"}
    states = json.loads((tmp_path / "state.json").read_text())
    assert states["after"] == states["drifted"]
    assert not demo.succeeded(report)
