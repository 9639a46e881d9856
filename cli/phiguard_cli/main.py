"""`phiguard`: the account's HIPAA posture (scan, fix, report), evidence for auditors, undo, replay.

Works against any account or endpoint with the standard AWS credential chain: --profile, --region,
and --endpoint-url (for moto or another emulator).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from phiguard.core.aws import Clients
from phiguard.core.control import Context, NotRevertible, ResourceGone, get_control
from phiguard.core.engine import RemediationFailed
from phiguard.core.evidence import DynamoEvidence, result_of
from phiguard.core.exemptions import EXEMPT_TAG, REASON_TAG, UNTIL_TAG
from phiguard.core.model import Actor, Mode, Outcome, ResourceRef
from phiguard.core.settings import Settings
from phiguard.core.tags import merge_tags, read_tags, taggable
from phiguard.core.wiring import build_engine

from phiguard_cli import posture

CSV_COLUMNS = (
    "evidence_id", "recorded_at", "kind", "account_id", "region", "resource_type", "resource_id", "control_id",
    "hipaa", "mode", "outcome", "actor", "event_name", "event_time", "event_id", "violations", "changes", "error",
    "exemption", "state_before", "state_after",
)  # fmt: skip
REVERTIBLE = (Outcome.REMEDIATED, Outcome.NEEDS_ATTENTION)


class CliError(Exception):
    """A problem the user can fix; printed without a traceback, exit status 2."""


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = args.endpoint_url
    session = boto3.session.Session(profile_name=args.profile, region_name=args.region)
    try:
        return int(args.command(args, Clients(session), session))
    except (CliError, posture.UsageError) as e:
        print(f"phiguard: {e}", file=sys.stderr)
        return 2
    except (ClientError, BotoCoreError) as e:
        print(f"phiguard: AWS said: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"phiguard: {e}", file=sys.stderr)
        return 2
    except Exception as e:  # exit 1 means "non-compliant": a crash must not look like a finding
        if os.environ.get("PHIGUARD_DEBUG"):
            raise
        print(f"phiguard: unexpected error ({type(e).__name__}: {e}); PHIGUARD_DEBUG=1 shows where", file=sys.stderr)
        return 2


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="phiguard", description=__doc__.splitlines()[0] if __doc__ else None)
    top.add_argument("--region", help="AWS region (default: the credential chain's)")
    top.add_argument("--profile", help="AWS named profile")
    top.add_argument("--endpoint-url", help="AWS endpoint (moto or another emulator)")
    commands = top.add_subparsers(required=True, metavar="COMMAND")

    evidence = commands.add_parser("evidence", help="list and export the evidence of every action")
    _table_options(evidence)
    evidence.add_argument("--since", help="from this time (ISO 8601 date or date-time, UTC)")
    evidence.add_argument("--until", help="up to this time (ISO 8601; a date means the whole day)")
    evidence.add_argument("--control", action="append", help="only this control id (repeatable)")
    evidence.add_argument("--resource", action="append", help="only this resource id or ARN (repeatable)")
    evidence.add_argument("--outcome", action="append", help="only this outcome, e.g. remediated (repeatable)")
    evidence.add_argument("--format", choices=("table", "json", "csv"), default="table")
    evidence.add_argument("--output", help="write to this file instead of standard output")
    evidence.set_defaults(command=evidence_command)

    revert = commands.add_parser("revert", help="restore the state a fix changed, and exempt the resource")
    _table_options(revert)
    revert.add_argument("evidence_id", help="the evidence row of the fix to undo")
    revert.add_argument("--reason", required=True, help="why (recorded, and set as the exemption's reason)")
    revert.add_argument("--days", type=int, default=7, help="how long the exemption holds (default 7)")
    revert.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    revert.add_argument(
        "--force",
        action="store_true",
        help="revert even if the resource changed since the fix, or was reverted already",
    )
    revert.add_argument(
        "--exempted-elsewhere",
        action="store_true",
        help="for what cannot be tagged (the account): its exemption is already in the Exemptions list",
    )
    revert.set_defaults(command=revert_command)

    replay = commands.add_parser("replay", help="re-drive the events on the failure queue")
    replay.add_argument("--stack", default="phiguard", help="stack whose FailureQueueUrl to use")
    replay.add_argument("--queue-url", help="the failure queue (default: the stack's output)")
    replay.add_argument("--function-name", help="the remediation function (default: the stack's)")
    replay.add_argument(
        "--in-process",
        action="store_true",
        help="run the handler here with the function's settings instead of invoking it",
    )
    replay.add_argument("--max", type=int, default=100, help="at most this many events (default 100)")
    replay.set_defaults(command=replay_command)
    posture.register(commands)
    return top


def _table_options(command: argparse.ArgumentParser) -> None:
    command.add_argument("--table", help="the evidence table (default: $PHIGUARD_EVIDENCE_TABLE or the stack's)")
    command.add_argument("--stack", default="phiguard", help="stack to read the table name from (default phiguard)")


def _stack_output(session: boto3.session.Session, stack: str, key: str) -> str:
    try:
        stacks = session.client("cloudformation").describe_stacks(StackName=stack)["Stacks"]
    except ClientError as e:
        raise CliError(f"cannot read stack {stack!r} ({e}); name the resource with an option instead") from e
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stacks[0].get("Outputs", [])}
    if key not in outputs:
        raise CliError(f"stack {stack!r} has no output {key}")
    return outputs[key]


def _evidence(args: argparse.Namespace, clients: Clients, session: boto3.session.Session) -> DynamoEvidence:
    table = (
        args.table
        or os.environ.get("PHIGUARD_EVIDENCE_TABLE")
        or _stack_output(session, args.stack, "EvidenceTableName")
    )
    return DynamoEvidence(clients, table, Settings().evidence_retention_days)


# --- evidence -------------------------------------------------------------------------------------


def _bound(value: str | None, end: bool) -> str | None:
    """An ISO bound comparable with recorded_at ("2026-12-03T17:15:00Z")."""
    if not value:
        return None
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return f"{day.isoformat()}T23:59:59Z" if end else f"{day.isoformat()}T00:00:00Z"
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as e:
        raise CliError(f"{value!r} is not an ISO 8601 date or date-time") from e
    moment = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def select(rows: Iterable[dict[str, Any]], args: argparse.Namespace) -> list[dict[str, Any]]:
    since, until = _bound(args.since, end=False), _bound(args.until, end=True)
    chosen = [
        row for row in rows
        if (not since or row["recorded_at"] >= since)
        and (not until or row["recorded_at"] <= until)
        and (not args.control or row["control_id"] in args.control)
        and (not args.resource or row["resource_id"] in args.resource)
        and (not args.outcome or row["outcome"] in args.outcome)
    ]  # fmt: skip
    return sorted(chosen, key=lambda row: str(row["evidence_id"]))


def _flat(value: Any) -> str:
    return "; ".join(str(v) for v in value) if isinstance(value, list) else "" if value is None else str(value)


def render_evidence(rows: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "json":
        shaped = [
            {**row, "state_before": json.loads(row["state_before"]), "state_after": json.loads(row["state_after"])}
            for row in rows
        ]
        return json.dumps([{k: v for k, v in r.items() if k != "result"} for r in shaped], indent=2) + "\n"
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        writer.writerows([[_flat(row.get(c)) for c in CSV_COLUMNS] for row in rows])
        return out.getvalue()
    header = f"{'evidence id':<36} {'recorded at':<21} {'outcome':<16} {'control':<38} resource"
    lines = [header, "-" * len(header)]
    lines += [
        f"{r['evidence_id']:<36} {r['recorded_at']:<21} {r['outcome']:<16} {r['control_id']:<38} {r['resource_id']}"
        for r in rows
    ]
    lines.append(f"{len(rows)} row(s)")
    return "\n".join(lines) + "\n"


def evidence_command(args: argparse.Namespace, clients: Clients, session: boto3.session.Session) -> int:
    rows = select(_evidence(args, clients, session).rows(), args)
    text = render_evidence(rows, args.format)
    if args.output:
        with open(args.output, "w", newline="") as f:
            f.write(text)
        print(f"wrote {len(rows)} row(s) to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


# --- revert ---------------------------------------------------------------------------------------


def _confirm(question: str, assume_yes: bool) -> bool:
    if assume_yes:
        return True
    if not sys.stdin.isatty():
        raise CliError("refusing to revert without confirmation: run it in a terminal or add --yes")
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def revert_command(args: argparse.Namespace, clients: Clients, session: boto3.session.Session) -> int:
    if not args.reason.strip():
        raise CliError("--reason must say why: it is recorded and becomes the exemption's reason")
    if not 1 <= args.days <= 3650:
        raise CliError("--days must be between 1 and 3650")
    store = _evidence(args, clients, session)
    row = store.get(args.evidence_id)
    if row is None:
        raise CliError(f"no evidence row {args.evidence_id}")
    try:
        fixed = result_of(row)
    except ValueError as e:
        raise CliError(f"evidence {args.evidence_id} cannot be reverted automatically: {e}") from e
    if row.get("kind") != "finding" or fixed.outcome not in REVERTIBLE or not fixed.changes:
        raise CliError(f"evidence {args.evidence_id} records no change to revert (outcome {fixed.outcome})")
    earlier = [
        r["evidence_id"] for r in store.rows() if r.get("kind") == "revert" and r.get("event_id") == args.evidence_id
    ]
    if earlier and not args.force:
        raise CliError(
            f"evidence {args.evidence_id} was reverted already ({', '.join(earlier)}); --force to do it again"
        )
    context = Context(Settings(mode=Mode.ENFORCE), clients)
    control = get_control(fixed.control_id)(context)
    ref = fixed.resource
    if not taggable(ref.resource_type) and not args.exempted_elsewhere:
        entry = json.dumps({"resource": ref.resource_id, "controls": [fixed.control_id], "until": "YYYY-MM-DD",
                            "reason": args.reason})  # fmt: skip
        raise CliError(
            f"a {ref.resource_type} cannot carry exemption tags, so PHI Guard would fix the revert again at once. "
            f"Add {entry} to the Exemptions parameter (or its SSM parameter) first, then run this again with "
            "--exempted-elsewhere; nothing was changed"
        )
    try:
        current = control.evaluate(ref)
    except ResourceGone as e:
        raise CliError(f"nothing to revert: {e}") from e
    if current.state != fixed.state_after and not args.force:
        raise CliError(
            f"{ref.resource_id} changed since the fix (its live state is not the state the fix left), so putting "
            "back the state from before the fix would also undo the later change. Compare with "
            f"`phiguard evidence --resource {ref.resource_id} --format json`; --force to revert anyway."
        )
    until = (datetime.now(UTC) + timedelta(days=args.days)).date()
    print(f"Revert {fixed.control_id} on {ref.resource_id} ({ref.region}), fixed at {row['recorded_at']}:")
    for change in fixed.changes:
        print(f"  undo: {change}")
    if taggable(ref.resource_type):
        print(f"  first exempt it from {fixed.control_id} until {until}: {args.reason}")
    else:
        print(f"  its exemption from {fixed.control_id} is in the Exemptions list (--exempted-elsewhere)")
    if not _confirm("Proceed?", args.yes):
        print("nothing changed")
        return 1
    restored: list[str] = []
    note, problem = "", None
    try:
        if taggable(ref.resource_type):  # first: nothing re-fixes the revert
            note = _exempt(context, ref, fixed.control_id, until, args.reason)
        restored = control.revert(ref, fixed)
    except (NotRevertible, ValueError, ClientError, BotoCoreError) as e:
        problem = f"{type(e).__name__}: {e}"
    finally:  # whatever happened is recorded, a partial revert too
        after = control.evaluate(ref)
        identity = session.client("sts").get_caller_identity()
        record = replace(
            fixed,
            outcome=Outcome.REVERTED if problem is None else Outcome.FAILED,
            mode=Mode.ENFORCE,
            actor=Actor(
                arn=identity["Arn"],
                principal_type="phiguard revert",
                session_issuer_arn=None,
                event_time=datetime.now(UTC).isoformat(timespec="seconds"),
                event_name="phiguard revert",
                event_id=args.evidence_id,
            ),
            changes=tuple(filter(None, (note, *restored))),
            remaining=(),
            state_before=current.state,
            state_after=after.state,
            error=problem,
            exemption=note or None,
            reason=f"revert of {args.evidence_id}: {args.reason}",
            evidence_id=None,
        )
        evidence_id = store.record(record, kind="revert")
    for line in (note, *restored):
        print(f"  {line}")
    print(f"recorded as evidence {evidence_id}")
    if problem:
        raise CliError(f"the revert did not complete ({problem}); what was done is recorded in {evidence_id}")
    return 0


def _exempt(context: Context, ref: ResourceRef, control_id: str, until: date, reason: str) -> str:
    """Set (or extend) the resource's exemption tags so the revert is not undone at once."""
    tags = read_tags(context, ref)
    ids = [c for c in tags.get(EXEMPT_TAG, "").replace(",", " ").split() if c]
    if control_id not in ids and "all" not in ids:
        ids.append(control_id)
    # space-separated: S3 and ELB tag values allow no commas
    merge_tags(context, ref, {EXEMPT_TAG: " ".join(ids), UNTIL_TAG: until.isoformat(), REASON_TAG: reason[:256]})
    return f"exempted from {control_id} until {until} (tags {EXEMPT_TAG}, {UNTIL_TAG}, {REASON_TAG})"


