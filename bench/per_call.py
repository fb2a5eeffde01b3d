"""Client-side cost of one Ask, in-process: every row talks to the same `httpx.MockTransport`.

The transport answers a fixed chat reply at once, so what is measured is only what each
client does around the HTTP exchange: building the request, validating, parsing the answer.
Rows: host dispatch (input and output validation included); a bare `httpx.Client.post` +
`.json()` of the same body; the official `zhipuai` SDK; the `openai` client pointed at the same
URL. Rounds interleave the rows, and each ratio is taken within its round.
Target: host dispatch ≤ 1.5× bare httpx.

The rounds run in several fresh interpreters, not one: the ratio differs more between two
interpreters running the same code (1.21× in one, 1.56× in another, on a quiet machine) than
between the rounds of one, so rounds in a single interpreter measured that interpreter's luck
(where its allocations fell, when its full garbage collections came). The value is the median
over every round of every interpreter, and the note gives the interpreters' own medians.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable
from typing import Any

import httpx
from common import Row, arguments, print_table, save

BASE_URL = "http://emulator.invalid/api/paas/v4"
KEY = "bench1234.benchsecretvalue"
MESSAGES = [{"role": "user", "content": "Write one sentence about lighthouses."}]
REPLY = json.dumps(
    {
        "id": "8311",
        "request_id": "bench",
        "created": 1735689600,
        "model": "glm-4-flash",
        "choices": [
            {
                "index": 0,
                "finish_reason": "stop",
                "message": {"role": "assistant", "content": "Lighthouses guide ships home."},
            }
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": 5, "total_tokens": 14},
    }
).encode()


def answer(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, content=REPLY, headers={"content-type": "application/json"})


def bare_httpx() -> Callable[[], Any]:
    client = httpx.Client(transport=httpx.MockTransport(answer))
    headers = {"Authorization": f"Bearer {KEY}"}
    body = {"model": "glm-4-flash", "messages": MESSAGES}
    return lambda: client.post(f"{BASE_URL}/chat/completions", json=body, headers=headers).json()["choices"][0][
        "message"
    ]["content"]


def host_dispatch() -> Callable[[], Any]:
    from zhipu_connector.host.host import default_host
    from zhipu_connector.zhipu import connections

    connections.configure(transport_factory=lambda kind: httpx.MockTransport(answer))
    host = default_host()
    connection = host.connection("zhipu", {"token": KEY, "baseUrl": BASE_URL})
    inputs = {"model": "glm-4-flash", "messages": MESSAGES}
    return lambda: host.run_action("zhipu", "ask", inputs, connection)


def zhipuai_sdk() -> Callable[[], Any]:
    from zhipuai import ZhipuAI

    client = ZhipuAI(api_key=KEY, base_url=BASE_URL, http_client=httpx.Client(transport=httpx.MockTransport(answer)))
    return lambda: client.chat.completions.create(model="glm-4-flash", messages=MESSAGES).choices[0].message.content


def openai_client() -> Callable[[], Any]:
    from openai import OpenAI

    client = OpenAI(api_key=KEY, base_url=BASE_URL, http_client=httpx.Client(transport=httpx.MockTransport(answer)))
    return lambda: client.chat.completions.create(model="glm-4-flash", messages=MESSAGES).choices[0].message.content


ROWS: dict[str, Callable[[], Callable[[], Any]]] = {
    "bare httpx.Client.post + .json()": bare_httpx,
    "zhipu-connector host dispatch": host_dispatch,
    "official zhipuai SDK": zhipuai_sdk,
    "openai client, same URL": openai_client,
}


def per_call_us(call: Callable[[], Any], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - start) / calls * 1e6


BARE = "bare httpx.Client.post + .json()"
HOST = "zhipu-connector host dispatch"


def measure_in_process(calls: int, rounds: int) -> dict[str, list[float]]:
    """Worker: every row prepared, checked and warmed up, then `rounds` interleaved rounds (µs/call)."""
    prepared = {name: make() for name, make in ROWS.items()}
    for call in prepared.values():  # every row answers the same text, and is warmed up
        assert "Lighthouses" in call()
        per_call_us(call, min(calls, 200))
    timings: dict[str, list[float]] = {name: [] for name in prepared}
    for _ in range(rounds):
        for name, call in prepared.items():
            timings[name].append(per_call_us(call, calls))
    return timings


def main() -> None:
    from emulator_process import run_worker  # here, not at the top: the measuring interpreters never load it

    args = arguments(__doc__.splitlines()[0])
    calls, rounds, interpreters = (50, 2, 1) if args.quick else (3000, 3, 5)
    timings: dict[str, list[float]] = {name: [] for name in ROWS}
    own_medians: list[float] = []
    for _ in range(interpreters):
        measured = run_worker("per_call", "measure_in_process", calls=calls, rounds=rounds)
        for name in ROWS:
            timings[name] += measured[name]
        own_medians.append(statistics.median(h / b for h, b in zip(measured[HOST], measured[BARE])))
    bare = timings[BARE]
    rows = []
    for name, values in timings.items():
        ratio = statistics.median(v / b for v, b in zip(values, bare))
        note = f"{ratio:.2f}× bare httpx"
        if name == HOST:
            note += f"; each interpreter's median {', '.join(f'{m:.2f}×' for m in own_medians)}"
        rows.append(Row(name, statistics.median(values), "µs/call", note, {"ratio": ratio}))
    ours = rows[list(ROWS).index(HOST)].extra["ratio"]
    checks = [(f"host dispatch {ours:.2f}× bare httpx ≤ 1.5×", ours <= 1.5)]
    title = (
        f"Client-side cost of one Ask ({calls} calls × {rounds} rounds × {interpreters} interpreters, MockTransport)"
    )
    print_table(title, rows, checks)
    save("per_call", rows, checks, args.json)


if __name__ == "__main__":
    main()
