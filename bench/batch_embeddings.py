"""Batch embeddings keep batch Ask's throughput ratio: each batch beside its own action's async dispatch.

`run_batch` (what `zhipu-connector batch` runs) over a JSONL file of rows, against the emulator
(a separate uvicorn process on its own core), for two actions: Ask, and Create embeddings with
`dimensions: 256` (one 256-number vector per row, written to the results file). Each
measurement runs in a fresh interpreter after the same warm-up, rounds interleave the rows, and
each ratio is taken within its round:
- host async dispatch of the action, N calls with C in flight;
- the batch over N rows of the same inputs at concurrency C.
The batch engine adds the same small cost to any action, so the ratio batch ÷ async dispatch
should be the same for both: the target is the embeddings ratio within 10 % of Ask's.
"""

from __future__ import annotations

import json
import statistics
import tempfile
from pathlib import Path
from typing import Any

from batch import write_rows
from common import Row, arguments, print_table, save
from concurrency import drive, event_loop_name, rotated, run_on_loop
from emulator_process import KEY, Meter, peak_rss_mb, pin_this_process, run_worker, running_emulator_process

EMBED_INPUTS = {"model": "embedding-3", "text": "lighthouses on a rocky coast at dawn", "dimensions": 256}
TOLERANCE = 0.10


async def embed_call(base_url: str) -> Any:
    from zhipu_connector.host.host import default_host

    host = default_host()
    connection = host.connection("zhipu", {"token": KEY, "baseUrl": base_url})

    async def call() -> str:
        result = await host.arun_action("zhipu", "createEmbeddings", EMBED_INPUTS, connection)
        if len(result["data"][0]["embedding"]) != 256:
            raise AssertionError("a vector of the wrong size")
        return "lighthouses"  # what `drive` checks every answer for

    return call


def embed_host_row(base_url: str, calls: int, in_flight: int, server_pid: int) -> dict[str, float]:
    """Worker: host async dispatch of Create embeddings, warmed up as the Ask rows are."""
    meter = Meter(calls, server_pid)

    async def main() -> None:
        call = await embed_call(base_url)
        await drive(call, in_flight, in_flight)
        with meter:
            await drive(call, calls, in_flight)

    run_on_loop(main())
    return {**meter.result, "max_rss_mb": peak_rss_mb()}


def embed_batch_row(
    rows_path: str, out_path: str, base_url: str, concurrency: int, server_pid: int
) -> dict[str, float]:
    """Worker: `run_batch` of Create embeddings over `rows_path`; every result line checked."""
    from zhipu_connector.host.host import default_host
    from zhipu_connector.workflow.batch import run_batch

    host = default_host()
    connection = host.connection("zhipu", {"token": KEY, "baseUrl": base_url})
    with open(rows_path, "rb") as file:
        rows = sum(1 for _ in file)
    meter = Meter(rows, server_pid)

    async def main() -> Any:
        await drive(await embed_call(base_url), concurrency, concurrency)
        with meter:
            return await run_batch(
                host, "zhipu", "createEmbeddings", rows_path, out_path, concurrency=concurrency, connection=connection
            )

    summary = run_on_loop(main())
    if (summary.succeeded, summary.failed) != (rows, 0):
        raise RuntimeError(f"the batch did not succeed on every row: {summary.describe(out_path)}")
    with open(out_path, "rb") as file:
        sized = sum(1 for line in file if len(json.loads(line)["output"]["data"][0]["embedding"]) == 256)
    if sized != rows:
        raise RuntimeError(f"{rows - sized} of {rows} result lines lack a 256-number vector")
    return {**meter.result, "max_rss_mb": peak_rss_mb()}


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    calls, concurrency, rounds = (100, 20, 1) if args.quick else (2000, 200, 3)
    pin_this_process()
    names = {
        "ask host": f"Ask: host async dispatch, {calls} calls, {concurrency} in flight",
        "ask batch": f"Ask: batch of {calls} rows, concurrency {concurrency}",
        "embed host": f"Create embeddings (256 dims): host async dispatch, {calls} calls, {concurrency} in flight",
        "embed batch": f"Create embeddings (256 dims): batch of {calls} rows, concurrency {concurrency}",
    }
    results: dict[str, list[dict[str, float]]] = {key: [] for key in names}
    with tempfile.TemporaryDirectory(prefix="zc-bench-embed-") as folder, running_emulator_process() as emulator:
        ask_rows = write_rows(Path(folder) / "ask.jsonl", calls)
        embed_rows = Path(folder) / "embed.jsonl"
        embed_rows.write_text((json.dumps(EMBED_INPUTS) + "\n") * calls)
        common = {"base_url": emulator.base_url, "server_pid": emulator.pid}
        for round_number in range(rounds):
            for key in rotated(list(results), round_number):
                out = Path(folder) / f"out-{round_number}-{key.replace(' ', '-')}.jsonl"
                if key == "ask host":
                    result = run_worker(
                        "concurrency", "async_row", row="host", calls=calls, in_flight=concurrency, **common
                    )
                elif key == "embed host":
                    result = run_worker(
                        "batch_embeddings", "embed_host_row", calls=calls, in_flight=concurrency, **common
                    )
                elif key == "ask batch":
                    result = run_worker(
                        "batch",
                        "batch_row",
                        rows_path=str(ask_rows),
                        out_path=str(out),
                        concurrency=concurrency,
                        **common,
                    )
                else:
                    result = run_worker(
                        "batch_embeddings",
                        "embed_batch_row",
                        rows_path=str(embed_rows),
                        out_path=str(out),
                        concurrency=concurrency,
                        **common,
                    )
                out.unlink(missing_ok=True)
                results[key].append(result)
        stack = emulator.fast_stack()
        pinning = emulator.placement()

    def median(key: str, field: str) -> float:
        return statistics.median(result[field] for result in results[key])

    def ratio(numerator: str, denominator: str) -> float:
        pairs = zip(results[numerator], results[denominator])
        return statistics.median(a["per_second"] / b["per_second"] for a, b in pairs)

    ask_ratio, embed_ratio = ratio("ask batch", "ask host"), ratio("embed batch", "embed host")
    rows = []
    for key, name in names.items():
        base = "ask host" if key.startswith("ask") else "embed host"
        note = (
            f"{ratio(key, base):.2f}× its host async row; client CPU {median(key, 'cpu_us_per_call'):.0f} µs/call; "
            f"server {median(key, 'server_busy'):.0%} busy"
        )
        rows.append(Row(name, median(key, "per_second"), "calls/s", note))
    relative = embed_ratio / ask_ratio
    checks = [
        (
            f"batch ÷ host async: embeddings {embed_ratio:.2f}×, Ask {ask_ratio:.2f}× — "
            f"the embeddings ratio {relative:.2f}× Ask's (within ±{TOLERANCE:.0%})",
            abs(relative - 1) <= TOLERANCE,
        )
    ]
    title = f"Batch embeddings beside batch Ask over loopback (median of {rounds} rounds; {event_loop_name()}; {stack}; {pinning})"
    print_table(title, rows, checks)
    save("batch_embeddings", rows, checks, args.json)


if __name__ == "__main__":
    main()
