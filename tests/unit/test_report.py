"""The compliance report: counts by verdict, grouping by citation and control, and safe renderings."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from html.parser import HTMLParser

import pytest
from phiguard.core.control import all_controls, get_control
from phiguard.core.model import Action, Actor, Finding, Mode, Outcome, ResourceRef, Result, Status, Violation
from phiguard_cli.report import (
    CITATIONS,
    UNKNOWN_TITLE,
    build_report,
    render_html,
    render_json,
    render_markdown,
)

ACCOUNT, REGION = "123456789012", "us-east-1"
NOW = datetime(2026, 12, 3, 17, 15, 0, tzinfo=UTC)
EVIL = '<script>alert("x")</script>|&\'evil'  # a hostile resource id: markup, a table pipe, quotes
ACTOR = Actor(
    arn="arn:aws:sts::123456789012:assumed-role/Admin/jane.doe@example.com",
    principal_type="AssumedRole",
    session_issuer_arn="arn:aws:iam::123456789012:role/Admin",
    event_time="2026-12-01T09:30:00Z",
    event_name="PutBucketVersioning",
    event_id="8f7c1f2e-0001",
)
RDS_STEPS = (
    "Take a snapshot of the instance",
    "Copy the snapshot with encryption on, using the PHI KMS key",
    "Restore the encrypted copy and switch the application to it",
)


def finding(control_id: str, resource_id: str, status: Status | None, *violations: Violation, **fields: str) -> Finding:
    control = get_control(control_id)
    return Finding(
        control_id=control_id,
        title=control.title,
        hipaa=control.hipaa,
        action=control.action,
        resource=ResourceRef(control.resource_type, resource_id, REGION, ACCOUNT),
        status=status,
        violations=violations,
        **fields,  # type: ignore[arg-type]
    )


def result(control_id: str, resource_id: str, outcome: Outcome, changes: tuple[str, ...]) -> Result:
    control = get_control(control_id)
    return Result(
        control_id=control_id,
        title=control.title,
        hipaa=control.hipaa,
        resource=ResourceRef(control.resource_type, resource_id, REGION, ACCOUNT),
        outcome=outcome,
        mode=Mode.ENFORCE,
        actor=ACTOR,
        violations=(Violation("versioning is Suspended", "enable versioning"),),
        changes=changes,
        evidence_id="20261201T093000000000Z-0123456789ab",
    )


def scan() -> list[Finding]:
    return [
        finding("s3-default-encryption-kms", "phi-data-a", Status.COMPLIANT),
        finding(
            "s3-default-encryption-kms",
            "phi-data-b",
            Status.NON_COMPLIANT,
            Violation("default encryption is AES256 (SSE-S3), not SSE-KMS", "PutBucketEncryption aws:kms"),
        ),
        finding(
            "s3-default-encryption-kms",
            EVIL,
            Status.NON_COMPLIANT,
            Violation("rule <b>a|b</b> & 'c' is wrong", "PutBucketEncryption aws:kms"),
        ),
        finding(
            "rds-storage-encrypted",
            "db-1",
            Status.NON_COMPLIANT,
            Violation("storage is not encrypted", None, manual_steps=RDS_STEPS),
        ),
        finding(
            "vpc-sg-restricted-ports",
            "sg-0exempt",
            Status.NON_COMPLIANT,
            Violation("tcp 22 is open to the world (0.0.0.0/0)", "revoke sgr-1"),
            exemption="exempt until 2027-01-01: vendor migration (ticket OPS-12)",
        ),
        finding(
            "vpc-sg-restricted-ports",
            "sg-0denied",
            None,
            error="AccessDenied: ec2:DescribeSecurityGroupRules is not allowed",
        ),
        finding(
            "alb-http-to-https-redirection-check",
            "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/frontend-alb/50dc",
            Status.NON_COMPLIANT,
            Violation("HTTP:80 forwards to frontend-tg", "redirect HTTP:80 to HTTPS:443"),
            Violation(
                "the security groups do not admit 443 from the sources of 80",
                None,
                manual_steps=("Add an ingress rule for tcp 443 from the same sources as tcp 80",),
            ),
        ),
        finding(
            "cmk-backing-key-rotation-enabled",
            "1234abcd-asym",
            Status.NOT_APPLICABLE,
            reason="asymmetric keys cannot rotate automatically",
        ),
    ]


def fixes() -> list[Result]:
    return [
        result("s3-bucket-versioning-enabled", "phi-data-a", Outcome.REMEDIATED, ("enabled versioning",)),
        result("s3-bucket-versioning-enabled", "phi-data-c", Outcome.WOULD_REMEDIATE, ("enable versioning",)),
        result("s3-bucket-versioning-enabled", "phi-data-d", Outcome.FAILED, ()),
    ]


def report() -> dict[str, object]:
    return build_report(scan(), fixes(), generated_at=NOW, account_ids=[ACCOUNT], regions=[REGION])


def by_control(rep: dict[str, object], control_id: str) -> dict[str, object]:
    return next(c for c in rep["by_control"] if c["control_id"] == control_id)  # type: ignore[attr-defined]


def by_citation(rep: dict[str, object], citation: str) -> dict[str, object]:
    return next(c for c in rep["by_citation"] if c["citation"] == citation)  # type: ignore[attr-defined]


# --- counts and grouping --------------------------------------------------------------------------


def test_each_finding_lands_in_its_own_count_and_only_real_fixes_count_as_fixed() -> None:
    rep = report()

    assert rep["summary"] == {
        "compliant": 1,
        "non_compliant": 4,
        "exempt": 1,
        "not_applicable": 1,
        "could_not_evaluate": 1,
        "needs_a_person": 2,  # the notify-only RDS finding and the ALB's closed port
        "auto_fixable": 2,  # the two S3 buckets
        "fixed": 1,  # dry-run and failed results changed nothing
        "checks": 8,
        "resources": 8,
        "controls": len(all_controls()),
        "controls_non_compliant": 3,
    }
    assert rep["posture"] == "non_compliant"
    assert rep["generated_at"] == "2026-12-03T17:15:00Z"
    assert (rep["accounts"], rep["regions"]) == ([ACCOUNT], [REGION])


def test_a_control_lists_its_open_resources_with_what_a_person_must_do() -> None:
    rep = report()

    rds = by_control(rep, "rds-storage-encrypted")
    assert rds["posture"] == "non_compliant"
    [item] = rds["non_compliant"]
    assert item["needs_a_person"] is True
    assert item["what_a_person_must_do"] == [{"summary": "storage is not encrypted", "steps": list(RDS_STEPS)}]

    alb = by_control(rep, "alb-http-to-https-redirection-check")
    [item] = alb["non_compliant"]
    assert item["needs_a_person"] is True
    assert [t["summary"] for t in item["what_a_person_must_do"]] == [
        "the security groups do not admit 443 from the sources of 80"
    ]

    s3 = by_control(rep, "s3-default-encryption-kms")
    assert s3["counts"]["compliant"] == 1
    assert s3["counts"]["non_compliant"] == 2
    assert s3["counts"]["auto_fixable"] == 2
    assert [i["needs_a_person"] for i in s3["non_compliant"]] == [False, False]
    assert [r["id"] for r in s3["compliant"]] == ["phi-data-a"]


def test_exempt_unevaluable_and_not_applicable_findings_are_reported_apart() -> None:
    rep = report()

    sg = by_control(rep, "vpc-sg-restricted-ports")
    assert sg["posture"] == "could_not_evaluate"  # the exempt one does not count as a gap
    assert sg["exempt"][0]["exemption"].startswith("exempt until 2027-01-01")
    assert sg["could_not_evaluate"] == [
        {
            "resource": {
                "type": "AWS::EC2::SecurityGroup",
                "id": "sg-0denied",
                "region": REGION,
                "account_id": ACCOUNT,
            },
            "error": "AccessDenied: ec2:DescribeSecurityGroupRules is not allowed",
        }
    ]
    assert [(c["control_id"], c["resource"]["id"]) for c in rep["could_not_evaluate"]] == [
        ("vpc-sg-restricted-ports", "sg-0denied")
    ]
    key = by_control(rep, "cmk-backing-key-rotation-enabled")
    assert key["posture"] == "not_applicable"
    assert key["not_applicable"][0]["reason"] == "asymmetric keys cannot rotate automatically"


def test_fixes_are_listed_under_their_control_with_changes_and_evidence() -> None:
    rep = report()

    versioning = by_control(rep, "s3-bucket-versioning-enabled")
    assert versioning["counts"]["fixed"] == 1
    assert versioning["fixed"] == [
        {
            "resource": {"type": "AWS::S3::Bucket", "id": "phi-data-a", "region": REGION, "account_id": ACCOUNT},
            "outcome": "remediated",
            "when": "2026-12-01T09:30:00Z",
            "evidence_id": "20261201T093000000000Z-0123456789ab",
            "violations": ["versioning is Suspended"],
            "changes": ["enabled versioning"],
            "remaining": [],
        }
    ]
    assert by_citation(rep, "164.308(a)(7)(ii)(A)")["counts"]["fixed"] == 1


def test_a_partial_fix_that_left_steps_for_a_person_counts_as_fixed() -> None:
    partial = replace(
        result("s3-bucket-versioning-enabled", "phi-data-e", Outcome.NEEDS_ATTENTION, ("enabled versioning",)),
        remaining=(Violation("MFA delete is off", None, manual_steps=("Enable MFA delete as root",)),),
    )

    rep = build_report([], [partial], generated_at=NOW)

    assert rep["summary"]["fixed"] == 1
    [fix] = by_control(rep, "s3-bucket-versioning-enabled")["fixed"]
    assert (fix["outcome"], fix["remaining"]) == ("needs_attention", ["MFA delete is off"])
    assert "enabled versioning<br>left for a person: MFA delete is off" in render_markdown(rep)


def test_citations_group_their_controls_and_add_up_their_counts() -> None:
    rep = report()

    encryption = by_citation(rep, "164.312(a)(2)(iv)")
    assert encryption["title"] == "Encryption and decryption"
    assert encryption["safeguard"] == "Technical safeguards"
    assert {"s3-default-encryption-kms", "rds-storage-encrypted", "alb-http-to-https-redirection-check"} <= set(
        encryption["controls"]
    )
    assert encryption["controls"] == sorted(c.control_id for c in all_controls() if "164.312(a)(2)(iv)" in c.hipaa)
    assert encryption["counts"]["non_compliant"] == 4  # two buckets, the database, the load balancer
    assert encryption["counts"]["compliant"] == 1
    assert encryption["counts"]["not_applicable"] == 1
    assert encryption["posture"] == "non_compliant"

    workforce = by_citation(rep, "164.308(a)(3)(i)")
    assert workforce["counts"]["exempt"] == 1
    assert workforce["counts"]["could_not_evaluate"] == 1
    assert workforce["posture"] == "could_not_evaluate"

    audit = by_citation(rep, "164.312(b)")
    assert audit["title"] == "Audit controls"
    assert audit["posture"] == "no_resources"

    citations = [c["citation"] for c in rep["by_citation"]]
    assert (
        citations.index("164.308(a)(7)(i)") < citations.index("164.308(a)(7)(ii)(A)") < citations.index("164.312(a)(1)")
    )


def test_every_citation_a_registered_control_uses_has_a_title() -> None:
    used = {citation for control in all_controls() for citation in control.hipaa}

    missing = sorted(used - CITATIONS.keys())

    assert not missing, f"add a title to CITATIONS for {missing}"
    assert all(CITATIONS[c][0] and CITATIONS[c][1] in ("standard", "required", "addressable") for c in used)


def test_a_citation_a_deployment_added_is_reported_without_a_title_rather_than_dropped() -> None:
    extended = finding("rds-storage-encrypted", "db-1", Status.COMPLIANT)
    extended = Finding(**{**extended.__dict__, "hipaa": (*extended.hipaa, "164.999(z)")})

    rep = build_report([extended], generated_at=NOW)

    assert by_citation(rep, "164.999(z)")["title"] == UNKNOWN_TITLE
    assert rep["by_citation"][-1]["citation"] == "164.999(z)"
    assert "164.999(z)" in by_control(rep, "rds-storage-encrypted")["hipaa"]


def test_the_scope_limits_the_report_to_the_chosen_controls() -> None:
    rep = build_report(scan(), fixes(), generated_at=NOW, scope=["rds-storage-encrypted"])

    assert [c["control_id"] for c in rep["by_control"]] == ["rds-storage-encrypted"]
    assert rep["scope"] == {"all_controls": False, "controls": ["rds-storage-encrypted"]}
    assert rep["summary"]["checks"] == 1
    assert rep["summary"]["fixed"] == 0
    assert {c["citation"] for c in rep["by_citation"]} == set(get_control("rds-storage-encrypted").hipaa)
    assert "1 selected control(s): rds-storage-encrypted" in render_markdown(rep)


def test_an_unknown_control_in_the_scope_is_refused() -> None:
    with pytest.raises(ValueError, match="no-such-control"):
        build_report([], generated_at=NOW, scope=["no-such-control"])


def test_a_finding_of_a_control_outside_the_catalogue_is_still_reported() -> None:
    stray = Finding(
        control_id="custom-control",
        title="A deployment's own control",
        hipaa=("164.312(b)",),
        action=Action.NOTIFY,
        resource=ResourceRef("AWS::EC2::VPC", "vpc-1", REGION, ACCOUNT),
        status=Status.NON_COMPLIANT,
        violations=(Violation("no flow logs", None),),
    )

    rep = build_report([stray], generated_at=NOW)

    assert by_control(rep, "custom-control")["counts"]["needs_a_person"] == 1
    assert "custom-control" in by_citation(rep, "164.312(b)")["controls"]


def test_an_empty_account_gives_a_valid_report_where_every_control_has_no_resources() -> None:
    rep = build_report([], [], generated_at=NOW, account_ids=[ACCOUNT], regions=[REGION])

    assert rep["posture"] == "no_resources"
    assert rep["summary"]["checks"] == 0
    assert len(rep["by_control"]) == len(all_controls())
    assert {c["posture"] for c in rep["by_control"]} == {"no_resources"}
    assert {c["posture"] for c in rep["by_citation"]} == {"no_resources"}
    assert rep["could_not_evaluate"] == []
    md, page = render_markdown(rep), render_html(rep)
    assert md.count("No resources of this type") == len(all_controls())
    assert page.count("No resources of this type") == len(all_controls())
    assert "Nothing: no open finding needs a person." in md
    assert json.loads(render_json(rep)) == rep
    assert_tables_well_formed(md)
    assert_balanced(page)


def test_a_naive_time_is_taken_as_utc_and_nothing_reads_the_clock() -> None:
    naive = build_report(scan(), generated_at=datetime(2026, 12, 3, 17, 15), since=datetime(2026, 11, 1))

    assert naive["generated_at"] == "2026-12-03T17:15:00Z"
    assert naive["period"] == {"since": "2026-11-01T00:00:00Z", "until": None}
    assert render_html(naive) == render_html(build_report(scan(), generated_at=NOW, since=datetime(2026, 11, 1)))


# --- renderings -----------------------------------------------------------------------------------


def test_json_round_trips_and_renders_the_same_from_a_saved_report() -> None:
    rep = report()

    saved = json.loads(render_json(rep))

    assert saved == rep
    assert render_markdown(saved) == render_markdown(rep)
    assert render_html(saved) == render_html(rep)


def test_html_escapes_every_value_and_references_nothing_outside_the_file() -> None:
    page = render_html(report())

    assert "<script" not in page.lower()
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;|&amp;&#x27;evil" in page
    assert "rule &lt;b&gt;a|b&lt;/b&gt; &amp; &#x27;c&#x27; is wrong" in page
    for external in ("src=", 'href="http', "href='http", "url(", "@import", "<link", "<img", "<iframe"):
        assert external not in page.lower()
    assert all(href.startswith("#") for href in re.findall(r'href="([^"]*)"', page))
    assert_balanced(page)


def test_html_has_a_header_sections_by_citation_and_control_and_print_rules() -> None:
    page = render_html(report())

    for expected in (
        "<!DOCTYPE html>",
        '<meta charset="utf-8">',
        "HIPAA compliance report",
        ACCOUNT,
        REGION,
        "2026-12-03T17:15:00Z",
        '<span class="posture p-non_compliant">Non-compliant</span>',
        "164.312(a)(2)(iv) Encryption and decryption",
        "164.312(e)(1) Transmission security",
        "What a person must do",
        "Copy the snapshot with encryption on, using the PHI KMS key",
        "AccessDenied: ec2:DescribeSecurityGroupRules is not allowed",
        "enabled versioning",
        "@media print",
        "break-before: page",
        "break-inside: avoid",
        "display: table-header-group",
    ):
        assert expected in page, expected
    citations = re.findall(r'<section class="citation" id="([^"]+)">', page)
    assert len(citations) == len(report()["by_citation"])
    assert len(set(citations)) == len(citations)
    assert len(re.findall(r'<section class="control" id="', page)) == len(all_controls())


def test_markdown_tables_stay_well_formed_and_values_are_escaped() -> None:
    md = render_markdown(report())

    assert_tables_well_formed(md)
    assert not re.search(r"(?<!\\)<(?!br>)", md)  # every < is escaped but the line breaks in cells
    assert r"""\<script\>alert("x")\</script\>\|\&'evil""" in md
    assert r"rule \<b\>a\|b\</b\> \& 'c' is wrong" in md
    for expected in (
        "# HIPAA compliance report",
        "**Overall posture:** **Non-compliant**",
        "### 164.312(a)(2)(iv) Encryption and decryption",
        "### rds-storage-encrypted on db-1",
        "  2. Copy the snapshot with encryption on, using the PHI KMS key",
        "a person must act",
        "PHI Guard can fix it (enforce mode)",
    ):
        assert expected in md, expected


