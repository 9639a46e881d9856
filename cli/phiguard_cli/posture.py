"""`phiguard scan`, `fix`, `report` and `controls`: the account's HIPAA posture, read-only unless asked.

scan exits 0 when every evaluated resource is compliant, 1 when any is not (notify-only findings too), 2
when something could not be evaluated (2 wins over 1), so it can gate a pipeline.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from phiguard.core.aws import Clients
from phiguard.core.control import Context, Control, all_controls
from phiguard.core.engine import Engine
from phiguard.core.evidence import DynamoEvidence, result_of
from phiguard.core.model import Action, Actor, Finding, Mode, Outcome, ResourceRef, Result, Status
from phiguard.core.settings import Settings, SettingsError
from phiguard.core.sweep import Problem, Walker
from phiguard.notify.sns import SnsPublisher
from tqdm import tqdm

from phiguard_cli import report as compliance


class UsageError(Exception):
    """A problem the user can fix (bad option, missing confirmation): exit status 2."""


@dataclass(frozen=True)
class Deployment:
    """Where a hand-run fix takes its settings from, and where it records and tells."""

    settings: Settings
    source: str  # said to the user: which settings were used


def register(commands: Any) -> None:
    scan = commands.add_parser("scan", help="read-only evaluation of the account (exit 0 compliant, 1 not, 2 error)")
    _scope_options(scan)
    scan.add_argument("--format", choices=("table", "json"), default="table")
    scan.add_argument("--all", action="store_true", help="list compliant resources too")
    scan.set_defaults(command=scan_command)

    fix = commands.add_parser("fix", help="fix what scan finds, through the same controls (enforce mode)")
    _scope_options(fix)
    fix.add_argument("--dry-run", action="store_true", help="show the plan (resource, control, change) only")
    fix.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    fix.set_defaults(command=fix_command)

    report = commands.add_parser("report", help="HIPAA compliance report grouped by citation and control")
    _scope_options(report)
    report.add_argument("--format", choices=("md", "html", "json"), default="md")
    report.add_argument("--output", help="write to this file instead of standard output")
    report.add_argument("--days", type=int, default=30, help="fixes of the last N days from the evidence table")
    report.set_defaults(command=report_command)

    controls = commands.add_parser("controls", help="the control catalogue")
    controls.add_argument("--format", choices=("table", "json"), default="table")
    controls.set_defaults(command=controls_command)


def _scope_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--control", action="append", help="only this control id (repeatable)")
    command.add_argument(
        "--regions",
        help="comma-separated regions to walk (default: $PHIGUARD_SWEEP_REGIONS, else the session's region)",
    )
    command.add_argument(
        "--stack",
        help="a deployed PHI Guard stack: use its function's settings, evidence table and topic "
        "(default: the PHIGUARD_* environment)",
    )


# --- what to walk ---------------------------------------------------------------------------------------


def chosen_controls(ids: Sequence[str] | None) -> list[type[Control]]:
    catalogue = all_controls()
    if not ids:
        return catalogue
    known = {c.control_id: c for c in catalogue}
    unknown = [i for i in ids if i not in known]
    if unknown:
        raise UsageError(f"unknown control id(s): {', '.join(unknown)}; `phiguard controls` lists them")
    return [known[i] for i in dict.fromkeys(ids)]


def deployment(args: argparse.Namespace, session: boto3.session.Session) -> Deployment:
    try:
        if not args.stack:
            return Deployment(Settings.from_env(), "the PHIGUARD_* environment")
        stack = session.client("cloudformation").describe_stacks(StackName=args.stack)["Stacks"][0]
        outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
        function = outputs.get("RemediationFunctionName")
        if not function:
            raise UsageError(f"stack {args.stack!r} has no RemediationFunctionName output")
        config = session.client("lambda").get_function_configuration(FunctionName=function)
        env = config.get("Environment", {}).get("Variables", {})
        return Deployment(Settings.from_env(env), f"the settings of {function} (stack {args.stack})")
    except SettingsError as e:
        raise UsageError(f"settings: {e}") from e
    except ClientError as e:
        raise UsageError(f"cannot read stack {args.stack!r}: {e}") from e


def regions(args: argparse.Namespace, settings: Settings, session: boto3.session.Session) -> list[str]:
    if args.regions:
        try:
            return list(Settings.from_env({"PHIGUARD_SWEEP_REGIONS": args.regions}).sweep_regions)
        except SettingsError as e:
            raise UsageError(str(e).replace("PHIGUARD_SWEEP_REGIONS", "--regions")) from e
    if settings.sweep_regions:
        return list(settings.sweep_regions)
    if not session.region_name:
        raise UsageError("no region: pass --region or --regions, or set AWS_REGION")
    return [session.region_name]


def walker(args: argparse.Namespace, clients: Clients, session: boto3.session.Session, settings: Settings) -> Walker:
    account_id = clients.sts(session.region_name).get_caller_identity()["Account"]
    return Walker(clients, account_id, regions(args, settings, session), chosen_controls(args.control),
                  settings.sweep_concurrency)  # fmt: skip


def scan_account(engine: Engine, walk: Walker, progress: bool = True) -> tuple[list[Finding], list[Problem]]:
    """Every resource of the chosen controls' types, judged read-only; listing problems as findings too."""
    with tqdm(desc="scanning", unit=" checks", disable=None if progress else True, file=sys.stderr) as bar:
        findings, problems = walk.walk(
            lambda control, ref: engine.assess(control(engine.context), ref), on_page=bar.update
        )
    unlisted = [
        Finding(c.control_id, c.title, c.hipaa, c.action, ResourceRef(p.resource_type, "*", p.region, walk.account_id),
                None, error=p.error)
        for p in problems if not p.skipped_region
        for c in walk.controls if p.resource_type in c.swept_types()
    ]  # fmt: skip
    return findings + unlisted, problems


