"""The HIPAA compliance report of an account: what a scan found, what PHI Guard fixed, what a person must do.

Pure: no AWS calls and no clock. `build_report` makes the JSON report, the one source of truth;
`render_markdown`, `render_html` and `render_json` only present it, so a saved JSON report can be
rendered again later.

Counts are of *checks*: one control on one resource. A resource that several controls judge counts
once per control, and once in every HIPAA citation its controls support.

Scenarios:
- Given a scan with compliant, non-compliant, exempt, not-applicable and unevaluable findings,
  then each lands in its own count, per control, per citation and overall.
- Given a non-compliant finding of a notify-only control, or a violation with no automatic fix,
  then the report says what a person must do (the violation's manual steps).
- Given results PHI Guard recorded as remediated, then they are listed as fixed under their control.
- Given a catalogue control with no finding, then it still appears, as "no resources".
- Given resource ids or messages with markup or table characters, then every rendering shows them
  as text (HTML-escaped; Markdown-escaped, tables intact).
- Given no findings at all, then the report is valid, every control and citation "no resources".
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from phiguard.core.control import Control, all_controls
from phiguard.core.model import Action, Finding, JsonDict, Outcome, ResourceRef, Result, Status, Violation

FORMAT_VERSION = 1
Cell = str | list[str]  # a table cell: one value, or several shown one per line

# The HIPAA Security Rule (45 CFR Part 164 Subpart C): citation -> (short title, kind). The kind is
# "standard", or whether its implementation specification is "required" or "addressable".
CITATIONS: dict[str, tuple[str, str]] = {
    "164.308(a)(1)(i)": ("Security management process", "standard"),
    "164.308(a)(1)(ii)(A)": ("Risk analysis", "required"),
    "164.308(a)(1)(ii)(B)": ("Risk management", "required"),
    "164.308(a)(1)(ii)(C)": ("Sanction policy", "required"),
    "164.308(a)(1)(ii)(D)": ("Information system activity review", "required"),
    "164.308(a)(2)": ("Assigned security responsibility", "standard"),
    "164.308(a)(3)(i)": ("Workforce security", "standard"),
    "164.308(a)(3)(ii)(A)": ("Authorization and/or supervision", "addressable"),
    "164.308(a)(3)(ii)(B)": ("Workforce clearance procedure", "addressable"),
    "164.308(a)(3)(ii)(C)": ("Termination procedures", "addressable"),
    "164.308(a)(4)(i)": ("Information access management", "standard"),
    "164.308(a)(4)(ii)(A)": ("Isolating health care clearinghouse functions", "required"),
    "164.308(a)(4)(ii)(B)": ("Access authorization", "addressable"),
    "164.308(a)(4)(ii)(C)": ("Access establishment and modification", "addressable"),
    "164.308(a)(5)(i)": ("Security awareness and training", "standard"),
    "164.308(a)(5)(ii)(A)": ("Security reminders", "addressable"),
    "164.308(a)(5)(ii)(B)": ("Protection from malicious software", "addressable"),
    "164.308(a)(5)(ii)(C)": ("Log-in monitoring", "addressable"),
    "164.308(a)(5)(ii)(D)": ("Password management", "addressable"),
    "164.308(a)(6)(i)": ("Security incident procedures", "standard"),
    "164.308(a)(6)(ii)": ("Response and reporting", "required"),
    "164.308(a)(7)(i)": ("Contingency plan", "standard"),
    "164.308(a)(7)(ii)(A)": ("Data backup plan", "required"),
    "164.308(a)(7)(ii)(B)": ("Disaster recovery plan", "required"),
    "164.308(a)(7)(ii)(C)": ("Emergency mode operation plan", "required"),
    "164.308(a)(7)(ii)(D)": ("Testing and revision procedures", "addressable"),
    "164.308(a)(7)(ii)(E)": ("Applications and data criticality analysis", "addressable"),
    "164.308(a)(8)": ("Evaluation", "standard"),
    "164.308(b)(1)": ("Business associate contracts and other arrangements", "standard"),
    "164.312(a)(1)": ("Access control", "standard"),
    "164.312(a)(2)(i)": ("Unique user identification", "required"),
    "164.312(a)(2)(ii)": ("Emergency access procedure", "required"),
    "164.312(a)(2)(iii)": ("Automatic logoff", "addressable"),
    "164.312(a)(2)(iv)": ("Encryption and decryption", "addressable"),
    "164.312(b)": ("Audit controls", "standard"),
    "164.312(c)(1)": ("Integrity", "standard"),
    "164.312(c)(2)": ("Mechanism to authenticate electronic protected health information", "addressable"),
    "164.312(d)": ("Person or entity authentication", "standard"),
    "164.312(e)(1)": ("Transmission security", "standard"),
    "164.312(e)(2)(i)": ("Integrity controls", "addressable"),
    "164.312(e)(2)(ii)": ("Encryption", "addressable"),
    "164.314(a)": ("Business associate contracts or other arrangements", "standard"),
    "164.314(a)(1)": ("Business associate contracts or other arrangements", "standard"),
    "164.314(b)(1)": ("Requirements for group health plans", "standard"),
    "164.316(a)": ("Policies and procedures", "standard"),
    "164.316(b)(1)": ("Documentation", "standard"),
}
SAFEGUARDS = {
    "164.308": "Administrative safeguards",
    "164.310": "Physical safeguards",
    "164.312": "Technical safeguards",
    "164.314": "Organizational requirements",
    "164.316": "Policies, procedures and documentation",
}
UNKNOWN_TITLE = "(no title on file for this citation)"

VERDICTS = ("compliant", "non_compliant", "exempt", "not_applicable", "could_not_evaluate")
POSTURES = {  # worst first: the posture of a group of checks is its worst verdict
    "non_compliant": "Non-compliant",
    "could_not_evaluate": "Incomplete: could not evaluate",
    "compliant_with_exemptions": "Compliant, with exemptions",
    "compliant": "Compliant",
    "not_applicable": "Not applicable",
    "no_resources": "No resources",
}
VERDICT_LABELS = {
    "compliant": "Compliant",
    "non_compliant": "Non-compliant",
    "exempt": "Exempt (non-compliant, exempted)",
    "not_applicable": "Not applicable",
    "could_not_evaluate": "Could not evaluate",
}
SCOPE_NOTE = (
    "This report covers the technical controls PHI Guard checks in the accounts and regions above, each "
    "mapped to the HIPAA Security Rule citations (45 CFR Part 164, Subpart C) it supports. It is evidence "
    "for the organisation's own risk analysis, not a substitute for it. Counts are checks: one control on "
    "one resource; a resource judged by several controls counts once per control."
)


def verdict(finding: Finding) -> str:
    """One of VERDICTS: an honoured exemption turns non-compliant into exempt; no status means unevaluable."""
    if finding.status is None:
        return "could_not_evaluate"
    if finding.status is Status.NON_COMPLIANT:
        return "exempt" if finding.exemption else "non_compliant"
    return str(finding.status)


def is_fix(result: Result) -> bool:
    """Whether a recorded result changed the resource: remediated, or partly fixed with steps left for a person."""
    return result.outcome is Outcome.REMEDIATED or (result.outcome is Outcome.NEEDS_ATTENTION and bool(result.changes))


def citation_title(citation: str) -> str:
    return CITATIONS.get(citation, (UNKNOWN_TITLE, ""))[0]


def posture(counts: JsonDict) -> str:
    """The worst verdict among the counts, as a key of POSTURES."""
    if counts.get("non_compliant"):
        return "non_compliant"
    if counts.get("could_not_evaluate"):
        return "could_not_evaluate"
    if counts.get("exempt"):
        return "compliant_with_exemptions"
    if counts.get("compliant"):
        return "compliant"
    if counts.get("not_applicable"):
        return "not_applicable"
    return "no_resources"


# --- the JSON report ------------------------------------------------------------------------------


@dataclass
class _Control:
    control_id: str
    title: str
    action: str
    resource_type: str
    hipaa: list[str]
    findings: list[Finding] = field(default_factory=list)
    fixed: list[Result] = field(default_factory=list)

    def cite(self, citations: Iterable[str]) -> None:
        """Citations a deployment added to a control (findings carry them) join the catalogue's."""
        self.hipaa += [c for c in citations if c not in self.hipaa]


