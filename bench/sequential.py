"""One Ask at a time over loopback: what each client adds to a call the server answers at once.

Every row sends the same body to the same emulator (a separate uvicorn process on its own
core) over a real socket, one call after another on a kept-alive connection, and the time per
call is the median over rounds; rounds interleave the rows (in a rotating order) and each
ratio is taken within its round. Client CPU per call and the server's busy share are noted.
Rows:
- host dispatch: `Host.run_action` (input and output validation included) with a connection
  checked once by `Host.connection`;
- a bare `httpx.Client.post` of the same body + `.json()`;
- the official `zhipuai` SDK, `ZhipuAI(api_key=..., base_url=URL + "/")`;
- the `openai` 1.x client at the same URL, for reference.
Targets: host dispatch ≤ 1.15× bare httpx per call, and faster than the SDK.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from typing import Any

from common import Row, arguments, print_table, save
from emulator_process import ASK_INPUTS, BODY, KEY, MESSAGES, MODEL, Meter, pin_this_process, running_emulator_process

EXPECTED = "lighthouses"  # the emulator's reply quotes the question


def bare_httpx(base_url: str) -> Callable[[], str]:
    import httpx

    client = httpx.Client()
    url = base_url + "/chat/completions"
    headers = {"Authorization": f"Bearer {KEY}"}
    return lambda: client.post(url, json=BODY, headers=headers).json()["choices"][0]["message"]["content"]


def host_dispatch(base_url: str) -> Callable[[], str]:
    from zhipu_connector.host.host import default_host

    host = default_host()
    connection = host.connection("zhipu", {"token": KEY, "baseUrl": base_url})
    return lambda: host.run_action("zhipu", "ask", ASK_INPUTS, connection)


def zhipuai_sdk(base_url: str) -> Callable[[], str]:
    from zhipuai import ZhipuAI

    client = ZhipuAI(api_key=KEY, base_url=base_url + "/")
    return lambda: client.chat.completions.create(model=MODEL, messages=MESSAGES).choices[0].message.content or ""


def openai_client(base_url: str) -> Callable[[], str]:
    from openai import OpenAI

    client = OpenAI(api_key=KEY, base_url=base_url)
    return lambda: client.chat.completions.create(model=MODEL, messages=MESSAGES).choices[0].message.content or ""  # type: ignore[arg-type]


HOST = "zhipu-connector host dispatch"
BARE = "bare httpx.Client.post + .json()"
SDK = "official zhipuai SDK"
ROWS: dict[str, Callable[[str], Callable[[], str]]] = {
    HOST: host_dispatch,
    BARE: bare_httpx,
    SDK: zhipuai_sdk,
    "openai client, same URL": openai_client,
}


def measure(call: Callable[[], Any], calls: int, server_pid: int) -> dict[str, float]:
    with Meter(calls, server_pid) as meter:
        for _ in range(calls):
            call()
    return meter.result


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    calls, rounds, warm_up = (50, 2, 10) if args.quick else (500, 7, 100)
    pin_this_process()
    with running_emulator_process() as emulator:
        prepared = {name: make(emulator.base_url) for name, make in ROWS.items()}
        for name, call in prepared.items():  # every row gets the same answer, and is warmed up
            if EXPECTED not in call():
                raise AssertionError(f"{name}: a reply without the expected text")
            for _ in range(warm_up):
                call()
        results: dict[str, list[dict[str, float]]] = {name: [] for name in prepared}
        names = list(prepared)
        for round_number in range(rounds):
            shift = round_number % len(names)
            for name in names[shift:] + names[:shift]:
                results[name].append(measure(prepared[name], calls, emulator.pid))
        stack = emulator.fast_stack()
        pinning = emulator.placement()

    def ratio(numerator: str, denominator: str) -> float:
        pairs = zip(results[numerator], results[denominator])
        return statistics.median(a["us_per_call"] / b["us_per_call"] for a, b in pairs)

    rows = []
    for name, measured in results.items():
        versus_bare = ratio(name, BARE)
        cpu = statistics.median(m["cpu_us_per_call"] for m in measured)
        busy = statistics.median(m["server_busy"] for m in measured)
        note = f"{versus_bare:.2f}× bare httpx; client CPU {cpu:.0f} µs/call; server {busy:.0%} busy"
        rows.append(
            Row(name, statistics.median(m["us_per_call"] for m in measured), "µs/call", note, {"ratio": versus_bare})
        )
    versus_bare, versus_sdk = ratio(HOST, BARE), ratio(HOST, SDK)
    checks = [
        (f"host dispatch {versus_bare:.2f}× bare httpx per call ≤ 1.15×", versus_bare <= 1.15),
        (f"host dispatch {versus_sdk:.2f}× the SDK's time per call < 1×", versus_sdk < 1),
    ]
    title = f"One Ask at a time over loopback ({calls} calls × {rounds} rounds; {stack}; {pinning})"
    print_table(title, rows, checks)
    save("sequential", rows, checks, args.json)


if __name__ == "__main__":
    main()
