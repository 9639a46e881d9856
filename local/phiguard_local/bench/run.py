"""`python -m phiguard_local.bench` (`make bench`): PHI Guard vs Cloud Custodian on one moto server.

1. API calls and seconds per event-driven remediation, for each headline drift: PHI Guard's handler on
   the CloudTrail event vs Custodian's cloudtrail-mode policy handler on the same event, each in a fresh
   process of its own interpreter; requests counted with botocore hooks; the drift made again before each
   event and read back after it.
2. Sweep throughput over accounts of n buckets and security groups (one in ten drifted): PHI Guard's
   scheduled sweep (Walker and Sweep through the engine, enforce mode) vs `custodian run` (pull mode, no
   cache) with the same policies, their cloudtrail `mode` left out.
3. Cold start: handler module import time; deployment package size. 4. Peak memory over 1,000 events.

Writes build/bench/results.json (one object per metric), details.json (every sample, every note) and
prints the table. Nothing here can reach AWS: fake credentials and a loopback endpoint are forced.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from phiguard_local.bench import cold, drift_ops, report
from phiguard_local.bench.report import Row
from phiguard_local.bench.world import SweepWorld, count_swept, moto_server
from phiguard_local.embedded import ACCOUNT_ID, REGION
from phiguard_local.template import ROOT

BENCH = Path(__file__).resolve().parent
POLICIES = BENCH / "policies"
OUT = ROOT / "build" / "bench"
C7N_VENV = OUT / ".venv-c7n"
C7N_REQUIREMENT = os.environ.get("C7N_REQUIREMENT", "c7n==0.9.53")
# The compared controls; None: Custodian has no equivalent action.
COMPARED: dict[str, str | None] = {
    "s3-default-encryption-kms": "s3-default-encryption-kms.yml",
    "vpc-sg-restricted-ports": "vpc-sg-restricted-ports.yml",
    "db-no-bastion-access": "db-no-bastion-access.yml",
    "alb-http-to-https-redirection-check": None,
}
NO_EQUIVALENT = {
    "alb-http-to-https-redirection-check": "Custodian's app-elb modify-listener sets protocol, port, certificate "
    "and TLS policy only; it has no action that makes an HTTP listener redirect to HTTPS",
}
SWEPT_CONTROLS = ("s3-default-encryption-kms", "vpc-sg-restricted-ports")  # the sweep's drifts, both tools
SWEEP_POLICIES = ("s3-default-encryption-kms.yml", "vpc-sg-restricted-ports.yml")
METRICS = ("events", "sweep", "import", "package", "rss")
KINDS = ("service", "bookkeeping", "other")


class Custodian:
    """Custodian's own environment under build/bench (made by `make bench`); None when it is missing."""

    def __init__(self, venv: Path) -> None:
        self.python = venv / "bin" / "python"
        self.cli = venv / "bin" / "custodian"

    @classmethod
    def find(cls, venv: Path) -> Custodian | None:
        found = cls(venv)
        return found if found.python.exists() and found.cli.exists() else None

    def version(self) -> str:
        done = subprocess.run([str(self.cli), "version"], capture_output=True, text=True, check=True)
        return done.stdout.strip()

    def validate(self, policies: list[Path]) -> None:
        subprocess.run([str(self.cli), "validate", *map(str, policies)], check=True, capture_output=True, text=True)


def child(python: str | Path, args: list[str], spec: dict[str, Any], name: str, out: Path) -> dict[str, Any]:
    """Run one measurement in a fresh process; it reads its spec and writes its result as JSON files."""
    specs = out / "runs"
    specs.mkdir(parents=True, exist_ok=True)
    spec = {**spec, "result": str(specs / f"{name}.result.json"), "log": str(specs / f"{name}.log")}
    (specs / f"{name}.spec.json").write_text(json.dumps(spec, indent=1))
    with (specs / f"{name}.stderr").open("w") as stderr:
        subprocess.run([str(python), *args, str(specs / f"{name}.spec.json")], check=True, stderr=stderr, cwd=ROOT)
    result: dict[str, Any] = json.loads(Path(spec["result"]).read_text())
    return result


def phiguard_child(spec: dict[str, Any], name: str, out: Path) -> dict[str, Any]:
    return child(sys.executable, ["-m", "phiguard_local.bench.phiguard_side"], spec, name, out)


