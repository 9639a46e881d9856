"""PHI Guard's side of the benchmark, each measurement in a fresh child process, as Custodian's is.

`python -m phiguard_local.bench.phiguard_side SPEC.json`, with the deployment's settings in the
environment (the parent made them, as `sam deploy` would). Kinds:
- events: the handler Lambda runs, on the same CloudTrail event as Custodian's driver (made once for real
  by drifts.py, new ids each time), the drift made again before each event with the same API call
  (drift_ops), every rail on (evidence, exactly-once, brake, notification); requests counted per event;
- sweep: the scheduled sweep (Walker and Sweep through the engine, enforce mode) over the account.
With PHIGUARD_BENCH_PROFILE=<dir>, each measurement also writes a cProfile file there (<run name>.prof).
"""

from __future__ import annotations

import cProfile
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from phiguard_local.bench import drift_ops
from phiguard_local.bench.counting import SERVICES, RequestCounter, split

COUNTER = RequestCounter()
COUNTER.install()  # before any client is made: PHI Guard's clients are made lazily, on first use


def _label_by_control() -> None:
    """Attribute each request to the control whose run made it (one event runs every control it concerns)."""
    from phiguard.core.engine import Engine

    def labelled(original: Any) -> Any:
        def run(engine: Engine, control: Any, *args: Any) -> Any:
            COUNTER.label = control.control_id
            try:
                return original(engine, control, *args)
            finally:
                COUNTER.label = None

        return run

    Engine._run_exactly_once = labelled(Engine._run_exactly_once)  # type: ignore[method-assign]
    Engine._judged_first = labelled(Engine._judged_first)  # type: ignore[method-assign]


def events(spec: dict[str, Any]) -> dict[str, Any]:
    from phiguard.handlers.remediate import lambda_handler

    from phiguard_local.demo import LambdaContextStub, lambda_logs_to

    control_id, ids = spec["control_id"], spec["ids"]
    _label_by_control()
    rows = []
    with lambda_logs_to(Path(spec["log"])):
        for n in range(spec["warmup"] + spec["events"]):
            drift_ops.redrift(control_id, ids)
            event = drift_ops.fresh_event(spec["event"])
            error = None
            with COUNTER.window() as counts:
                started = time.perf_counter()
                try:
                    lambda_handler(event, LambdaContextStub())  # type: ignore[arg-type]
                except Exception as e:  # noqa: BLE001 - recorded: the event counts as not fixed
                    error = f"{type(e).__name__}: {e}"
                seconds = time.perf_counter() - started
                by_control = COUNTER.by_label
            ok = drift_ops.fixed(control_id, ids)
            if not ok:
                drift_ops.undo(control_id, ids)
            if n >= spec["warmup"]:
                row = split(counts, SERVICES[control_id], by_control)
                rows.append({"seconds": seconds, "fixed": ok, "error": error, **row})
    return {
        "events": rows,
        "median_seconds": statistics.median(r["seconds"] for r in rows),
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def sweep(spec: dict[str, Any]) -> dict[str, Any]:
    from phiguard.core.control import get_control
    from phiguard.core.settings import Settings
    from phiguard.core.sweep import Sweep, Walker
    from phiguard.core.wiring import build_engine

    from phiguard_local.demo import lambda_logs_to

    settings = Settings.from_env()
    engine = build_engine(settings)
    walker = Walker(
        engine.context.clients,
        spec["account_id"],
        [spec["region"]],
        [get_control(c) for c in spec["controls"]],
        settings.sweep_concurrency,
    )
    job = Sweep(engine, walker, settings.sweep_margin_seconds)

    def hand_off(payload: Any) -> None:
        raise RuntimeError("the bench sweep has all the time it needs: nothing is handed on")

    with lambda_logs_to(Path(spec["log"])), COUNTER.window() as counts:
        started = time.perf_counter()
        summary = job.handle({"source": "aws.events", "detail-type": "Scheduled Event"}, lambda: 1e9, hand_off)
        seconds = time.perf_counter() - started
    return {"seconds": seconds, "outcomes": summary["outcomes"], "requests": sum(counts.values())}


def main() -> int:
    spec = json.loads(Path(sys.argv[1]).read_text())
    measure = {"events": events, "sweep": sweep}[spec["kind"]]
    profile_dir = os.environ.get("PHIGUARD_BENCH_PROFILE")  # where slower than Custodian: find out why
    if profile_dir:
        with cProfile.Profile() as profile:
            result = measure(spec)
        profile.dump_stats(Path(profile_dir) / f"{Path(spec['result']).name.removesuffix('.result.json')}.prof")
    else:
        result = measure(spec)
    Path(spec["result"]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