def build_report(
    findings: Iterable[Finding],
    fixed: Iterable[Result] = (),
    *,
    generated_at: datetime,
    account_ids: Sequence[str] = (),
    regions: Sequence[str] = (),
    controls: Sequence[type[Control]] | None = None,
    scope: Sequence[str] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> JsonDict:
    """The compliance report as plain JSON values.

    findings: the scan's verdicts (one per control and resource). fixed: results PHI Guard recorded
    in the period [since, until]; only those that changed something are kept (see is_fix).
    controls: the catalogue (default: every registered control). scope: the control ids the report
    is limited to (None: all); an id outside the catalogue is a ValueError. Accounts and regions
    default to those the findings name.
    """
    catalogue = list(all_controls() if controls is None else controls)
    known = {c.control_id for c in catalogue}
    wanted = None if scope is None else set(scope)
    if wanted is not None and wanted - known:
        raise ValueError(f"unknown control id(s): {', '.join(sorted(wanted - known))}")
    entries = {
        c.control_id: _Control(c.control_id, c.title, str(c.action), c.resource_type, list(c.hipaa))
        for c in catalogue
        if wanted is None or c.control_id in wanted
    }
    findings = [f for f in findings if wanted is None or f.control_id in wanted]
    fixes = [r for r in fixed if is_fix(r) and (wanted is None or r.control_id in wanted)]
    for finding in findings:
        entry = entries.setdefault(
            finding.control_id,
            _Control(
                finding.control_id,
                finding.title,
                str(finding.action),
                finding.resource.resource_type,
                list(finding.hipaa),
            ),
        )
        entry.cite(finding.hipaa)
        entry.findings.append(finding)
    for result in fixes:
        entry = entries.setdefault(
            result.control_id,
            _Control(result.control_id, result.title, str(Action.FIX), result.resource.resource_type, []),
        )
        entry.cite(result.hipaa)
        entry.fixed.append(result)

    by_control = [_control_json(entries[cid]) for cid in sorted(entries)]
    summary = _sum([c["counts"] for c in by_control])
    seen = [f.resource for f in findings] + [r.resource for r in fixes]
    summary["resources"] = len({_order(f.resource) for f in findings})
    summary["controls"] = len(by_control)
    summary["controls_non_compliant"] = sum(1 for c in by_control if c["posture"] == "non_compliant")
    return {
        "report": "PHI Guard HIPAA compliance report",
        "format_version": FORMAT_VERSION,
        "generated_at": _iso(generated_at),
        "accounts": list(account_ids) or sorted({r.account_id for r in seen}),
        "regions": list(regions) or sorted({r.region for r in seen}),
        "scope": {"all_controls": wanted is None, "controls": sorted(entries)},
        "period": {"since": _iso(since) if since else None, "until": _iso(until) if until else None},
        "posture": posture(summary),
        "summary": summary,
        "by_citation": _citations(by_control),
        "by_control": by_control,
        "could_not_evaluate": [
            {"control_id": c["control_id"], "title": c["title"], **item}
            for c in by_control
            for item in c["could_not_evaluate"]
        ],
    }


def _iso(moment: datetime) -> str:
    """UTC, to the second, with a Z; a naive time is taken as UTC."""
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _resource(ref: ResourceRef) -> JsonDict:
    return {"type": ref.resource_type, "id": ref.resource_id, "region": ref.region, "account_id": ref.account_id}


def _order(ref: ResourceRef) -> tuple[str, str, str, str]:
    return (ref.account_id, ref.region, ref.resource_type, ref.resource_id)


def _violation(violation: Violation) -> JsonDict:
    return {"summary": violation.summary, "fix": violation.fix, "manual_steps": list(violation.manual_steps)}


def _for_a_person(finding: Finding) -> list[JsonDict]:
    """The parts of a non-compliant finding PHI Guard does not fix, each with its manual steps."""
    if not finding.violations:
        return [{"summary": finding.reason or "non-compliant; the scan recorded no detail", "steps": []}]
    manual = [v for v in finding.violations if finding.action is Action.NOTIFY or not v.fixable]
    return [{"summary": v.summary, "steps": list(v.manual_steps)} for v in manual]


def _control_json(entry: _Control) -> JsonDict:
    by_verdict: dict[str, list[Finding]] = {v: [] for v in VERDICTS}
    for finding in sorted(entry.findings, key=lambda f: _order(f.resource)):
        by_verdict[verdict(finding)].append(finding)
    open_items = []
    for f in by_verdict["non_compliant"]:
        todo = _for_a_person(f)
        open_items.append(
            {
                "resource": _resource(f.resource),
                "violations": [_violation(v) for v in f.violations],
                "reason": f.reason,
                "needs_a_person": bool(todo),
                "what_a_person_must_do": todo,
            }
        )
    counts: JsonDict = {v: len(by_verdict[v]) for v in VERDICTS}
    counts["needs_a_person"] = sum(1 for item in open_items if item["needs_a_person"])
    counts["auto_fixable"] = counts["non_compliant"] - counts["needs_a_person"]
    counts["fixed"] = len(entry.fixed)
    return {
        "control_id": entry.control_id,
        "title": entry.title,
        "action": entry.action,
        "resource_type": entry.resource_type,
        "hipaa": list(entry.hipaa),
        "posture": posture(counts),
        "counts": counts,
        "non_compliant": open_items,
        "exempt": [
            {
                "resource": _resource(f.resource),
                "exemption": f.exemption,
                "violations": [_violation(v) for v in f.violations],
            }
            for f in by_verdict["exempt"]
        ],
        "could_not_evaluate": [
            {"resource": _resource(f.resource), "error": f.error or "no reason recorded"}
            for f in by_verdict["could_not_evaluate"]
        ],
        "compliant": [_resource(f.resource) for f in by_verdict["compliant"]],
        "not_applicable": [
            {"resource": _resource(f.resource), "reason": f.reason} for f in by_verdict["not_applicable"]
        ],
        "fixed": [
            {
                "resource": _resource(r.resource),
                "outcome": str(r.outcome),
                "when": r.actor.event_time if r.actor else "",
                "evidence_id": r.evidence_id,
                "violations": [v.summary for v in r.violations],
                "changes": list(r.changes),
                "remaining": [v.summary for v in r.remaining],
            }
            for r in sorted(entry.fixed, key=lambda r: (r.actor.event_time if r.actor else "", _order(r.resource)))
        ],
    }


def _sum(all_counts: Iterable[JsonDict]) -> JsonDict:
    total: JsonDict = {k: 0 for k in (*VERDICTS, "needs_a_person", "auto_fixable", "fixed")}
    for counts in all_counts:
        for key in total:
            total[key] += counts[key]
    total["checks"] = sum(total[v] for v in VERDICTS)
    return total


_RANK = {citation: n for n, citation in enumerate(CITATIONS)}


def _citation_order(citation: str) -> tuple[int, str]:
    """The Security Rule's own order; citations without a title last."""
    return (_RANK.get(citation, len(_RANK)), citation)


def _citations(by_control: list[JsonDict]) -> list[JsonDict]:
    members: dict[str, list[JsonDict]] = {}
    for control in by_control:
        for citation in control["hipaa"]:
            members.setdefault(citation, []).append(control)
    out = []
    for citation in sorted(members, key=_citation_order):
        title, kind = CITATIONS.get(citation, (UNKNOWN_TITLE, ""))
        counts = _sum(c["counts"] for c in members[citation])
        out.append(
            {
                "citation": citation,
                "title": title,
                "kind": kind,
                "safeguard": SAFEGUARDS.get(citation.split("(")[0], ""),
                "posture": posture(counts),
                "counts": counts,
                "controls": [c["control_id"] for c in members[citation]],
            }
        )
    return out


def render_json(report: JsonDict) -> str:
    return json.dumps(report, indent=2, ensure_ascii=False) + "\n"


# --- shared wording -------------------------------------------------------------------------------


def _where(resource: JsonDict) -> str:
    return f"{resource['account_id']} / {resource['region']}"


def _list(items: Sequence[str]) -> str:
    return ", ".join(items) if items else "(none)"


def _action_words(action: str) -> str:
    if action == str(Action.FIX):
        return "fix: PHI Guard fixes drift automatically (in enforce mode)"
    return "notify: PHI Guard reports, a person acts"


def _period(report: JsonDict) -> str:
    since, until = report["period"]["since"], report["period"]["until"]
    if since and until:
        return f"{since} to {until}"
    if since:
        return f"since {since}"
    if until:
        return f"up to {until}"
    return "all recorded fixes"


def _scope(report: JsonDict) -> str:
    count = len(report["scope"]["controls"])
    if report["scope"]["all_controls"]:
        return f"all {count} controls"
    return f"{count} selected control(s): {', '.join(report['scope']['controls'])}"


def _headline(report: JsonDict) -> str:
    s = report["summary"]
    return (
        f"{s['non_compliant']} non-compliant ({s['needs_a_person']} need a person, {s['auto_fixable']} fixable "
        f"automatically), {s['could_not_evaluate']} could not be evaluated, {s['exempt']} exempt, "
        f"{s['compliant']} compliant and {s['not_applicable']} not applicable, of {s['checks']} checks on "
        f"{s['resources']} resources. PHI Guard fixed {s['fixed']} in the period."
    )


def _summary_rows(report: JsonDict) -> list[list[Cell]]:
    s = report["summary"]
    rows: list[list[Cell]] = [["All checks (control x resource)", str(s["checks"])]]
    rows += [[VERDICT_LABELS[v], str(s[v])] for v in VERDICTS]
    rows += [
        ["Non-compliant: a person must act", str(s["needs_a_person"])],
        ["Non-compliant: PHI Guard can fix automatically (enforce mode)", str(s["auto_fixable"])],
        ["Fixed by PHI Guard in the period", str(s["fixed"])],
        ["Resources checked", str(s["resources"])],
        ["Controls in scope / non-compliant", f"{s['controls']} / {s['controls_non_compliant']}"],
    ]
    return rows


COUNT_HEADERS = ["Compliant", "Non-compliant", "Exempt", "Not applicable", "Could not evaluate", "Fixed"]
COUNT_KEYS = (*VERDICTS, "fixed")


def _counts(counts: JsonDict) -> list[Cell]:
    return [str(counts[k]) for k in COUNT_KEYS]


def _has_resources(control: JsonDict) -> bool:
    return bool(control["fixed"]) or any(control["counts"][v] for v in VERDICTS)


def _citation_rows(report: JsonDict) -> list[list[Cell]]:
    return [
        [c["citation"], c["title"], POSTURES[c["posture"]], str(len(c["controls"])), *_counts(c["counts"])]
        for c in report["by_citation"]
    ]


def _controls_of(report: JsonDict, citation: JsonDict) -> list[list[Cell]]:
    by_id = {c["control_id"]: c for c in report["by_control"]}
    return [
        [
            cid,
            by_id[cid]["title"],
            by_id[cid]["action"],
            POSTURES[by_id[cid]["posture"]],
            *_counts(by_id[cid]["counts"]),
        ]
        for cid in citation["controls"]
    ]


CITATION_HEADERS = ["Citation", "Standard or specification", "Posture", "Controls", *COUNT_HEADERS]
CONTROL_HEADERS = ["Control", "Title", "Action", "Posture", *COUNT_HEADERS]


def _detail_tables(control: JsonDict) -> list[tuple[str, list[str], list[list[Cell]]]]:
    """A control's resources by verdict: (heading, column headers, rows); the first column is the resource id."""
    tables: list[tuple[str, list[str], list[list[Cell]]]] = []
    where = "Account / region"
    if control["non_compliant"]:
        rows: list[list[Cell]] = [
            [
                i["resource"]["id"],
                _where(i["resource"]),
                [v["summary"] for v in i["violations"]] or [i["reason"]],
                "a person must act" if i["needs_a_person"] else "PHI Guard can fix it (enforce mode)",
            ]
            for i in control["non_compliant"]
        ]
        tables.append(("Non-compliant", ["Resource", where, "Violations", "Remedy"], rows))
    if control["exempt"]:
        rows = [
            [i["resource"]["id"], _where(i["resource"]), i["exemption"], [v["summary"] for v in i["violations"]]]
            for i in control["exempt"]
        ]
        tables.append(("Exempt", ["Resource", where, "Exemption", "Violations"], rows))
    if control["fixed"]:
        rows = [
            [
                i["resource"]["id"],
                _where(i["resource"]),
                i["when"],
                [*i["changes"], *(f"left for a person: {r}" for r in i["remaining"])],
                i["evidence_id"] or "",
            ]
            for i in control["fixed"]
        ]
        tables.append(("Fixed by PHI Guard", ["Resource", where, "Event time", "Changes", "Evidence"], rows))
    if control["could_not_evaluate"]:
        rows = [[i["resource"]["id"], _where(i["resource"]), i["error"]] for i in control["could_not_evaluate"]]
        tables.append(("Could not evaluate", ["Resource", where, "Why"], rows))
    return tables


def _not_applicable(control: JsonDict) -> str:
    return ", ".join(
        f"{i['resource']['id']} ({i['reason']})" if i["reason"] else i["resource"]["id"]
        for i in control["not_applicable"]
    )


def _action_items(report: JsonDict) -> list[tuple[JsonDict, JsonDict]]:
    return [
        (control, item)
        for control in report["by_control"]
        for item in control["non_compliant"]
        if item["needs_a_person"]
    ]


def _citation_label(citation: JsonDict) -> str:
    kind = f", {citation['kind']}" if citation["kind"] else ""
    return f"{citation['safeguard'] or 'HIPAA'}{kind}"


def _control_citations(control: JsonDict) -> str:
    return "; ".join(f"{c} {citation_title(c)}" for c in control["hipaa"]) or "(none)"


# --- Markdown -------------------------------------------------------------------------------------

_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|&~#])")


def _md(text: object) -> str:
    """Text shown as itself on GitHub: Markdown and HTML characters escaped, on one line."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


def _md_cell(cell: Cell) -> str:
    return "<br>".join(_md(c) for c in cell) if isinstance(cell, list) else _md(cell)


def _md_table(headers: list[str], rows: list[list[Cell]], numeric_from: int | None = None) -> list[str]:
    align = ["---:" if numeric_from is not None and i >= numeric_from else "---" for i in range(len(headers))]
    lines = ["| " + " | ".join(_md(h) for h in headers) + " |", "|" + "|".join(align) + "|"]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def render_markdown(report: JsonDict) -> str:
    out = [
        "# HIPAA compliance report",
        "",
        f"- **Accounts:** {_md(_list(report['accounts']))}",
        f"- **Regions:** {_md(_list(report['regions']))}",
        f"- **Generated:** {_md(report['generated_at'])}",
        f"- **Fixes reported:** {_md(_period(report))}",
        f"- **Scope:** {_md(_scope(report))}",
        f"- **Overall posture:** **{_md(POSTURES[report['posture']])}**",
        "",
        _md(_headline(report)),
        "",
        f"> {_md(SCOPE_NOTE)}",
        "",
        "## Summary",
        "",
        *_md_table(["Checks", "Count"], _summary_rows(report), numeric_from=1),
        "## What a person must do",
        "",
    ]
    items = _action_items(report)
    if not items:
        out += ["Nothing: no open finding needs a person.", ""]
    for control, item in items:
        resource = item["resource"]
        out += [
            f"### {_md(control['control_id'])} on {_md(resource['id'])}",
            "",
            f"{_md(control['title'])}. {_md(resource['type'])} in {_md(_where(resource))}. "
            f"HIPAA {_md(', '.join(control['hipaa']))}.",
            "",
        ]
        for todo in item["what_a_person_must_do"]:
            out.append(f"- **{_md(todo['summary'])}**")
            out += [f"  {n}. {_md(step)}" for n, step in enumerate(todo["steps"], 1)]
            if not todo["steps"]:
                out.append("  (no steps on file: see the control's documentation)")
        out.append("")
    out += ["## Could not be evaluated", ""]
    if report["could_not_evaluate"]:
        rows: list[list[Cell]] = [
            [c["control_id"], c["resource"]["id"], _where(c["resource"]), c["error"]]
            for c in report["could_not_evaluate"]
        ]
        out += _md_table(["Control", "Resource", "Account / region", "Why"], rows)
    else:
        out += ["Every check was evaluated.", ""]
    out += _md_citations(report) + _md_controls(report)
    out += ["---", "", f"Generated by PHI Guard at {_md(report['generated_at'])}.", ""]
    return "\n".join(out)


def _md_citations(report: JsonDict) -> list[str]:
    out = ["## By HIPAA citation", "", *_md_table(CITATION_HEADERS, _citation_rows(report), numeric_from=3)]
    for citation in report["by_citation"]:
        out += [
            f"### {_md(citation['citation'])} {_md(citation['title'])}",
            "",
            f"{_md(_citation_label(citation))}. Posture: **{_md(POSTURES[citation['posture']])}**.",
            "",
            *_md_table(CONTROL_HEADERS, _controls_of(report, citation), numeric_from=4),
        ]
    return out


def _md_controls(report: JsonDict) -> list[str]:
    out = ["## By control", ""]
    for c in report["by_control"]:
        out += [
            f"### {_md(c['control_id'])}: {_md(c['title'])}",
            "",
            f"- **Posture:** **{_md(POSTURES[c['posture']])}**",
            f"- **Action:** {_md(_action_words(c['action']))}",
            f"- **Resource type:** {_md(c['resource_type'])}",
            f"- **HIPAA:** {_md(_control_citations(c))}",
            "",
        ]
        if not _has_resources(c):
            out += [f"No resources of this type ({_md(c['resource_type'])}) were checked by this control.", ""]
            continue
        out += _md_table(COUNT_HEADERS, [_counts(c["counts"])], numeric_from=0)
        for heading, headers, rows in _detail_tables(c):
            out += [f"#### {heading}", "", *_md_table(headers, rows)]
        if c["compliant"]:
            out += [f"**Compliant:** {_md(', '.join(r['id'] for r in c['compliant']))}", ""]
        if c["not_applicable"]:
            out += [f"**Not applicable:** {_md(_not_applicable(c))}", ""]
    return out


# --- HTML -----------------------------------------------------------------------------------------

_CSS = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
  color: #1a1a1a; max-width: 1100px; margin: 2rem auto; padding: 0 1.5rem; }
h1 { font-size: 1.7rem; margin: 0 0 .6rem; }
h2 { font-size: 1.3rem; border-bottom: 2px solid #333; padding-bottom: .2rem; margin-top: 2.4rem; }
h3 { font-size: 1.1rem; margin: 1.8rem 0 .4rem; }
h4 { font-size: 1rem; margin: 1rem 0 .3rem; }
table { border-collapse: collapse; width: 100%; margin: .4rem 0 1rem; }
th, td { border: 1px solid #b8b8b8; padding: .3rem .5rem; text-align: left; vertical-align: top;
  overflow-wrap: anywhere; }
th { background: #efefef; }
.n { text-align: right; white-space: nowrap; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1.2rem; margin: 0 0 1rem; }
dl.meta dt { font-weight: 600; }
dl.meta dd { margin: 0; overflow-wrap: anywhere; }
.posture { display: inline-block; padding: 0 .45rem; border: 1px solid; border-radius: 3px; font-weight: 600; }
.p-non_compliant { color: #8a1010; background: #fde8e8; }
.p-could_not_evaluate { color: #6b4200; background: #fff1d0; }
.p-compliant_with_exemptions { color: #3b4800; background: #f2f6da; }
.p-compliant { color: #0b5a1d; background: #e2f4e6; }
.p-not_applicable, .p-no_resources { color: #444; background: #f2f2f2; }
.note { color: #444; font-size: .92em; border-left: 3px solid #999; padding-left: .8rem; }
.id { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: .92em; }
ol.steps { margin: .2rem 0 .6rem 1.4rem; padding: 0; }
ul.todo { padding-left: 1.2rem; }
footer { margin-top: 3rem; color: #555; font-size: .9em; }
@page { margin: 15mm 12mm; }
@media print {
  body { max-width: none; margin: 0; padding: 0; font-size: 10pt; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  nav { display: none; }
  section.citation, #by-citation, #by-control { break-before: page; }
  section.control, section.item, table.keep { break-inside: avoid; }
  h1, h2, h3, h4 { break-after: avoid; }
  thead { display: table-header-group; }
  tr { break-inside: avoid; }
}
"""


def _h(text: object) -> str:
    return html.escape(str(text), quote=True)


def _anchor(prefix: str, text: str) -> str:
    return prefix + re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _badge(key: str) -> str:
    name = key if key in POSTURES else "no_resources"
    return f'<span class="posture p-{name}">{_h(POSTURES.get(key, key))}</span>'


def _html_cell(cell: Cell) -> str:
    return "<br>".join(_h(c) for c in cell) if isinstance(cell, list) else _h(cell)


def _html_table(headers: list[str], rows: list[list[Cell]], numeric_from: int | None = None, ids: int = 0) -> str:
    """Columns from numeric_from on are right-aligned numbers; the first `ids` columns are identifiers."""
    numeric = len(headers) if numeric_from is None else numeric_from
    classes = [' class="n"' if i >= numeric else ' class="id"' if i < ids else "" for i in range(len(headers))]
    head = "".join(f"<th{classes[i] if i >= numeric else ''}>{_h(h)}</th>" for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f"<td{classes[i]}>{_html_cell(c)}</td>" for i, c in enumerate(row)) + "</tr>" for row in rows
    )
    keep = ' class="keep"' if len(rows) <= 20 else ""  # a short table moves to the next page whole
    return f"<table{keep}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def render_html(report: JsonDict) -> str:
    """One self-contained page: inline CSS, no scripts, no external resources; every value escaped."""
    accounts = _list(report["accounts"])
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>HIPAA compliance report: {_h(accounts)} ({_h(report['generated_at'])})</title>",
        f"<style>{_CSS}</style></head><body>",
        '<header><h1>HIPAA compliance report</h1><dl class="meta">',
        f'<dt>Accounts</dt><dd class="id">{_h(accounts)}</dd>',
        f"<dt>Regions</dt><dd>{_h(_list(report['regions']))}</dd>",
        f"<dt>Generated</dt><dd>{_h(report['generated_at'])}</dd>",
        f"<dt>Fixes reported</dt><dd>{_h(_period(report))}</dd>",
        f"<dt>Scope</dt><dd>{_h(_scope(report))}</dd>",
        f"<dt>Overall posture</dt><dd>{_badge(report['posture'])}</dd>",
        "</dl>",
        f"<p>{_h(_headline(report))}</p>",
        f'<p class="note">{_h(SCOPE_NOTE)}</p></header>',
        '<nav><h2>Contents</h2><ul><li><a href="#summary">Summary</a></li>'
        '<li><a href="#todo">What a person must do</a></li>'
        '<li><a href="#unevaluated">Could not be evaluated</a></li>'
        '<li><a href="#by-citation">By HIPAA citation</a></li>'
        '<li><a href="#by-control">By control</a></li></ul></nav>',
        '<section id="summary"><h2>Summary</h2>',
        _html_table(["Checks", "Count"], _summary_rows(report), numeric_from=1),
        "</section>",
        '<section id="todo"><h2>What a person must do</h2>',
    ]
    items = _action_items(report)
    if not items:
        parts.append("<p>Nothing: no open finding needs a person.</p>")
    for control, item in items:
        resource = item["resource"]
        parts.append(
            f'<section class="item"><h3><span class="id">{_h(control["control_id"])}</span> on '
            f'<span class="id">{_h(resource["id"])}</span></h3>'
            f"<p>{_h(control['title'])}. {_h(resource['type'])} in {_h(_where(resource))}. "
            f'HIPAA {_h(", ".join(control["hipaa"]))}.</p><ul class="todo">'
        )
        for todo in item["what_a_person_must_do"]:
            steps = "".join(f"<li>{_h(step)}</li>" for step in todo["steps"])
            steps = (
                f'<ol class="steps">{steps}</ol>'
                if steps
                else "<p>(no steps on file: see the control's documentation)</p>"
            )
            parts.append(f"<li><strong>{_h(todo['summary'])}</strong>{steps}</li>")
        parts.append("</ul></section>")
    parts += ["</section>", '<section id="unevaluated"><h2>Could not be evaluated</h2>']
    if report["could_not_evaluate"]:
        rows: list[list[Cell]] = [
            [c["control_id"], c["resource"]["id"], _where(c["resource"]), c["error"]]
            for c in report["could_not_evaluate"]
        ]
        parts.append(_html_table(["Control", "Resource", "Account / region", "Why"], rows, ids=2))
    else:
        parts.append("<p>Every check was evaluated.</p>")
    parts.append("</section>")
    parts += _html_citations(report) + _html_controls(report)
    parts += [f"<footer>Generated by PHI Guard at {_h(report['generated_at'])}.</footer>", "</body></html>", ""]
    return "\n".join(parts)