def custodian_child(c7n: Custodian, spec: dict[str, Any], name: str, out: Path) -> dict[str, Any]:
    return child(c7n.python, [str(BENCH / "custodian_driver.py")], spec, name, out)


# --- the world -------------------------------------------------------------------------------------------


def deployed(out: Path) -> Any:
    """The reference architecture, and what `sam deploy` makes around the function (enforce mode)."""
    from phiguard_local import demo
    from phiguard_local.refarch import build

    arch = build()
    demo.deploy("enforce", arch)
    # The brake counts fixes per account and window; a benchmark makes hundreds on purpose.
    os.environ["PHIGUARD_BRAKE_MAX_FIXES"] = "1000000"
    return arch


def drift_ids(control_id: str, arch: Any) -> dict[str, str]:
    return {
        "s3-default-encryption-kms": {"bucket": arch.bucket, "key": arch.kms_key_arn},
        "vpc-sg-restricted-ports": {"group": arch.groups["backend"]},
        "db-no-bastion-access": {"group": arch.groups["database"], "bastion": arch.groups["bastion"]},
        "alb-http-to-https-redirection-check": {
            "listener": arch.http_listeners["frontend"],
            "target_group": arch.target_groups["frontend"],
        },
    }[control_id]


def event_template(control_id: str, arch: Any) -> dict[str, Any]:
    """The CloudTrail event of one drift, made once for real as the demo makes it (then undone): both tools
    get this event, with new ids, after each time the drift is made again."""
    from phiguard_local import drifts

    makers: dict[str, Callable[[Any], drifts.Drift]] = {
        "s3-default-encryption-kms": drifts.delete_bucket_encryption,
        "vpc-sg-restricted-ports": drifts.ssh_open_to_world,
        "db-no-bastion-access": drifts.bastion_admitted_to_database,
        "alb-http-to-https-redirection-check": lambda arch: drifts.http_listener_forwards(arch, "frontend"),
    }
    drift = makers[control_id](arch)
    drift_ops.undo(control_id, drift_ids(control_id, arch))
    event: dict[str, Any] = drift.event
    return event


# --- 1, 2 and 5: events ----------------------------------------------------------------------------------


def event_runs(arch: Any, c7n: Custodian | None, events: int, out: Path, details: dict[str, Any]) -> list[Row]:
    rows, calls, seconds, bookkeeping = [], [], [], []
    for control_id, policy in COMPARED.items():
        spec = {
            "kind": "events",
            "control_id": control_id,
            "ids": drift_ids(control_id, arch),
            "event": event_template(control_id, arch),
            "events": events,
            "warmup": 1,
            "account_id": ACCOUNT_ID,
            "region": REGION,
        }
        print(f"  {control_id}: PHI Guard, {events} events ...", flush=True)
        mine = phiguard_child(spec, f"events-phiguard-{control_id}", out)
        theirs = None
        if c7n and policy:
            print(f"  {control_id}: Custodian, {events} events ...", flush=True)
            spec = {**spec, "policy": str(POLICIES / policy)}
            theirs = custodian_child(c7n, spec, f"events-custodian-{control_id}", out)
        details["events"][control_id] = {"phiguard": summary(mine), "custodian": summary(theirs) if theirs else None}
        if not policy:
            details["notes"].append(f"{control_id}: custodian null: {NO_EQUIVALENT[control_id]}")
        mine_calls = [float(e["service"]) for e in mine["events"]]
        mine_seconds = [e["seconds"] for e in mine["events"]]
        their_calls = [float(e["service"]) for e in theirs["events"]] if theirs else None
        their_seconds = [e["seconds"] for e in theirs["events"]] if theirs else None
        rows.append(Row(f"api_calls_per_event:{control_id}", report.median(mine_calls),
                        report.median(their_calls) if their_calls else None, "requests"))  # fmt: skip
        own = [float(e["by_control"].get(control_id, {}).get("service", 0)) for e in mine["events"]]
        rows.append(Row(f"api_calls_per_event:{control_id}_own", report.median(own),
                        report.median(their_calls) if their_calls else None, "requests"))  # fmt: skip
        rows.append(Row(f"seconds_per_event:{control_id}", round(report.median(mine_seconds), 4),
                        round(report.median(their_seconds), 4) if their_seconds else None, "s"))  # fmt: skip
        rows.append(Row(f"seconds_per_event:{control_id}_p95", round(report.p95(mine_seconds), 4),
                        round(report.p95(their_seconds), 4) if their_seconds else None, "s"))  # fmt: skip
        calls.append(mine_calls)
        seconds.append(mine_seconds)
        bookkeeping += [float(e["bookkeeping"]) for e in mine["events"]]
    rows.append(Row("api_calls_per_event:bookkeeping", report.median(bookkeeping), None, "requests"))
    details["notes"].append(
        "api_calls_per_event:<control-id>: requests to the remediated resource's service during the whole handler "
        "invocation on the event (PHI Guard's handler runs every control the API call concerns: five for "
        "AuthorizeSecurityGroupIngress, three for ModifyListener); <control-id>_own: those of the compared "
        "control's own run alone (evaluate, exemption tags, fix, verifying evaluation); Custodian: its one policy"
    )
    details["notes"].append(
        "api_calls_per_event:bookkeeping: PHI Guard's DynamoDB (evidence, exactly-once records, brake) and SNS "
        "requests per event, median over every compared event; custodian null: its handler keeps no evidence, "
        "has no exactly-once record and sends no notification (that needs c7n-mailer and a queue)"
    )
    return rows


