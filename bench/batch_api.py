"""Batch API mode (`batch ask --via batch-api`): peak memory flat from 10,000 to 200,000 rows.

Each size runs in a fresh interpreter (`run_bulk`, what the command runs) against the emulator
in its own process, on the real clock: the rows are validated and written to JSONL files on
disk (one model, at most 50,000 lines each), uploaded by streaming them from disk, batched,
polled, and the output files downloaded to disk and mapped back to the rows one line at a
time. Nothing grows with the rows but a bit per row (done rows) and 16 bytes per row of the
one file being collected, so the peak resident memory should stay where it is.
Rows: for each size, the wall time and the client's peak memory (ru_maxrss of its process).
Target: the peak at the largest size within 8 MB of the peak at the smallest.
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from common import Row, arguments, print_table, save
from emulator_process import KEY, peak_rss_mb, run_worker, running_emulator_process

MEMORY_TOLERANCE_MB = 8.0
MODEL = "glm-4-flash"  # batchable (and free on the platform)


def write_rows(path: Path, count: int) -> Path:
    with path.open("w") as file:
        for number in range(count):
            file.write(
                json.dumps({"format": "SIMPLE", "model": MODEL, "userPrompt": f"Question number {number}"}) + "\n"
            )
    return path


def batch_api_row(rows_path: str, out_path: str, base_url: str) -> dict[str, float]:
    """Worker: the Batch API run over `rows_path`; its wall time and peak memory; every row checked."""
    from zhipu_connector.host.host import default_host
    from zhipu_connector.workflow.bulk import run_bulk

    host = default_host()
    started = time.perf_counter()
    summary = run_bulk(
        host,
        "batch-api",
        "zhipu",
        "ask",
        rows_path,
        out_path,
        connection={"token": KEY, "baseUrl": base_url},
        options={"poll_seconds": 0.2},
        report=lambda text: None,
    )
    seconds = time.perf_counter() - started
    peak = peak_rss_mb()  # before the results are read back
    with open(rows_path, "rb") as file:
        rows = sum(1 for _ in file)
    with open(out_path, "rb") as file:
        answered = sum(1 for line in file if "output" in json.loads(line))
    if (summary.succeeded, summary.failed, answered) != (rows, 0, rows):
        raise RuntimeError(f"not every row succeeded: {summary.describe(out_path)}; {answered} outputs")
    return {"seconds": seconds, "max_rss_mb": peak, "rows": rows}


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    sizes = (200, 2000) if args.quick else (10_000, 50_000, 200_000)
    results: dict[int, dict[str, float]] = {}
    with (
        tempfile.TemporaryDirectory(prefix="zc-bench-batch-api-") as folder,
        running_emulator_process("--batch-seconds", "1") as emulator,
    ):
        for size in sizes:
            rows = write_rows(Path(folder) / f"rows-{size}.jsonl", size)
            out = Path(folder) / f"out-{size}.jsonl"
            results[size] = run_worker(
                "batch_api", "batch_api_row", rows_path=str(rows), out_path=str(out), base_url=emulator.base_url
            )
            out.unlink()
    smallest, largest = sizes[0], sizes[-1]
    growth = results[largest]["max_rss_mb"] - results[smallest]["max_rss_mb"]
    rows_table = []
    for size in sizes:
        result = results[size]
        per_row = result["seconds"] / size * 1e6
        rows_table.append(
            Row(f"Batch API run of {size} rows: wall time", result["seconds"], "s", f"{per_row:.0f} µs/row")
        )
    for size in sizes:
        note = "fresh process" + (
            f"; {results[size]['max_rss_mb'] - results[smallest]['max_rss_mb']:+.1f} MB beside {smallest} rows"
            if size != smallest
            else ""
        )
        rows_table.append(Row(f"peak memory: Batch API run of {size} rows", results[size]["max_rss_mb"], "MB", note))
    checks = [
        (
            f"peak memory at {largest} rows {growth:+.1f} MB beside {smallest} rows (within {MEMORY_TOLERANCE_MB:.0f} MB)",
            growth <= MEMORY_TOLERANCE_MB,
        )
    ]
    print_table("Batch API mode: memory by rows (emulator process, real clock, 1 s batches)", rows_table, checks)
    save("batch_api", rows_table, checks, args.json)


if __name__ == "__main__":
    main()
