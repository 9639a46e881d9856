"""The main job end to end, as `make demo` runs it: moto server, EventBridge routing, the handler."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any
from unittest import mock

import boto3
import pytest
from phiguard.core.control import all_controls
from phiguard_local import demo
from phiguard_local.embedded import embedded_aws

pytestmark = pytest.mark.integration


def run(tmp_path: Path, mode: str) -> dict[str, Any]:
    with mock.patch.dict(os.environ), embedded_aws() as endpoint:
        assert boto3.client("s3").meta.endpoint_url == endpoint  # never a real account
        return demo.run(tmp_path, mode=mode)


def test_enforce_mode_fixes_every_headline_drift_leaves_the_exempt_one_and_brakes_a_burst(tmp_path: Path) -> None:
    report = run(tmp_path, "enforce")

    drifts = report["drifts"]
    fixes = [d for d in drifts if d["action"] == "fix" and not d["exempt"]]
    notify = [d for d in drifts if d["action"] == "notify"]
    [exempt] = [d for d in drifts if d["exempt"]]
    assert {
        "s3-default-encryption-kms",
        "vpc-sg-restricted-ports",
        "alb-http-to-https-redirection-check",
        "db-no-bastion-access",
    } <= {d["control_id"] for d in fixes}  # the headline drifts
    assert {d["control_id"] for d in drifts} == {c.control_id for c in all_controls()}  # one drift per control
    assert all(d["remediated"] for d in fixes)
    assert not any(d["remediated"] for d in notify)
    assert exempt["remediated"] is False
    assert report["exempt_left_alone"] is True
    assert [d["control_id"] for d in drifts if d["scheduled"]] == ["rds-multi-az-support"]
    assert report["exemptions_honoured"] == 1
    assert report["fixable_left"] == 0
    assert report["still_non_compliant"] == len(notify)
    assert report["legitimate_rules_preserved"] is True
    brake = report["brake"]
    assert (brake["burst"], brake["fixed"], brake["held"]) == (brake["limit"] + 2, brake["limit"], 2)
    assert (brake["critical_alerts"], brake["fixed_after_window"]) == (1, 2)
    # The sweep found the drift no event reported: its fix is a message, the rest one summary alert.
    sweep = report["sweep"]
    assert sweep["unreported_drift_fixed"] is True and sweep["done"] is True
    assert sweep["fixed"] == ["s3-bucket-versioning-enabled phi-data-123456789012"]
    noted = {"remediated", "needs_attention", "exempt", "held", "failed"}
    assert sweep["evidence_rows"] == sum(n for o, n in sweep["outcomes"].items() if o in noted)
    # At least one message per drift (a notify-only finding is reported again by later events on its resource).
    notified = report["expected_notifications"] - 2 - len(sweep["fixed"])  # the event path: not the two alerts
    assert notified >= len(fixes) + len(notify) + 1 + brake["burst"] + 2  # + the exempt one; the burst; the window
    assert report["notifications"] == report["published"] == report["expected_notifications"]
    assert report["evidence_rows"] - sweep["evidence_rows"] == notified  # every notified outcome of the events
    assert report["own_calls_ignored"] is True
    assert report["failed_call_routed"] is False
    assert demo.succeeded(report)
    on_disk = json.loads((tmp_path / "report.json").read_text())
    assert on_disk["drifts"] == report["drifts"]
    states = json.loads((tmp_path / "state.json").read_text())
    assert demo._legitimate(states["after"]) == demo._legitimate(states["baseline"])
    assert states["after"] != states["drifted"]
    assert len(json.loads((tmp_path / "evidence.json").read_text())) == report["evidence_rows"]
    for suffix in ("md", "html", "json"):
        assert (tmp_path / f"compliance-report.{suffix}").stat().st_size > 1000
    compliance = json.loads((tmp_path / "compliance-report.json").read_text())
    assert compliance["summary"]["fixed"] >= len(fixes)
    assert report["checks"]["their_bucket_policy_statements_kept"] is True
    check_channels(tmp_path, report)


def test_dry_run_mode_reports_every_drift_and_changes_nothing(tmp_path: Path) -> None:
    report = run(tmp_path, "dry-run")

    assert not any(d["remediated"] for d in report["drifts"])
    fixes = [d for d in report["drifts"] if d["action"] == "fix" and not d["exempt"]]
    notify = [d for d in report["drifts"] if d["action"] == "notify"]
    assert report["still_non_compliant"] == len(fixes) + len(notify)  # the exempt drift stays by design
    messages = json.loads((tmp_path / "notifications.json").read_text())
    # Several drifts of one trail each send one UpdateTrail event that every trail control reads: count by control.
    outcomes = {(m["control_id"], m["outcome"]) for m in messages}
    assert outcomes == {(d["control_id"], "would_remediate") for d in fixes} | {
        (d["control_id"], "needs_attention") for d in notify
    } | {("s3-default-encryption-kms", "exempt")}
    states = json.loads((tmp_path / "state.json").read_text())
    assert states["after"] == states["drifted"]
    assert not demo.succeeded(report)
    check_channels(tmp_path, report)


# What each outcome reads like: the e-mail's first line and the start of the Slack header.
READS = {
    "remediated": ("PHI Guard fixed a HIPAA baseline drift.", ":white_check_mark: Fixed: "),
    "would_remediate": ("PHI Guard found a HIPAA baseline drift (dry", ":large_yellow_circle: Would fix (dry-run): "),
    "needs_attention": ("PHI Guard found a HIPAA baseline drift that needs a person.", ":warning: Action needed: "),
    "exempt": ("PHI Guard found a HIPAA baseline drift on an exempt resource", ":white_circle: Exempt: "),
    "held": ("PHI Guard held a fix", ":octagonal_sign: Held by the brake: "),
    "failed": ("PHI Guard could not fix", ":x: FAILED to fix: "),
}


def check_channels(out: Path, report: dict[str, Any]) -> None:
    """Every published message reached both channels, and each reads as its outcome (the SQS subscriber's copy)."""
    channels = report["channels"]
    assert channels["slack"] == channels["email"] == channels["published"] == report["published"]
    emails = sorted((out / "email").glob("*.txt"))
    posts = sorted((out / "slack").glob("*.json"))
    assert [p.stem for p in posts] == [e.stem for e in emails] and len(emails) == channels["published"]
    messages = json.loads((out / "notifications.json").read_text())
    read: dict[str, int] = {}
    for email, post in zip(emails, posts, strict=True):
        text, header = email.read_text(), json.loads(post.read_bytes())["blocks"][0]["text"]["text"]
        outcome = next((o for o, (line, _) in READS.items() if text.startswith(line)), None)
        if outcome is None:  # an alert about PHI Guard itself
            assert email.stem.endswith("-alert") and "PHI Guard alert (" in header, email
            continue
        read[outcome] = read.get(outcome, 0) + 1
        control = email.stem.split("-", 1)[1]
        assert header == READS[outcome][1] + control, (email, header)  # both channels tell the same outcome
        assert f"Control:    {control} (" in text and "Console:    https://console.aws.amazon.com/" in text
        assert "Severity:   " in text and "Before / after, in short" in text
    outcomes = [m["outcome"] for m in messages if "outcome" in m]
    assert read == {o: outcomes.count(o) for o in set(outcomes)}  # as many of each as the SQS subscriber got
    alerts = [m for m in messages if m.get("kind") == "alert"]
    assert len([e for e in emails if e.stem.endswith("-alert")]) == len(alerts)
