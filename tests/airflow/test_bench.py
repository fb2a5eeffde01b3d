"""The Airflow benchmark still runs (at a toy size, which measures nothing)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from airflow_support import ROOT, SKIP_REASON

pytest.importorskip("airflow.sdk", reason=SKIP_REASON)

pytestmark = pytest.mark.slow


def test_the_operator_overhead_benchmark_prints_its_table_and_check():
    script = Path(ROOT) / "bench" / "airflow" / "overhead.py"
    done = subprocess.run([sys.executable, str(script), "--quick"], capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, (done.stdout + done.stderr)[-3000:]
    rows = [line for line in done.stdout.splitlines() if line.startswith("| ") and not line.startswith("| row")]
    assert [row.split("|")[1].strip() for row in rows][:4] == [
        "ZhipuAskOperator task",
        "PythonOperator, httpx.post",
        "PythonOperator, one httpx.Client",
        "overhead of the generated operator",
    ]
    assert any(line.startswith(("- PASS: ", "- MISS: ")) for line in done.stdout.splitlines())