def exit_status(findings: Sequence[Finding]) -> int:
    if any(f.status is None for f in findings):
        return 2
    return 1 if any(f.status is Status.NON_COMPLIANT and not f.exemption for f in findings) else 0


def _engine(settings: Settings, clients: Clients, *, record: bool) -> Engine:
    """Enforce mode, no brake (a person asked for these fixes); evidence and messages where configured."""
    from phiguard.core.wiring import evidence_store

    settings = replace(settings, mode=Mode.ENFORCE)
    notifier = SnsPublisher(clients, settings.topic_arn if record else None)
    return Engine(Context(settings, clients), notifier, evidence=evidence_store(settings, clients) if record else None)


# --- scan -----------------------------------------------------------------------------------------------


def scan_command(args: argparse.Namespace, clients: Clients, session: boto3.session.Session) -> int:
    settings = deployment(args, session).settings
    walk = walker(args, clients, session, settings)
    findings, problems = scan_account(_engine(settings, clients, record=False), walk)
    status = exit_status(findings)
    if args.format == "json":
        print(json.dumps(scan_json(findings, problems, walk, status), indent=2, default=str))
    else:
        sys.stdout.write(render_table(findings, problems, show_all=args.all))
    return status


def scan_json(findings: Sequence[Finding], problems: Sequence[Problem], walk: Walker, status: int) -> dict[str, Any]:
    return {
        "account_id": walk.account_id,
        "regions": walk.regions,
        "exit_status": status,
        "counts": counts(findings),
        "findings": [f.to_json() for f in findings],
        "skipped_regions": [p.region for p in problems if p.skipped_region],
        "event_only_controls": [c.control_id for c in walk.event_only],
    }


def verdict(finding: Finding) -> str:
    if finding.status is None:
        return "error"
    if finding.exemption:
        return "exempt"
    return str(finding.status)


def counts(findings: Sequence[Finding]) -> dict[str, int]:
    tally: dict[str, int] = {}
    for finding in findings:
        tally[verdict(finding)] = tally.get(verdict(finding), 0) + 1
    return tally


def render_table(findings: Sequence[Finding], problems: Sequence[Problem], *, show_all: bool = False) -> str:
    shown = [f for f in findings if show_all or verdict(f) in ("non_compliant", "exempt", "error")]
    order = {"error": 0, "non_compliant": 1, "exempt": 2, "compliant": 3, "not_applicable": 4}
    shown.sort(key=lambda f: (order[verdict(f)], f.control_id, f.resource.resource_id))
    header = f"{'verdict':<15} {'control':<40} {'region':<15} {'resource':<48} detail"
    lines = [header, "-" * len(header)]
    for f in shown:
        detail = f.error or f.exemption or "; ".join(v.summary for v in f.violations) or f.reason
        lines.append(f"{verdict(f):<15} {f.control_id:<40} {f.resource.region:<15} {f.resource.resource_id:<48} "
                     f"{detail}")  # fmt: skip
    lines += [f"skipped: {p}" for p in problems if p.skipped_region]
    summary = ", ".join(f"{n} {v}" for v, n in sorted(counts(findings).items())) or "nothing to evaluate"
    lines.append(f"{len(findings)} check(s): {summary}")
    return "\n".join(lines) + "\n"