def summary(result: dict[str, Any]) -> dict[str, Any]:
    events = result["events"]
    operations: dict[str, int] = {}
    for event in events:
        for name, n in event["operations"].items():
            operations[name] = operations.get(name, 0) + n
    return {
        "events": len(events),
        "fixed": sum(1 for e in events if e["fixed"]),
        "errors": sorted({e["error"] for e in events if e["error"]}),
        "service_calls": {
            "median": report.median([e["service"] for e in events]),
            "max": max(e["service"] for e in events),
        },
        "bookkeeping_calls": report.median([e["bookkeeping"] for e in events]),
        "other_calls": report.median([e["other"] for e in events]),
        "operations_per_event": {k: round(v / len(events), 2) for k, v in sorted(operations.items())},
        "by_control": {
            label: {
                kind: report.median([e["by_control"].get(label, {}).get(kind, 0) for e in events]) for kind in KINDS
            }
            for label in sorted({label for e in events for label in e.get("by_control", {})})
        },
        "seconds": {
            "median": report.median([e["seconds"] for e in events]),
            "p95": report.p95([e["seconds"] for e in events]),
        },
        "maxrss_kb": result["maxrss_kb"],
    }


# The peak-memory run's drift: SSH opened to the world (Custodian's S3 handler takes ~0.7 s an event here,
# reading a dozen bucket settings: 1,000 of them would take the bench 12 minutes for one number).
RSS_CONTROL = "vpc-sg-restricted-ports"


def rss_runs(arch: Any, c7n: Custodian | None, events: int, out: Path, details: dict[str, Any]) -> Row:
    control_id = RSS_CONTROL
    spec = {
        "kind": "events",
        "control_id": control_id,
        "ids": drift_ids(control_id, arch),
        "event": event_template(control_id, arch),
        "events": events,
        "warmup": 0,
        "account_id": ACCOUNT_ID,
        "region": REGION,
    }
    print(f"  PHI Guard's handler process, {events} events ...", flush=True)
    mine = phiguard_child(spec, "rss-phiguard", out)
    theirs = None
    if c7n:
        print(f"  Custodian's handler process, {events} events ...", flush=True)
        spec = {
            **spec,
            "policy": str(POLICIES / str(COMPARED[control_id])),
        }
        theirs = custodian_child(c7n, spec, "rss-custodian", out)
    details["rss"] = {"phiguard": summary(mine), "custodian": summary(theirs) if theirs else None}
    details["notes"].append(
        f"peak_rss_megabytes: ru_maxrss of a fresh handler process (each tool's own interpreter) after {events} "
        "AuthorizeSecurityGroupIngress events (SSH opened to the world, each fixed); the process also made the "
        "drifts and read them back (a few boto3 calls)"
    )
    return Row("peak_rss_megabytes", round(mine["maxrss_kb"] / 1024, 1),
               round(theirs["maxrss_kb"] / 1024, 1) if theirs else None, "MiB")  # fmt: skip


# --- 3: sweeps -------------------------------------------------------------------------------------------


