"""Batch embeddings keep batch Ask's throughput ratio: each batch beside its own action's async dispatch.

`run_batch` (what `zhipu-connector batch` runs) over a JSONL file of rows, against the emulator
(a separate uvicorn process on its own core), for two actions: Ask, and Create embeddings with
`dimensions: 256` (one 256-number vector per row, written to the results file). Four rows:
- host async dispatch of each action, N calls with C in flight;
- the batch over N rows of the same inputs at concurrency C, for each action.
The batch engine adds the same small cost to any action, so the ratio batch ÷ async dispatch
should be the same for both: the target is the embeddings ratio within 10 % of Ask's.

How it is measured, and why so: this machine's cores change speed from one second to the
next, by more than the 10 % the target allows, so measurements taken far apart cannot be
compared. Each round is one fresh interpreter that, after one warm-up of each action, measures
the four rows back to back (in an order that rotates from one repetition to the next) several
times; each repetition gives one ratio of ratios, (embeddings batch ÷ embeddings async) ÷ (Ask
batch ÷ Ask async), from four measurements a few seconds apart. The check takes the median of
every repetition of every round. The first version took one row per interpreter and compared
rows a minute apart: the same code read 0.89× and 1.14× in two runs.
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
from emulator_process import ASK_INPUTS, KEY, Meter, pin_this_process, run_worker, running_emulator_process

EMBED_INPUTS = {"model": "embedding-3", "text": "lighthouses on a rocky coast at dawn", "dimensions": 256}
TOLERANCE = 0.10
ROWS = ("ask host", "ask batch", "embed host", "embed batch")
ACTIONS = {"ask": "ask", "embed": "createEmbeddings"}


def checked_call(host: Any, connection: Any, kind: str, inputs: dict[str, Any]) -> Any:
    """One action call that checks its answer, returning what `drive` checks every answer for."""
    action = ACTIONS[kind]

    async def call() -> str:
        result = await host.arun_action("zhipu", action, inputs, connection)
        if kind == "embed":
            if len(result["data"][0]["embedding"]) != 256:
                raise AssertionError("a vector of the wrong size")
            return "lighthouses"
        return str(result)

    return call


def check_results(kind: str, out_path: str, rows: int) -> None:
    """Every result line of a batch holds its row's answer: a 256-number vector, or the Ask reply."""
    with open(out_path, "rb") as file:
        records = [json.loads(line) for line in file]
    if kind == "embed":
        good = sum(1 for record in records if len(record["output"]["data"][0]["embedding"]) == 256)
    else:
        good = sum(1 for record in records if "lighthouses" in record["output"])
    if good != rows:
        raise RuntimeError(f"{rows - good} of {rows} {kind} result lines lack their answer")