# --- fix ------------------------------------------------------------------------------------------------


def plan(findings: Sequence[Finding]) -> tuple[list[Finding], list[Finding]]:
    """(what PHI Guard will fix, what needs a person); exempt findings are left alone."""
    open_ = [f for f in findings if f.status is Status.NON_COMPLIANT and not f.exemption]
    fixable = [f for f in open_ if f.action is Action.FIX and any(v.fixable for v in f.violations)]
    return fixable, [f for f in open_ if f not in fixable or any(not v.fixable for v in f.violations)]


def fix_command(args: argparse.Namespace, clients: Clients, session: boto3.session.Session) -> int:
    chosen = deployment(args, session)
    walk = walker(args, clients, session, chosen.settings)
    findings, _ = scan_account(_engine(chosen.settings, clients, record=False), walk)
    fixable, manual = plan(findings)
    print(f"settings: {chosen.source}")
    print(f"plan: {len(fixable)} fix(es); {len(manual)} finding(s) need a person")
    for f in fixable:
        for v in f.violations:
            if v.fixable:
                print(f"  fix  {f.resource.resource_id} ({f.resource.region})  {f.control_id}: {v.fix}")
    for f in manual:
        for v in f.violations:
            if not v.fixable or f.action is Action.NOTIFY:
                print(f"  ask  {f.resource.resource_id} ({f.resource.region})  {f.control_id}: {v.summary}")
    if any(f.status is None for f in findings):
        print(f"  note: {sum(f.status is None for f in findings)} check(s) could not be evaluated (see scan)")
    if args.dry_run or not fixable:
        return 0
    if not args.yes:
        if not sys.stdin.isatty():
            raise UsageError("refusing to fix without confirmation: run it in a terminal or add --yes")
        if input(f"Apply {len(fixable)} fix(es)? [y/N] ").strip().lower() not in ("y", "yes"):
            print("nothing changed")
            return 1
    settings = chosen.settings
    print(f"evidence: {recorded_where(settings)}")
    print(f"messages: {told_where(settings)}")
    results = apply_fixes(_engine(settings, clients, record=True), fixable, _actor(clients, session))
    for r in results:
        print(f"  {r.outcome:<16} {r.control_id:<40} {r.resource.resource_id}  {r.error or '; '.join(r.changes)}")
    failed = [r for r in results if r.outcome is Outcome.FAILED or r.bookkeeping_error]
    print(f"{len(results) - len(failed)} fixed, {len(failed)} failed")
    return 1 if failed else 0


def recorded_where(settings: Settings) -> str:
    if settings.evidence_table:
        return f"recorded in table {settings.evidence_table}"
    return "NOT recorded: no evidence table configured (--stack, or PHIGUARD_EVIDENCE_TABLE)"


def told_where(settings: Settings) -> str:
    if settings.topic_arn:
        return f"sent to topic {settings.topic_arn}"
    return "NOT sent: no topic configured (--stack, or PHIGUARD_TOPIC_ARN)"


def apply_fixes(engine: Engine, fixable: Sequence[Finding], actor: Actor) -> list[Result]:
    """Each planned fix through the engine, which re-reads live state first; one failure stops no other."""
    controls = {c.control_id: c for c in all_controls()}
    return [engine.run(controls[f.control_id](engine.context), f.resource, actor) for f in fixable]


def _actor(clients: Clients, session: boto3.session.Session) -> Actor:
    identity = clients.sts(session.region_name).get_caller_identity()
    now = datetime.now(UTC).isoformat(timespec="seconds")
    return Actor(identity["Arn"], "phiguard fix", None, now, "phiguard fix", "")


# --- report ---------------------------------------------------------------------------------------------


