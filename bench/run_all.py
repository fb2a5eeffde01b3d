"""Every benchmark under bench/, one after another with the same flags, then one combined table.

`make bench` runs this; `--quick` passes through to every script (which then only shows that
it runs). Each script prints its own table when it is done; the combined table at the end
repeats every row and every check, headed by the machine, the time taken, the share of the
machine's CPU that other processes used meanwhile, and how much the speed of a fixed loop
varied (timed on each core before each script and at the end): a neighbour on the same host
slows the cores without showing up as a process. Rerun when either is more than a few percent.
The combined table is also saved as `.bench/all.md` (and its rows as `.bench/all.json`).
A script that fails is reported and makes the exit status 1; a missed target does not.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import RESULTS, Row, arguments, machine, print_table, save

BENCH = Path(__file__).resolve().parent
ORDER = (
    "cold_start",
    "per_call",
    "emulator_ceiling",
    "sequential",
    "concurrency",
    "batch",
    "batch_embeddings",
    "batch_api",
    "account_limit",
)
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


class OtherWork:
    """CPU time other processes used while the benchmarks ran, as a share of all the cores.

    The machine's user and system time (from /proc/stat) less this process's and its children's
    (every script, worker and emulator). Interrupt time is left out on both sides: loopback
    traffic is handled there and belongs to the benchmarks. `None` where /proc is missing.
    """

    def __init__(self) -> None:
        self._machine, self._ours, self._wall = _machine_cpu_seconds(), _our_cpu_seconds(), time.perf_counter()

    def share(self) -> float | None:
        machine = _machine_cpu_seconds()
        if machine is None or self._machine is None:
            return None
        others = (machine - self._machine) - (_our_cpu_seconds() - self._ours)
        return max(0.0, others) / ((time.perf_counter() - self._wall) * (os.cpu_count() or 1))


def _machine_cpu_seconds() -> float | None:
    try:
        first = Path("/proc/stat").read_text().splitlines()[0].split()
    except OSError:
        return None
    user, nice, system = (int(value) for value in first[1:4])
    return (user + nice + system) / os.sysconf("SC_CLK_TCK")


def _our_cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def loop_milliseconds() -> list[float]:
    """On each core in turn, the median of nine timings of a fixed pure-Python loop."""
    cores = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    results = []
    for core in sorted(cores) if cores else [None]:
        if core is not None:
            os.sched_setaffinity(0, {core})
        timings = []
        for _ in range(9):
            start = time.perf_counter()
            total = 0
            for number in range(100_000):
                total += number
            timings.append(time.perf_counter() - start)
        results.append(statistics.median(timings) * 1000)
    if cores:
        os.sched_setaffinity(0, cores)  # the scripts must see every core, to pin server and client apart
    return results


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    other_work, began = OtherWork(), time.perf_counter()
    rows: list[Row] = []
    checks: list[tuple[str, bool]] = []
    failed: list[str] = []
    loop_times: list[float] = []
    for script in scripts():
        loop_times += loop_milliseconds()
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
    loop_times += loop_milliseconds()
    minutes = (time.perf_counter() - began) / 60
    share = other_work.share()
    others = "other processes' CPU use unknown" if share is None else f"other processes used {share:.0%} of the CPU"
    steadiness = f"a fixed loop took {min(loop_times):.1f}–{max(loop_times):.1f} ms ({max(loop_times) / min(loop_times) - 1:+.0%})"
    title = (
        f"All benchmarks{' (--quick: sizes too small to mean anything)' if args.quick else ''} — {machine()}; "
        f"{minutes:.1f} min; {others}; {steadiness}"
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