def test_a_line_break_in_a_value_does_not_break_a_markdown_table() -> None:
    broken = finding("vpc-sg-restricted-ports", "sg-1", None, error="line one\nline | two\r\nthree")

    md = render_markdown(build_report([broken], generated_at=NOW))

    assert_tables_well_formed(md)
    assert r"line one line \| two three" in md


# --- helpers --------------------------------------------------------------------------------------


def cells(line: str) -> int:
    """The number of unescaped pipes in a table line (a backslash escapes the next character)."""
    count, i = 0, 0
    while i < len(line):
        if line[i] == "\\":
            i += 2
            continue
        count += line[i] == "|"
        i += 1
    return count


def assert_tables_well_formed(md: str) -> None:
    table: list[str] = []
    for line in [*md.splitlines(), ""]:
        if line.startswith("|"):
            table.append(line)
            continue
        if table:
            assert len(table) >= 2, table
            assert re.fullmatch(r"\|(-{3,}:?\|)+", table[1]), table[1]
            widths = {cells(row) for row in table}
            assert len(widths) == 1, table
            assert all(row.endswith(" |") for row in (table[0], *table[2:])), table
            table = []


VOID = {"meta", "br", "hr", "img", "input", "link"}


class _Balance(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.open: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.open[-1:] or 'nothing'}")
        else:
            self.open.pop()


def assert_balanced(page: str) -> None:
    parser = _Balance()
    parser.feed(page)
    parser.close()
    assert not parser.problems, parser.problems[:5]
    assert parser.open == [], parser.open
