"""An account's limit on requests in flight: `--concurrency auto` beside a fixed 4×C and the SDK.

The emulator (its own process and core) admits at most C requests in flight and answers the
rest 429/1302, as the platform does per account; each admitted call takes a fixed latency. For
each cap C, side by side in one run, each in a fresh worker process:
- `batch --concurrency auto` (the default): the connector's adaptive limit finds C by itself;
- `batch --concurrency C` with the limiter off: an oracle that knows the limit, for the best
  this machine can do (its calls take a little longer than the latency, on loaded cores more);
- `batch --concurrency 4×C` with the limiter off: a fixed concurrency above the account's
  limit, with the client's own retries (3, backing off 0.5, 1, 2 s);
- the official `zhipuai` SDK in a pool of 4×C threads, each row one call (its own retries).
Measured: rows per second against the ideal C ÷ latency, the share of requests the emulator
answered 1302 (its own count), and rows lost (a row whose result is an error).
Targets for auto: ≥ 0.9 × C ÷ latency, ≤ 2% of requests answered 1302, 0 rows lost; its
share of the oracle's throughput is shown beside.
"""

from __future__ import annotations

import json
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from common import Row, arguments, print_table, save
from emulator_process import KEY, MESSAGES, MODEL, pin_this_process, run_worker, running_emulator_process

CAPS = (8, 32)
LATENCY = 0.2
ROUND_TRIPS = 50  # rows = 2 × ROUND_TRIPS × C: 100 round trips, 20 s of ideal work at 200 ms
SDK_RETRIES = 3


def write_rows(path: Path, count: int) -> None:
    with path.open("w") as file:
        for number in range(count):
            inputs = {"model": MODEL, "messages": [{"role": "user", "content": f"{MESSAGES[0]['content']} ({number})"}]}
            file.write(json.dumps(inputs) + "\n")


# ---------------------------------------------------------------- in the worker process


def batch_row(rows_path: str, base_url: str, concurrency: str | int, limiter: str) -> dict[str, float]:
    """Worker: one `run_batch` over the rows; its wall time, rows done and rows lost."""
    import asyncio

    from zhipu_connector.host.host import default_host
    from zhipu_connector.workflow.batch import run_batch

    host = default_host()
    connection = host.connection("zhipu", {"token": KEY, "baseUrl": base_url, "limiter": limiter})
    out = Path(tempfile.mkdtemp(prefix="zc-bench-")) / "results.jsonl"
    started = time.perf_counter()
    summary = asyncio.run(
        run_batch(host, "zhipu", "ask", rows_path, out, concurrency=concurrency, connection=connection)
    )
    seconds = time.perf_counter() - started
    lost = sum(1 for line in out.read_text().splitlines() if '"error"' in line)
    return {"seconds": seconds, "rows": summary.rows, "succeeded": summary.succeeded, "lost": lost}


def sdk_row(rows_path: str, base_url: str, threads: int) -> dict[str, float]:
    """Worker: the official SDK, one shared client, one call per row from a pool of `threads`."""
    import httpx
    from zhipuai import ZhipuAI

    limits = httpx.Limits(max_connections=threads, max_keepalive_connections=threads)
    client = ZhipuAI(
        api_key=KEY, base_url=base_url + "/", max_retries=SDK_RETRIES, http_client=httpx.Client(limits=limits)
    )
    rows = [json.loads(line) for line in Path(rows_path).read_text().splitlines()]

    def call(inputs: dict[str, Any]) -> bool:
        try:
            client.chat.completions.create(model=inputs["model"], messages=inputs["messages"])
        except Exception:  # the SDK gave up on this row
            return False
        return True

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(pool.map(call, rows))
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "rows": len(rows), "succeeded": sum(results), "lost": results.count(False)}


# ---------------------------------------------------------------- the benchmark


def emulator_counts(base_url: str, reset: bool = False) -> dict[str, int]:
    import httpx

    url = base_url.split("/api/")[0] + "/emulator/concurrency"
    response = httpx.put(url, json={"reset": True}) if reset else httpx.get(url)
    return response.json()  # type: ignore[no-any-return]


def measure_cap(cap: int, latency: float, rows: int, folder: Path) -> list[tuple[str, dict[str, float]]]:
    rows_path = folder / f"rows-{cap}.jsonl"
    write_rows(rows_path, rows)
    options = ("--max-concurrent-requests", str(cap), "--fault", f"slow;seconds={latency}")
    measured: list[tuple[str, dict[str, float]]] = []
    with running_emulator_process(*options) as emulator:
        base = {"rows_path": str(rows_path), "base_url": emulator.base_url}
        plan: list[tuple[str, str, dict[str, Any]]] = [
            ("auto", "batch_row", {"concurrency": "auto", "limiter": "auto"}),
            (f"fixed {cap}, knowing the limit", "batch_row", {"concurrency": cap, "limiter": "off"}),
            (f"fixed {4 * cap}", "batch_row", {"concurrency": 4 * cap, "limiter": "off"}),
            (f"SDK, {4 * cap} threads", "sdk_row", {"threads": 4 * cap}),
        ]
        for name, function, extra in plan:
            emulator_counts(emulator.base_url, reset=True)
            result = run_worker("account_limit", function, **base, **extra)
            counts = emulator_counts(emulator.base_url)
            result["refused_share"] = counts["refused"] / max(1, counts["requests"])
            result["peak_in_flight"] = counts["peak_in_flight"]
            result["ideal"] = cap / latency
            result["ratio"] = result["succeeded"] / result["seconds"] / result["ideal"]
            measured.append((name, result))
    return measured


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    caps, latency, trips = ((4,), 0.02, 10) if args.quick else (CAPS, LATENCY, ROUND_TRIPS)
    pin_this_process()
    rows: list[Row] = []
    checks: list[tuple[str, bool]] = []
    with tempfile.TemporaryDirectory(prefix="zc-bench-") as folder:
        for cap in caps:
            count = cap * trips * 2
            measured = measure_cap(cap, latency, count, Path(folder))
            oracle = measured[1][1]["succeeded"] / measured[1][1]["seconds"]
            for name, result in measured:
                versus_oracle = result["succeeded"] / result["seconds"] / oracle
                note = (
                    f"{result['ratio']:.2f}× the ideal {result['ideal']:.0f}/s, {versus_oracle:.2f}× the oracle's; "
                    f"{result['refused_share']:.1%} of requests answered 1302; {result['lost']:.0f} rows lost; "
                    f"peak {result['peak_in_flight']:.0f} in flight"
                )
                rows.append(Row(f"cap {cap}: {name}", result["succeeded"] / result["seconds"], "rows/s", note, result))
                if name == "auto":
                    checks += [
                        (f"cap {cap}: auto {result['ratio']:.2f}× C ÷ latency ≥ 0.9×", result["ratio"] >= 0.9),
                        (
                            f"cap {cap}: auto {result['refused_share']:.1%} answered 1302 ≤ 2%",
                            result["refused_share"] <= 0.02,
                        ),
                        (f"cap {cap}: auto lost {result['lost']:.0f} rows = 0", result["lost"] == 0),
                    ]
    title = (
        f"Batches against an account limit of C in flight, {latency * 1000:.0f} ms per call (rows = {trips * 2} × C)"
    )
    print_table(title, rows, checks)
    save("account_limit", rows, checks, args.json)


if __name__ == "__main__":
    main()
