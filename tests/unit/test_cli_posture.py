"""`phiguard scan`, `fix`, `report` and `controls` against moto state.

Scenarios
- Given a compliant selection, scan exits 0; given a drift, 1; given something that cannot be evaluated, 2.
- Given a notify-only finding, scan exits 1 (people must act on it too).
- scan --format json lists every finding; --control limits it; an unknown control id is a usage error.
- fix --dry-run shows resource, control and exact change, and changes nothing.
- fix without --yes and without a terminal refuses; fix --yes fixes, records evidence where a table is
  configured and says so when none is.
- report writes md, html and json grouped by citation and control, with the fixes from the evidence table.
- controls lists the catalogue.
"""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest
from helpers import EVIDENCE_TABLE, FaultyClients, authorize, evidence_rows, group, rails_tables, vpc
from phiguard.core.control import all_controls
from phiguard_cli import posture
from phiguard_cli.main import main

pytestmark = pytest.mark.usefixtures("aws")
BUCKET = "phi-plain"
ONLY_S3 = ("--control", "s3-bucket-versioning-enabled", "--control", "s3-default-encryption-kms")


def phiguard(*args: str) -> int:
    return main(["--region", "us-east-1", *args])


def versioning() -> str:
    return str(boto3.client("s3").get_bucket_versioning(Bucket=BUCKET).get("Status", "off"))


def drifted_bucket() -> None:
    boto3.client("s3").create_bucket(Bucket=BUCKET)


def test_given_an_empty_selection_then_scan_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    assert phiguard("scan", *ONLY_S3) == 0
    assert "0 check(s)" in capsys.readouterr().out


def test_given_a_drift_then_scan_exits_1_and_lists_it(capsys: pytest.CaptureFixture[str]) -> None:
    drifted_bucket()

    assert phiguard("scan", *ONLY_S3) == 1

    out = capsys.readouterr().out
    assert "non_compliant" in out and BUCKET in out and "s3-bucket-versioning-enabled" in out
    assert versioning() == "off"  # read-only


def test_given_a_notify_only_finding_then_scan_exits_1() -> None:
    boto3.client("ec2").create_volume(AvailabilityZone="us-east-1a", Size=8)

    assert phiguard("scan", "--control", "encrypted-volumes") == 1


def test_given_something_that_cannot_be_evaluated_then_scan_exits_2_even_with_drifts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    drifted_bucket()
    faulty = FaultyClients()
    faulty.fail("GetBucketEncryption", "AccessDenied", "Access Denied")
    monkeypatch.setattr("phiguard_cli.main.Clients", lambda session: faulty)

    assert phiguard("scan", *ONLY_S3) == 2

    assert "s3:GetEncryptionConfiguration" in capsys.readouterr().out  # names the permission


def test_scan_json_lists_every_finding_of_the_chosen_controls(capsys: pytest.CaptureFixture[str]) -> None:
    drifted_bucket()

    phiguard("scan", *ONLY_S3, "--format", "json")

    document = json.loads(capsys.readouterr().out)
    assert document["exit_status"] == 1
    assert sorted(f["control_id"] for f in document["findings"]) == [
        "s3-bucket-versioning-enabled",
        "s3-default-encryption-kms",
    ]
    assert document["counts"] == {"non_compliant": 2}


def test_an_unknown_control_id_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert phiguard("scan", "--control", "no-such-control") == 2
    assert "unknown control id(s): no-such-control" in capsys.readouterr().err


def test_fix_dry_run_shows_the_exact_change_and_changes_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    drifted_bucket()

    assert phiguard("fix", "--control", "s3-bucket-versioning-enabled", "--dry-run") == 0

    out = capsys.readouterr().out
    assert f"fix  {BUCKET} (us-east-1)  s3-bucket-versioning-enabled:" in out
    assert versioning() == "off"


def test_fix_without_confirmation_refuses(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    drifted_bucket()
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)

    assert phiguard("fix", "--control", "s3-bucket-versioning-enabled") == 2

    assert "add --yes" in capsys.readouterr().err
    assert versioning() == "off"