# --- replay ---------------------------------------------------------------------------------------


def replay_command(args: argparse.Namespace, clients: Clients, session: boto3.session.Session) -> int:
    queue_url = args.queue_url or _stack_output(session, args.stack, "FailureQueueUrl")
    function = args.function_name
    if not function and (not args.in_process or not os.environ.get("PHIGUARD_MODE")):
        function = _stack_output(session, args.stack, "RemediationFunctionName")
    sqs, lambda_client = session.client("sqs"), session.client("lambda")
    engine = None
    if args.in_process:
        env = (
            lambda_client.get_function_configuration(FunctionName=function)["Environment"]["Variables"]
            if function
            else dict(os.environ)
        )
        engine = build_engine(Settings.from_env(env), clients)
    replayed = failed = 0
    kept: list[str] = []
    try:
        while replayed + failed < args.max:
            messages = sqs.receive_message(
                QueueUrl=queue_url, MaxNumberOfMessages=min(10, args.max - replayed - failed), VisibilityTimeout=300
            ).get("Messages", [])
            if not messages:
                break
            for message in messages:
                ok, name, detail = _replay_one(message["Body"], engine, lambda_client, function)
                if ok:
                    sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
                    replayed += 1
                    print(f"replayed {name}: {detail}")
                else:
                    failed += 1
                    kept.append(message["ReceiptHandle"])
                    print(f"left on the queue: {name}: {detail}")
    finally:
        for handle in kept:  # visible again at once for the next replay (not hidden for the visibility timeout)
            sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=handle, VisibilityTimeout=0)
    print(f"{replayed} replayed, {failed} still failing")
    return 0 if failed == 0 else 1