def paired_round(
    rows_paths: dict[str, str], out_dir: str, base_url: str, calls: int, concurrency: int, server_pid: int, repeats: int
) -> dict[str, Any]:
    """Worker: the four rows back to back, `repeats` times in a rotating order.

    Returns each row's meters (`rows`) and the seconds they measured in all (`seconds`: what
    `run_worker` compares with the worker's whole time, to warn of a stalled warm-up).
    """
    from zhipu_connector.host.host import default_host
    from zhipu_connector.workflow.batch import run_batch

    host = default_host()
    connection = host.connection("zhipu", {"token": KEY, "baseUrl": base_url})
    inputs: dict[str, dict[str, Any]] = {"ask": ASK_INPUTS, "embed": EMBED_INPUTS}
    calls_of = {kind: checked_call(host, connection, kind, inputs[kind]) for kind in ACTIONS}
    results: dict[str, list[dict[str, float]]] = {row: [] for row in ROWS}

    async def measure(row: str, repeat: int) -> None:
        kind, what = row.split()
        meter = Meter(calls, server_pid)
        if what == "host":
            with meter:
                await drive(calls_of[kind], calls, concurrency)
        else:
            out_path = str(Path(out_dir) / f"{kind}-{repeat}.jsonl")
            with meter:
                summary = await run_batch(
                    host,
                    "zhipu",
                    ACTIONS[kind],
                    rows_paths[kind],
                    out_path,
                    concurrency=concurrency,
                    connection=connection,
                )
            if (summary.succeeded, summary.failed) != (calls, 0):
                raise RuntimeError(f"the {kind} batch did not succeed on every row: {summary.describe(out_path)}")
            check_results(kind, out_path, calls)
            Path(out_path).unlink()
        results[row].append(meter.result)

    async def main() -> None:
        for kind in ACTIONS:  # the same warm-up for both actions: their clients and connections open
            await drive(calls_of[kind], concurrency, concurrency)
        for repeat in range(repeats):
            for row in rotated(list(ROWS), repeat):
                await measure(row, repeat)

    run_on_loop(main())
    return {"rows": results, "seconds": sum(meter["seconds"] for row in results.values() for meter in row)}


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    calls, concurrency, rounds, repeats = (100, 20, 1, 1) if args.quick else (2000, 200, 3, 4)
    pin_this_process()
    names = {
        "ask host": f"Ask: host async dispatch, {calls} calls, {concurrency} in flight",
        "ask batch": f"Ask: batch of {calls} rows, concurrency {concurrency}",
        "embed host": f"Create embeddings (256 dims): host async dispatch, {calls} calls, {concurrency} in flight",
        "embed batch": f"Create embeddings (256 dims): batch of {calls} rows, concurrency {concurrency}",
    }
    measured: dict[str, list[dict[str, float]]] = {row: [] for row in ROWS}
    with tempfile.TemporaryDirectory(prefix="zc-bench-embed-") as folder, running_emulator_process() as emulator:
        ask_rows = write_rows(Path(folder) / "ask.jsonl", calls)
        embed_rows = Path(folder) / "embed.jsonl"
        embed_rows.write_text((json.dumps(EMBED_INPUTS) + "\n") * calls)
        for _ in range(rounds):
            result = run_worker(
                "batch_embeddings",
                "paired_round",
                rows_paths={"ask": str(ask_rows), "embed": str(embed_rows)},
                out_dir=folder,
                base_url=emulator.base_url,
                calls=calls,
                concurrency=concurrency,
                server_pid=emulator.pid,
                repeats=repeats,
            )
            for row in ROWS:
                measured[row] += result["rows"][row]
        stack = emulator.fast_stack()
        pinning = emulator.placement()

    def median(row: str, field: str) -> float:
        return statistics.median(result[field] for result in measured[row])

    def ratios(kind: str) -> list[float]:
        pairs = zip(measured[f"{kind} batch"], measured[f"{kind} host"])
        return [batch["per_second"] / host["per_second"] for batch, host in pairs]

    ask_ratios, embed_ratios = ratios("ask"), ratios("embed")
    relatives = [embed / ask for embed, ask in zip(embed_ratios, ask_ratios)]
    relative = statistics.median(relatives)
    rows = []
    for row, name in names.items():
        kind = row.split()[0]
        note = (
            f"{statistics.median(ratios(kind)) if row.endswith('batch') else 1.0:.2f}× its host async row; "
            f"client CPU {median(row, 'cpu_us_per_call'):.0f} µs/call; server {median(row, 'server_busy'):.0%} busy"
        )
        rows.append(Row(name, median(row, "per_second"), "calls/s", note))
    spread = f"{min(relatives):.2f}–{max(relatives):.2f}" if relatives else "none"
    checks = [
        (
            f"batch ÷ host async: embeddings {statistics.median(embed_ratios):.2f}×, Ask "
            f"{statistics.median(ask_ratios):.2f}× — the embeddings ratio {relative:.2f}× Ask's, median of "
            f"{len(relatives)} repetitions ({spread}) (within ±{TOLERANCE:.0%})",
            abs(relative - 1) <= TOLERANCE,
        )
    ]
    title = (
        f"Batch embeddings beside batch Ask over loopback ({rounds} rounds × {repeats} repetitions, "
        f"medians; {event_loop_name()}; {stack}; {pinning})"
    )
    print_table(title, rows, checks)
    save("batch_embeddings", rows, checks, args.json)


if __name__ == "__main__":
    main()
