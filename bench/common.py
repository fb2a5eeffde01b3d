"""Shared pieces of the benchmark scripts: repeated timing, medians, one table format.

Every script measures its rows in the same run on the same machine and reports medians and
ratios between rows, never a lone absolute time. `--quick` shrinks every size so the test
suite can check that a script still runs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / ".bench"


@dataclass
class Row:
    """One line of a benchmark table."""

    name: str
    value: float
    unit: str
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


def arguments(description: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks the script runs, measures nothing")
    parser.add_argument("--json", metavar="FILE", help="also write the rows as JSON")
    return parser.parse_args()


def median_of(repeats: int, measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(repeats))


def time_subprocess(code: str, *, env: dict[str, str] | None = None) -> float:
    """Wall time of a fresh interpreter running `code`, in seconds."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def machine() -> str:
    cpus = os.cpu_count()
    return f"{platform.machine()}, {cpus} cores, Python {platform.python_version()}, {platform.system()} {platform.release()}"


def print_table(title: str, rows: list[Row], checks: list[tuple[str, bool]] | None = None, out: Any = None) -> None:
    out = out or sys.stdout
    width = max(len(row.name) for row in rows)
    print(f"\n## {title}\n", file=out)
    print(f"| {'row'.ljust(width)} | value | note |", file=out)
    print(f"|{'-' * (width + 2)}|------:|------|", file=out)
    for row in rows:
        print(f"| {row.name.ljust(width)} | {row.value:.2f} {row.unit} | {row.note} |", file=out)
    for label, ok in checks or []:
        print(f"- {'PASS' if ok else 'MISS'}: {label}", file=out)


def save(name: str, rows: list[Row], checks: list[tuple[str, bool]], path: str | None) -> None:
    record = {
        "benchmark": name,
        "machine": machine(),
        "rows": [row.__dict__ for row in rows],
        "checks": [{"label": label, "ok": ok} for label, ok in checks],
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps(record, indent=2))
    if path:
        Path(path).write_text(json.dumps(record, indent=2))