def fixed_since(settings: Settings, clients: Clients, since: datetime) -> list[Result]:
    """What PHI Guard fixed since then, from the evidence table; nothing when no table is configured."""
    if not settings.evidence_table:
        return []
    store = DynamoEvidence(clients, settings.evidence_table, settings.evidence_retention_days)
    cutoff = since.isoformat(timespec="seconds").replace("+00:00", "Z")
    results = [
        _recorded(row)
        for row in store.rows()
        if row.get("kind") == "finding" and str(row.get("recorded_at", "")) >= cutoff
    ]
    return [r for r in results if compliance.is_fix(r)]


def _recorded(row: dict[str, Any]) -> Result:
    """The row's result; a state too large to keep whole is left out (the report does not show states)."""
    try:
        return result_of(row)
    except ValueError:
        data = {**json.loads(row["result"]), "state_before": {}, "state_after": None}
        return Result.from_json({**data, "evidence_id": row["evidence_id"]})


def compliance_report(
    engine: Engine, walk: Walker, fixed: Sequence[Result], since: datetime, scope: Sequence[str] | None = None
) -> dict[str, Any]:
    findings, _ = scan_account(engine, walk, progress=False)
    return compliance.build_report(
        findings,
        fixed,
        generated_at=datetime.now(UTC),
        account_ids=[walk.account_id],
        regions=walk.regions,
        scope=scope,
        since=since,
    )


RENDERERS: dict[str, Callable[[dict[str, Any]], str]] = {
    "md": compliance.render_markdown,
    "html": compliance.render_html,
    "json": compliance.render_json,
}


def report_command(args: argparse.Namespace, clients: Clients, session: boto3.session.Session) -> int:
    if args.days < 1:
        raise UsageError("--days must be a positive number of days")
    if args.output and not Path(args.output).resolve().parent.is_dir():
        raise UsageError(f"cannot write {args.output}: its directory does not exist")
    settings = deployment(args, session).settings
    walk = walker(args, clients, session, settings)
    since = datetime.now(UTC) - timedelta(days=args.days)
    try:
        fixed = fixed_since(settings, clients, since)
    except (ClientError, BotoCoreError) as e:
        print(f"phiguard: fixes not included: the evidence table could not be read ({e})", file=sys.stderr)
        fixed = []
    if not settings.evidence_table:
        print("phiguard: no evidence table configured (--stack or PHIGUARD_EVIDENCE_TABLE): no fixes listed",
              file=sys.stderr)  # fmt: skip
    try:
        document = compliance_report(_engine(settings, clients, record=False), walk, fixed, since, args.control)
    except ValueError as e:  # an unknown control id
        raise UsageError(str(e)) from e
    text = RENDERERS[args.format](document)
    if args.output:
        Path(args.output).write_text(text)
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


def write_reports(document: dict[str, Any], directory: Path, stem: str = "compliance-report") -> list[Path]:
    """The report in every format (what `make demo` leaves in build/demo)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for suffix, render in RENDERERS.items():
        path = directory / f"{stem}.{suffix}"
        path.write_text(render(document))
        written.append(path)
    return written


# --- controls -------------------------------------------------------------------------------------------


def controls_command(args: argparse.Namespace, clients: Clients, session: boto3.session.Session) -> int:
    catalogue = all_controls()
    if args.format == "json":
        rows = [
            {
                "control_id": c.control_id,
                "title": c.title,
                "resource_type": c.resource_type,
                "hipaa": list(c.hipaa),
                "action": str(c.action),
                "triggers": sorted({f"{t.source}:{t.event_name}" for t in c.triggers}),
                "schedule_only": c.schedule_only,
                "permissions": list(c.permissions),
            }
            for c in catalogue
        ]
        print(json.dumps(rows, indent=2))
        return 0
    header = f"{'control':<40} {'action':<7} {'resource type':<42} hipaa"
    lines = [header, "-" * len(header)]
    lines += [f"{c.control_id:<40} {c.action!s:<7} {c.resource_type:<42} {', '.join(c.hipaa)}" for c in catalogue]
    lines.append(f"{len(catalogue)} controls")
    print("\n".join(lines))
    return 0


def quiet_logs() -> None:
    """The library logs JSON for CloudWatch; on a terminal the command says what happened itself, so only
    errors are logged, and on standard error (standard output stays parseable)."""
    import logging

    os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
    for name in ("phiguard", os.environ.get("POWERTOOLS_SERVICE_NAME", "service_undefined")):
        for handler in logging.getLogger(name).handlers:
            if isinstance(handler, logging.StreamHandler):
                handler.setStream(sys.stderr)
        logging.getLogger(name).setLevel(logging.ERROR)