def pull_mode_policies(out: Path) -> Path:
    """The compared policies in pull mode: the same files, their cloudtrail `mode` left out."""
    policies = []
    for name in SWEEP_POLICIES:
        for policy in yaml.safe_load((POLICIES / name).read_text())["policies"]:
            policies.append({k: v for k, v in policy.items() if k != "mode"})
    path = out / "custodian-pull.yml"
    path.write_text(yaml.safe_dump({"policies": policies}, sort_keys=False))
    return path


def custodian_run(c7n: Custodian, policies: Path, out: Path, name: str) -> dict[str, Any]:
    """`custodian run` in pull mode, no cache; the policies' own execution time from their metadata."""
    output = out / "runs" / name
    started = time.perf_counter()
    with (out / "runs" / f"{name}.log").open("w") as log:
        subprocess.run(
            [str(c7n.cli), "run", "--cache-period", "0", "-r", REGION, "-s", str(output), str(policies)],
            check=True,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    wall = time.perf_counter() - started
    durations = {}
    for metadata in output.glob("*/metadata.json"):
        execution = json.loads(metadata.read_text())["execution"]
        durations[metadata.parent.name] = execution["duration"]
    return {"seconds": sum(durations.values()), "wall_seconds": wall, "policies": durations}


def sweep_runs(  # noqa: PLR0917 - the run's parts
    arch: Any, c7n: Custodian | None, sizes: list[int], compared_sizes: set[int], out: Path, details: dict[str, Any]
) -> list[Row]:
    world = SweepWorld(key_arn=arch.kms_key_arn)
    policies = pull_mode_policies(out)
    rows = []
    for size in sizes:
        print(f"  {size} resources: building the account ...", flush=True)
        started = time.perf_counter()
        world.grow(size)
        resources = count_swept(REGION)
        built = time.perf_counter() - started
        world.drift()
        print(f"  {size} resources ({resources} with the reference architecture's): PHI Guard's sweep ...", flush=True)
        spec = {"kind": "sweep", "controls": list(SWEPT_CONTROLS), "account_id": ACCOUNT_ID, "region": REGION}
        mine = phiguard_child(spec, f"sweep-phiguard-{size}", out)
        mine_fixed = world.fixed()
        theirs, their_fixed = None, None
        if c7n and size in compared_sizes:
            world.drift()
            print(f"  {size} resources: custodian run (pull mode, no cache) ...", flush=True)
            theirs = custodian_run(c7n, policies, out, f"sweep-custodian-{size}")
            their_fixed = world.fixed()
        details["sweeps"][str(size)] = {
            "resources": resources,
            "built_seconds": round(built, 1),
            "phiguard": {**mine, "fixed": mine_fixed},
            "custodian": {**theirs, "fixed": their_fixed} if theirs else None,
        }
        rows.append(Row(f"sweep_resources_per_second:{size}", round(resources / mine["seconds"], 1),
                        round(resources / theirs["seconds"], 1) if theirs else None, "resources/s"))  # fmt: skip
    details["notes"].append(
        "sweep_resources_per_second: every bucket and security group of the region (the bench's, half each, one "
        "in ten drifted, plus the reference architecture's), divided by the sweep's own time: PHI Guard's "
        "Sweep.handle (enforce mode, evidence and notification of each fix included) and the sum of the "
        "policies' execution durations from Custodian's metadata.json (interpreter start-up excluded for both)"
    )
    return rows


# --- 4: cold start ---------------------------------------------------------------------------------------


def import_rows(c7n: Custodian | None, runs: int, details: dict[str, Any]) -> Row:
    functions = ROOT / "functions"
    mine = cold.import_seconds(
        sys.executable,
        "phiguard.handlers.remediate",
        runs,
        functions,
        {**cold.LAMBDA_ENV, "LAMBDA_TASK_ROOT": str(functions)},
    )
    theirs = None
    if c7n:
        theirs = cold.import_seconds(
            c7n.python, "c7n.handler", runs, OUT, {**cold.LAMBDA_ENV, "LAMBDA_TASK_ROOT": str(OUT)}
        )
    details["import"] = {"phiguard": mine, "custodian": theirs}
    details["notes"].append(
        f"handler_import_seconds: python -X importtime, cumulative time of the handler module, fresh process, "
        f"median of {runs} runs: phiguard.handlers.remediate (functions/ as the task root, the template's Powertools "
        "settings, tracing on as deployed) vs c7n.handler (the module Custodian's policy Lambda imports)"
    )
    return Row(
        "handler_import_seconds", round(cold.median(mine), 4), round(cold.median(theirs), 4) if theirs else None, "s"
    )


def package_row(c7n: Custodian | None, out: Path, details: dict[str, Any]) -> Row:
    mine, how = cold.phiguard_package(out, sys.executable)
    theirs = cold.custodian_package(out, sys.executable, C7N_REQUIREMENT) if c7n else None
    details["package"] = {"phiguard": str(mine), "phiguard_how": how, "custodian": str(theirs) if theirs else None}
    details["notes"].append(
        f"package_megabytes: PHI Guard's RemediationFunction ({how}) vs {C7N_REQUIREMENT} and its dependencies "
        "installed with pip --target; files only, byte-compiled caches left out"
    )
    return Row(
        "package_megabytes", round(cold.megabytes(mine), 1), round(cold.megabytes(theirs), 1) if theirs else None, "MiB"
    )


# --- the whole run ---------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").exists() else []
    cpu = next(
        (line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), platform.processor()
    )
    memory = None
    if Path("/proc/meminfo").exists():
        total_kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = round(total_kb / 2**20, 1)
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
    }


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m phiguard_local.bench", description=__doc__.splitlines()[0])
    parser.add_argument("--only", default=",".join(METRICS), help=f"comma-separated subset of {', '.join(METRICS)}")
    parser.add_argument("--events", type=int, default=50, help="events per compared drift (>= 50 for the figures)")
    parser.add_argument("--sizes", default="500,2000,10000", help="sweep account sizes (resources)")
    parser.add_argument("--compare-sizes", default="500,2000", help="sizes at which Custodian is swept too")
    parser.add_argument("--rss-events", type=int, default=1000, help="events handled by the peak-memory process")
    parser.add_argument("--import-runs", type=int, default=7, help="fresh interpreters per import-time median")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--no-custodian", action="store_true", help="PHI Guard alone (custodian null everywhere)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    only = {m.strip() for m in args.only.split(",") if m.strip()}
    if only - set(METRICS):
        raise SystemExit(f"--only: unknown {', '.join(sorted(only - set(METRICS)))}")
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    c7n = None if args.no_custodian else Custodian.find(C7N_VENV)
    details: dict[str, Any] = {"machine": machine(), "notes": [], "events": {}, "sweeps": {}}
    if c7n:
        details["custodian_version"] = c7n.version()
        c7n.validate(sorted(POLICIES.glob("*.yml")))
        print(f"Cloud Custodian {details['custodian_version']} ({C7N_VENV}); its policies validate.", flush=True)
    else:
        details["notes"].append(
            f"Custodian not measured ({'--no-custodian' if args.no_custodian else f'no {C7N_VENV}'})"
        )
    started = time.perf_counter()
    rows: list[Row] = []
    if only & {"events", "sweep", "rss"}:
        with moto_server(out / "moto.log") as endpoint:
            print(
                f"moto server at {endpoint} (its own process), fake credentials; the reference architecture ...",
                flush=True,
            )
            arch = deployed(out)
            if "events" in only:
                print("Event-driven remediation:", flush=True)
                rows += event_runs(arch, c7n, args.events, out, details)
            if "rss" in only:  # before the sweeps: moto's security-group calls slow down with every group added
                print("Peak memory:", flush=True)
                rows.append(rss_runs(arch, c7n, args.rss_events, out, details))
            if "sweep" in only:
                print("Sweeps:", flush=True)
                sizes = [int(s) for s in args.sizes.split(",") if s]
                compared = {int(s) for s in args.compare_sizes.split(",") if s}
                rows += sweep_runs(arch, c7n, sizes, compared, out, details)
    if "import" in only:
        print("Handler import time ...", flush=True)
        rows.append(import_rows(c7n, args.import_runs, details))
    if "package" in only:
        print("Deployment package size ...", flush=True)
        rows.append(package_row(c7n, out, details))
    details["seconds"] = round(time.perf_counter() - started, 1)
    report.write(rows, out / "results.json")
    (out / "details.json").write_text(json.dumps(details, indent=2, default=str) + "\n")
    print()
    print(report.table(rows))
    print()
    for note in details["notes"]:
        print(f"- {note}")
    m = details["machine"]
    print(f"\nMachine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB, {m['os']}, Python {m['python']}")
    print(f"Wrote {out / 'results.json'} and {out / 'details.json'} in {details['seconds']} s.")
    return 0
