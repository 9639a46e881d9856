"""Rows of the results: one object per metric, written to results.json and printed as a table."""

from __future__ import annotations

import json
import math
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Metrics where more is better; for every other one (calls, seconds, megabytes) less is better.
THROUGHPUT_PREFIX = "sweep_resources_per_second"


@dataclass(frozen=True)
class Row:
    metric: str
    phiguard: float
    custodian: float | None
    unit: str

    @property
    def advantage(self) -> float | None:
        """How many times better PHI Guard is: custodian/phiguard for costs, phiguard/custodian for throughput."""
        if self.custodian is None:
            return None
        if self.metric.startswith(THROUGHPUT_PREFIX):
            return round(self.phiguard / self.custodian, 2) if self.custodian else None
        if self.phiguard == 0:
            return None  # JSON has no infinity
        return round(self.custodian / self.phiguard, 2)

    def to_json(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "phiguard": self.phiguard,
            "custodian": self.custodian,
            "unit": self.unit,
            "advantage": self.advantage,
        }


def p95(values: list[float]) -> float:
    """The 95th percentile, nearest rank (the value 95% of the samples do not exceed)."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def _number(value: float | None) -> str:
    if value is None:
        return "null"
    if float(value).is_integer():
        return f"{int(value):,}"
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if value < 10 else f"{value:.1f}"


def table(rows: list[Row]) -> str:
    """The rows as a Markdown table (what the README's Performance section shows)."""
    lines = [
        "| metric | PHI Guard | Custodian | unit | advantage |",
        "| --- | ---: | ---: | --- | ---: |",
    ]
    for row in rows:
        advantage = row.advantage
        shown = "null" if advantage is None else f"{_number(advantage)}x"
        lines.append(f"| {row.metric} | {_number(row.phiguard)} | {_number(row.custodian)} | {row.unit} | {shown} |")
    return "\n".join(lines)


def write(rows: list[Row], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps([r.to_json() for r in rows], indent=2) + "\n")
