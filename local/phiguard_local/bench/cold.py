"""Cold start: the handler module's import time in a fresh interpreter, and the deployment package's size."""

from __future__ import annotations

import hashlib
import os
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from phiguard_local.template import ROOT

FUNCTIONS = ROOT / "functions"
SAM_BUILT = ROOT / ".aws-sam" / "build" / "RemediationFunction"
# What the template gives the function (Globals), and what Lambda's runtime sets: with LAMBDA_TASK_ROOT
# set, Powertools' Tracer is enabled and patches botocore at import, as it does in the deployed function.
LAMBDA_ENV = {
    "POWERTOOLS_SERVICE_NAME": "phiguard",
    "POWERTOOLS_METRICS_NAMESPACE": "PHIGuard",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "AWS_LAMBDA_FUNCTION_NAME": "phiguard-RemediationFunction",
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def import_seconds(python: str | Path, module: str, runs: int, cwd: Path, env: dict[str, str]) -> list[float]:
    """`python -X importtime -c "import module"` in a fresh process per run: the module's cumulative time."""
    times = []
    for _ in range(runs):
        done = subprocess.run(
            [str(python), "-X", "importtime", "-c", f"import {module}"],
            cwd=cwd,
            env={**_clean_env(), **env},
            capture_output=True,
            text=True,
            check=True,
        )
        times.append(_cumulative(done.stderr, module))
    return times


def _clean_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")
    return {k: v for k, v in os.environ.items() if k in keep}


def _cumulative(report: str, module: str) -> float:
    """Seconds, from the module's own top-level line of -X importtime's report (cumulative microseconds)."""
    for line in report.splitlines():
        parts = line.split("|")
        if line.startswith("import time:") and len(parts) == 3 and parts[2].rstrip() == f" {module}":
            return int(parts[1]) / 1e6
    raise ValueError(f"{module} not in the import-time report")


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def phiguard_package(out: Path, python: str) -> tuple[Path, str]:
    """The built function: `sam build`'s output when there is one, else functions/ plus its requirements
    installed with pip --target (what sam build does without a container)."""
    if SAM_BUILT.is_dir():
        return SAM_BUILT, "sam build output (.aws-sam/build/RemediationFunction)"
    requirements = FUNCTIONS / "requirements.txt"
    target = out / "package"
    _pip_target(python, target, ["-r", str(requirements)], requirements.read_text())
    shutil.rmtree(target / "phiguard", ignore_errors=True)
    shutil.copytree(FUNCTIONS / "phiguard", target / "phiguard", ignore=shutil.ignore_patterns("__pycache__"))
    return target, "functions/ + functions/requirements.txt installed with pip --target"


def custodian_package(out: Path, python: str, requirement: str) -> Path:
    """c7n and its dependencies installed with pip --target: what a Custodian policy Lambda carries."""
    target = out / "package-c7n"
    _pip_target(python, target, [requirement], requirement)
    return target


def _pip_target(python: str, target: Path, args: list[str], what: str) -> None:
    stamp = target / ".bench-installed"
    digest = hashlib.sha256(what.encode()).hexdigest()
    if stamp.is_file() and stamp.read_text() == digest:
        return
    shutil.rmtree(target, ignore_errors=True)
    done = subprocess.run(
        [
            python,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",
            "--target",
            str(target),
            *args,
        ],
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    # The machine's pip configuration names index directories that need not exist: not worth a line each.
    said = [line for line in done.stderr.splitlines() if not line.startswith("WARNING: Location")]
    if said:
        print("\n".join(said), file=sys.stderr)
    done.check_returncode()
    stamp.write_text(digest)


def megabytes(path: Path) -> float:
    """Size on disk of the files (MiB), byte-compiled caches left out."""
    size = sum(
        f.stat().st_size
        for f in path.rglob("*")
        if f.is_file() and "__pycache__" not in f.parts and f.name != ".bench-installed"
    )
    return size / 2**20
