"""`make bench` in miniature: one metric at a tiny size, PHI Guard's side only (Custodian and the
10,000-resource runs belong to `make bench`, never to `make test`)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from unittest import mock

import pytest
from phiguard_local.bench import run

pytestmark = pytest.mark.integration


def test_a_tiny_sweep_writes_its_row_and_fixes_every_drift(tmp_path: Path) -> None:
    with mock.patch.dict(os.environ):  # the bench sets the deployment's settings in its own environment
        assert run.main(["--only", "sweep", "--sizes", "20", "--no-custodian", "--out", str(tmp_path)]) == 0

    [row] = json.loads((tmp_path / "results.json").read_text())
    assert row["metric"] == "sweep_resources_per_second:20"
    assert row["phiguard"] > 0
    assert (row["custodian"], row["unit"], row["advantage"]) == (None, "resources/s", None)
    sweep = json.loads((tmp_path / "details.json").read_text())["sweeps"]["20"]
    assert sweep["phiguard"]["fixed"] == {"buckets": 1, "groups": 1, "drifted": 2}
    assert sweep["phiguard"]["outcomes"]["remediated"] == 2


def test_each_headline_drift_is_fixed_by_its_event_within_its_request_budget(tmp_path: Path) -> None:
    with mock.patch.dict(os.environ):
        assert run.main(["--only", "events", "--events", "2", "--no-custodian", "--out", str(tmp_path)]) == 0

    events = json.loads((tmp_path / "details.json").read_text())["events"]
    # Requests to the remediated service per event today; a change that adds some shows here first.
    budget = {
        "s3-default-encryption-kms": 4,
        "vpc-sg-restricted-ports": 5,
        "db-no-bastion-access": 6,
        "alb-http-to-https-redirection-check": 8,
    }
    assert set(events) == set(budget)
    for control_id, measured in events.items():
        phiguard = measured["phiguard"]
        assert (phiguard["fixed"], phiguard["errors"]) == (2, []), control_id
        assert phiguard["service_calls"]["max"] <= budget[control_id], control_id