def _replay_one(body: str, engine: Any, lambda_client: Any, function: str | None) -> tuple[bool, str, str]:
    """(succeeded, what, detail) for one queued message; an unreadable one stays on the queue for a person."""
    try:
        record = json.loads(body)
    except ValueError:
        return False, "an unreadable message", "its body is not JSON"
    event = record.get("requestPayload", record) if isinstance(record, dict) else record
    if not isinstance(event, dict):
        return False, "an unreadable message", "it holds no event object"
    name = f"event {event.get('id', '?')}"
    try:
        ok, detail = _redrive(event, engine, lambda_client, function)
    except Exception as e:  # noqa: BLE001 - one message must not stop the replay of the others
        return False, name, f"{type(e).__name__}: {e}"
    return ok, name, detail


def _redrive(event: dict[str, Any], engine: Any, lambda_client: Any, function: str | None) -> tuple[bool, str]:
    if engine is not None:
        try:
            results = engine.handle_event(event)
        except RemediationFailed as e:
            return False, str(e)
        return True, ", ".join(f"{r.control_id} {r.outcome}" for r in results) or "nothing to do"
    response = lambda_client.invoke(
        FunctionName=function, InvocationType="RequestResponse", Payload=json.dumps(event).encode()
    )
    payload = response["Payload"].read().decode()
    if response.get("FunctionError"):
        return False, payload
    return True, payload


def cli() -> None:
    """The console script: logs quiet and on standard error, so output stays readable and parseable."""
    posture.quiet_logs()
    sys.exit(main())


if __name__ == "__main__":
    cli()
