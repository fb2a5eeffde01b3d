"""Every benchmark under bench/, one after another with the same flags, then one combined table.

`make bench` runs this; `--quick` passes through to every script (which then only shows that
it runs). Each script prints its own table when it is done; the combined table at the end
repeats every row and every check, headed by the machine, the time taken and the load average
before and after: other work on the machine disturbs the numbers, so rerun when it was high.
The combined table is also saved as `.bench/all.md` (and its rows as `.bench/all.json`).
A script that fails is reported and makes the exit status 1; a missed target does not.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import RESULTS, Row, arguments, machine, print_table, save

BENCH = Path(__file__).resolve().parent
ORDER = ("cold_start", "per_call", "emulator_ceiling", "sequential", "concurrency", "batch")
"""The usual order: the quick in-process scripts, the server's ceiling, then the clients."""


def scripts() -> list[Path]:
    """Every runnable script under bench/ (one with a `__main__` block): `ORDER` first, then the rest by name."""
    found = {
        path.stem: path
        for path in BENCH.glob("*.py")
        if path.stem != "run_all" and 'if __name__ == "__main__":' in path.read_text()
    }
    ordered = [found.pop(name) for name in ORDER if name in found]
    return ordered + [found[name] for name in sorted(found)]


def run_script(script: Path, quick: bool) -> tuple[dict | None, float]:
    """Run one script (its output goes straight through); its saved record, and its wall time."""
    with tempfile.TemporaryDirectory(prefix="zc-bench-") as folder:
        record_path = Path(folder) / "record.json"
        command = [sys.executable, str(script), "--json", str(record_path)] + (["--quick"] if quick else [])
        started = time.perf_counter()
        done = subprocess.run(command)
        seconds = time.perf_counter() - started
        if done.returncode != 0 or not record_path.exists():
            return None, seconds
        return json.loads(record_path.read_text()), seconds


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    load_before, began = os.getloadavg()[0], time.perf_counter()
    rows: list[Row] = []
    checks: list[tuple[str, bool]] = []
    failed: list[str] = []
    for script in scripts():
        print(f"\n# {script.name}", flush=True)
        record, seconds = run_script(script, args.quick)
        if record is None:
            failed.append(script.stem)
            checks.append((f"{script.stem}: the script failed (see its output above)", False))
            continue
        name = record["benchmark"]
        for row in record["rows"]:
            rows.append(Row(f"{name}: {row['name']}", row["value"], row["unit"], row["note"], row.get("extra", {})))
        checks += [(f"{name}: {check['label']}", check["ok"]) for check in record["checks"]]
        print(f"({script.name}: {seconds:.0f} s)", flush=True)
    minutes = (time.perf_counter() - began) / 60
    title = (
        f"All benchmarks{' (--quick: sizes too small to mean anything)' if args.quick else ''} — {machine()}; "
        f"{minutes:.1f} min; load average {load_before:.2f} before, {os.getloadavg()[0]:.2f} after"
    )
    if rows:
        print_table(title, rows, checks)
        RESULTS.mkdir(exist_ok=True)
        with (RESULTS / "all.md").open("w") as out:
            print_table(title, rows, checks, out=out)
        save("all", rows, checks, args.json)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
