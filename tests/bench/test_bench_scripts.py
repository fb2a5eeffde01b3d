"""Every benchmark script still runs: each with `--quick`, and `run_all.py` over all of them.

`--quick` sizes measure nothing, so nothing here looks at a number: only that each script
finishes, prints its table with its rows and its PASS/MISS checks, and that the combined table
holds every script's rows.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
SCRIPTS = sorted(
    path.stem
    for path in BENCH.glob("*.py")
    if path.stem != "run_all" and 'if __name__ == "__main__":' in path.read_text()
)


def run_quick(script: str) -> str:
    done = subprocess.run(
        [sys.executable, str(BENCH / f"{script}.py"), "--quick"], capture_output=True, text=True, timeout=240
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def table_rows(output: str) -> list[str]:
    """The data lines of the tables in `output` (not their headers or rules)."""
    return [line for line in output.splitlines() if line.startswith("| ") and not line.startswith("| row")]


def test_every_benchmark_of_the_performance_page_is_there() -> None:
    assert {
        "cold_start",
        "per_call",
        "sequential",
        "concurrency",
        "batch",
        "batch_api",
        "emulator_ceiling",
        "account_limit",
    } <= set(SCRIPTS)


@pytest.mark.slow
@pytest.mark.parametrize("script", SCRIPTS)
def test_a_script_prints_its_table_and_checks(script: str) -> None:
    output = run_quick(script)
    assert "\n## " in output and "| row " in output
    assert table_rows(output), output
    checks = [line for line in output.splitlines() if line.startswith(("- PASS: ", "- MISS: "))]
    assert checks, output


@pytest.mark.slow
def test_run_all_prints_one_table_with_every_script() -> None:
    output = run_quick("run_all")
    combined = output[output.rindex("## All benchmarks") :]
    benchmarks = {line[2:].split(":", 1)[0] for line in table_rows(combined)}
    assert benchmarks == set(SCRIPTS)
    assert "- PASS: " in combined or "- MISS: " in combined
