"""Cloud Custodian's Lambda handler on CloudTrail events, in Custodian's own interpreter (`make bench` only).

Run by the c7n virtual environment's python: `python custodian_driver.py SPEC.json`. It never imports
PHI Guard; beside it only counting.py and drift_ops.py (standard library, boto3). For each event it
makes the drift again, hands the CloudTrail event to `c7n.handler.dispatch_event` exactly as a deployed
cloudtrail-mode policy Lambda does (config.json in the working directory), counts the requests botocore
sends meanwhile, reads the resource back, and writes one JSON result file.

Fake credentials are forced and the endpoint must be on the loopback: nothing here can reach AWS.
"""

from __future__ import annotations

import json
import logging
import os
import resource
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

FORCED = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    "AWS_EC2_METADATA_DISABLED": "true",
}


class LambdaContext:
    function_name = "custodian-bench"
    function_version = "$LATEST"
    memory_limit_in_mb = 256
    log_group_name = "/aws/lambda/custodian-bench"
    log_stream_name = "bench"

    def __init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    @staticmethod
    def get_remaining_time_in_millis() -> int:
        return 120_000


def _force_emulator() -> None:
    endpoint = os.environ.get("AWS_ENDPOINT_URL", "")
    if not endpoint.startswith(("http://127.0.0.1:", "http://localhost:")):
        sys.exit(f"refusing to run: AWS_ENDPOINT_URL {endpoint!r} is not an emulator on the loopback")
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE"):
        os.environ.pop(key, None)
    os.environ.update(FORCED)


def events(spec: dict[str, Any]) -> dict[str, Any]:
    import drift_ops
    import yaml
    from counting import SERVICES, RequestCounter, split

    counter = RequestCounter()
    counter.install()
    control_id, ids = spec["control_id"], spec["ids"]
    policy = yaml.safe_load(Path(spec["policy"]).read_text())["policies"][0]
    work = Path(tempfile.mkdtemp(prefix="custodian-lambda-"))
    # What `custodian run` writes into a cloudtrail-mode policy's Lambda package (c7n.mu).
    config = {"execution-options": {"account_id": spec["account_id"], "region": spec["region"]}, "policies": [policy]}
    (work / "config.json").write_text(json.dumps(config))
    os.chdir(work)
    log = logging.FileHandler(spec["log"])  # where Lambda's runtime sends the root logger
    from c7n import handler  # sets the root logger to DEBUG, as in Lambda

    logging.getLogger().addHandler(log)
    rows = []
    for n in range(spec["warmup"] + spec["events"]):
        drift_ops.redrift(control_id, ids)
        event = drift_ops.fresh_event(spec["event"])
        error = None
        with counter.window() as counts:
            started = time.perf_counter()
            try:
                handler.dispatch_event(event, LambdaContext())
            except Exception as e:  # noqa: BLE001 - recorded: the event counts as not fixed
                error = f"{type(e).__name__}: {e}"
            seconds = time.perf_counter() - started
        ok = drift_ops.fixed(control_id, ids)
        if not ok:
            drift_ops.undo(control_id, ids)
        if n >= spec["warmup"]:
            rows.append({"seconds": seconds, "fixed": ok, "error": error, **split(counts, SERVICES[control_id])})
    return {
        "events": rows,
        "median_seconds": statistics.median(r["seconds"] for r in rows),
        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }


def main() -> int:
    spec = json.loads(Path(sys.argv[1]).read_text())
    _force_emulator()
    result = {"events": events}[spec["kind"]](spec)
    Path(spec["result"]).write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
