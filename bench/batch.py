"""A batch of 20,000 Asks at concurrency 200: throughput beside plain async dispatch, flat memory.

The batch engine's function API (`run_batch`, what `zhipu-connector batch` runs) reads a JSONL
rows file and writes one result line per row, against the emulator (a separate uvicorn process
on its own core). Each measurement runs in a fresh interpreter, on the same event loop as the
async rows of concurrency.py, after the same warm-up (one burst of 200 calls opens the pool);
rounds interleave the rows and each ratio is taken within its round.
Rows:
- host async dispatch, 2,000 calls with 200 in flight (concurrency.py's row, measured here
  again so that the ratio is within one run);
- the batch over 20,000 rows and over 2,000 rows, at concurrency 200;
- the peak resident memory of each (ru_maxrss of its fresh process).
Targets: the 20,000-row batch ≥ 0.8× the async host row's throughput; peak memory the same
at 2,000 and 20,000 rows (within 2 MB: keeping each result would take ~10 MB more).
"""

from __future__ import annotations

import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

from common import Row, arguments, print_table, save
from concurrency import EXPECTED, drive, event_loop_name, host_call, rotated, run_on_loop
from emulator_process import ASK_INPUTS, KEY, Meter, peak_rss_mb, pin_this_process, run_worker, running_emulator_process

MEMORY_TOLERANCE_MB = 2.0


def write_rows(path: Path, count: int) -> Path:
    """`count` lines of Ask inputs, the same body as every other row of the benchmarks."""
    line = json.dumps(ASK_INPUTS) + "\n"
    with path.open("w") as file:
        for _ in range(count):
            file.write(line)
    return path


def batch_row(rows_path: str, out_path: str, base_url: str, concurrency: int, server_pid: int) -> dict[str, float]:
    """Worker: `run_batch` over `rows_path`; its throughput and peak memory; every result checked."""
    from zhipu_connector.host.host import default_host
    from zhipu_connector.workflow.batch import run_batch

    host = default_host()
    connection = host.connection("zhipu", {"token": KEY, "baseUrl": base_url})
    with open(rows_path, "rb") as file:
        rows = sum(1 for _ in file)
    meter = Meter(rows, server_pid)

    async def main() -> Any:
        await drive(await host_call(base_url, concurrency), concurrency, concurrency)  # as the async host row
        with meter:
            return await run_batch(
                host, "zhipu", "ask", rows_path, out_path, concurrency=concurrency, connection=connection
            )

    summary = run_on_loop(main())
    peak = peak_rss_mb()  # before the results are read back
    if (summary.succeeded, summary.failed) != (rows, 0):
        raise RuntimeError(f"the batch did not succeed on every row: {summary.describe(out_path)}")
    with open(out_path, "rb") as file:
        answered = sum(1 for line in file if EXPECTED in json.loads(line)["output"])
    if answered != rows:
        raise RuntimeError(f"{rows - answered} of {rows} result lines lack the expected answer")
    return {**meter.result, "max_rss_mb": peak}


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    small, large, concurrency, rounds = (100, 1000, 20, 1) if args.quick else (2000, 20000, 200, 3)
    pin_this_process()
    host_name = f"host async dispatch, {small} calls, {concurrency} in flight"
    large_name, small_name = (
        f"batch of {large} rows, concurrency {concurrency}",
        f"batch of {small} rows, concurrency {concurrency}",
    )
    results: dict[str, list[dict[str, float]]] = {host_name: [], large_name: [], small_name: []}
    with tempfile.TemporaryDirectory(prefix="zc-bench-batch-") as folder, running_emulator_process() as emulator:
        rows_files = {
            large_name: write_rows(Path(folder) / "large.jsonl", large),
            small_name: write_rows(Path(folder) / "small.jsonl", small),
        }
        for round_number in range(rounds):
            for name in rotated(list(results), round_number):
                if name == host_name:
                    result = run_worker(
                        "concurrency",
                        "async_row",
                        row="host",
                        base_url=emulator.base_url,
                        calls=small,
                        in_flight=concurrency,
                        server_pid=emulator.pid,
                    )
                else:
                    out = Path(folder) / f"results-{round_number}-{rows_files[name].stem}.jsonl"
                    result = run_worker(
                        "batch",
                        "batch_row",
                        rows_path=str(rows_files[name]),
                        out_path=str(out),
                        base_url=emulator.base_url,
                        concurrency=concurrency,
                        server_pid=emulator.pid,
                    )
                    out.unlink()
                results[name].append(result)
        stack = emulator.fast_stack()
        pinning = emulator.placement()

    def median(name: str, key: str) -> float:
        return statistics.median(result[key] for result in results[name])

    def ratio(numerator: str, denominator: str, key: str) -> float:
        pairs = zip(results[numerator], results[denominator])
        return statistics.median(a[key] / b[key] for a, b in pairs)

    versus_host = ratio(large_name, host_name, "per_second")
    growth = statistics.median(
        a["max_rss_mb"] - b["max_rss_mb"] for a, b in zip(results[large_name], results[small_name])
    )
    rows = []
    for name in results:
        note = (
            f"{ratio(name, host_name, 'per_second'):.2f}× host async; client CPU {median(name, 'cpu_us_per_call'):.0f} µs/call; "
            f"server {median(name, 'server_busy'):.0%} busy"
        )
        rows.append(Row(name, median(name, "per_second"), "calls/s", note))
    for name in results:
        note = "fresh process" + (f"; {growth:+.1f} MB beside {small} rows" if name == large_name else "")
        rows.append(Row(f"peak memory: {name}", median(name, "max_rss_mb"), "MB", note))
    checks = [
        (f"batch of {large} rows {versus_host:.2f}× the async host row's throughput ≥ 0.8×", versus_host >= 0.8),
        (
            f"peak memory at {large} rows {growth:+.1f} MB beside {small} rows (within ±{MEMORY_TOLERANCE_MB:.0f} MB)",
            abs(growth) <= MEMORY_TOLERANCE_MB,
        ),
    ]
    title = f"Batch runs over loopback (median of {rounds} rounds; {event_loop_name()}; {stack}; {pinning})"
    print_table(title, rows, checks)
    save("batch", rows, checks, args.json)


if __name__ == "__main__":
    main()