def test_fix_yes_fixes_and_records_evidence_where_a_table_is_configured(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rails_tables()
    drifted_bucket()
    monkeypatch.setenv("PHIGUARD_EVIDENCE_TABLE", EVIDENCE_TABLE)

    assert phiguard("fix", "--control", "s3-bucket-versioning-enabled", "--yes") == 0

    out = capsys.readouterr().out
    assert versioning() == "Enabled"
    assert f"recorded in table {EVIDENCE_TABLE}" in out and "NOT sent: no topic configured" in out
    [row] = evidence_rows()
    assert row["outcome"] == "remediated" and row["event_name"] == "phiguard fix"


def test_fix_yes_without_a_table_says_evidence_is_not_recorded(capsys: pytest.CaptureFixture[str]) -> None:
    drifted_bucket()

    assert phiguard("fix", "--control", "s3-bucket-versioning-enabled", "--yes") == 0

    assert "NOT recorded: no evidence table configured" in capsys.readouterr().out
    assert versioning() == "Enabled"


def test_report_in_every_format_with_the_fixes_from_the_evidence(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rails_tables()
    drifted_bucket()
    g = group(vpc(), "web")
    authorize(g, 22, cidrs=("0.0.0.0/0",))
    monkeypatch.setenv("PHIGUARD_EVIDENCE_TABLE", EVIDENCE_TABLE)
    phiguard("fix", "--control", "vpc-sg-restricted-ports", "--yes")

    for fmt in ("md", "html", "json"):
        assert phiguard("report", *ONLY_S3, "--control", "vpc-sg-restricted-ports", "--format", fmt,
                        "--output", str(tmp_path / f"r.{fmt}")) == 0  # fmt: skip

    document = json.loads((tmp_path / "r.json").read_text())
    controls = {c["control_id"]: c for c in document["by_control"]}
    assert set(controls) == {"s3-bucket-versioning-enabled", "s3-default-encryption-kms", "vpc-sg-restricted-ports"}
    assert document["summary"]["fixed"] == 1
    assert BUCKET in (tmp_path / "r.md").read_text()
    html = (tmp_path / "r.html").read_text()
    assert html.startswith("<!DOCTYPE html>") and "164.312" in html


def test_controls_lists_the_catalogue(capsys: pytest.CaptureFixture[str]) -> None:
    assert phiguard("controls", "--format", "json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["control_id"] for r in rows] == [c.control_id for c in all_controls()]
    assert phiguard("controls") == 0
    assert f"{len(rows)} controls" in capsys.readouterr().out


def test_the_exit_status_rule() -> None:
    assert posture.exit_status([]) == 0


def test_reverting_an_account_wide_fix_is_refused_until_its_exemption_is_listed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    rails_tables()
    iam = boto3.client("iam")
    iam.update_account_password_policy(MinimumPasswordLength=6)
    monkeypatch.setenv("PHIGUARD_EVIDENCE_TABLE", EVIDENCE_TABLE)
    assert phiguard("fix", "--control", "iam-password-policy", "--yes") == 0
    [row] = evidence_rows()
    fixed_length = iam.get_account_password_policy()["PasswordPolicy"]["MinimumPasswordLength"]

    assert phiguard("revert", row["evidence_id"], "--reason", "CHG-9", "--yes", "--table", EVIDENCE_TABLE) == 2

    assert "--exempted-elsewhere" in capsys.readouterr().err
    assert iam.get_account_password_policy()["PasswordPolicy"]["MinimumPasswordLength"] == fixed_length
    assert len(evidence_rows()) == 1  # nothing was attempted, nothing recorded
    assert phiguard("revert", row["evidence_id"], "--reason", "CHG-9", "--yes", "--table", EVIDENCE_TABLE,
                    "--exempted-elsewhere") == 0  # fmt: skip
    assert iam.get_account_password_policy()["PasswordPolicy"]["MinimumPasswordLength"] == 6