def _html_citations(report: JsonDict) -> list[str]:
    parts = [
        '<section id="by-citation"><h2>By HIPAA citation</h2>',
        _html_table(CITATION_HEADERS, _citation_rows(report), numeric_from=3),
    ]
    for citation in report["by_citation"]:
        parts += [
            f'<section class="citation" id="{_anchor("cite-", citation["citation"])}">',
            f"<h3>{_h(citation['citation'])} {_h(citation['title'])}</h3>",
            f"<p>{_h(_citation_label(citation))}. Posture: {_badge(citation['posture'])}</p>",
            _html_table(CONTROL_HEADERS, _controls_of(report, citation), numeric_from=4, ids=1),
            "</section>",
        ]
    return [*parts, "</section>"]


def _html_controls(report: JsonDict) -> list[str]:
    parts = ['<section id="by-control"><h2>By control</h2>']
    for c in report["by_control"]:
        parts += [
            f'<section class="control" id="{_anchor("control-", c["control_id"])}">',
            f'<h3><span class="id">{_h(c["control_id"])}</span>: {_h(c["title"])}</h3>',
            '<dl class="meta">',
            f"<dt>Posture</dt><dd>{_badge(c['posture'])}</dd>",
            f"<dt>Action</dt><dd>{_h(_action_words(c['action']))}</dd>",
            f'<dt>Resource type</dt><dd class="id">{_h(c["resource_type"])}</dd>',
            f"<dt>HIPAA</dt><dd>{_h(_control_citations(c))}</dd>",
            "</dl>",
        ]
        if not _has_resources(c):
            parts += [
                f"<p>No resources of this type ({_h(c['resource_type'])}) were checked by this control.</p>",
                "</section>",
            ]
            continue
        parts.append(_html_table(COUNT_HEADERS, [_counts(c["counts"])], numeric_from=0))
        for heading, headers, rows in _detail_tables(c):
            parts += [f"<h4>{_h(heading)}</h4>", _html_table(headers, rows, ids=1)]
        if c["compliant"]:
            names = ", ".join(r["id"] for r in c["compliant"])
            parts.append(f'<p><strong>Compliant:</strong> <span class="id">{_h(names)}</span></p>')
        if c["not_applicable"]:
            parts.append(f"<p><strong>Not applicable:</strong> {_h(_not_applicable(c))}</p>")
        parts.append("</section>")
    return [*parts, "</section>"]
