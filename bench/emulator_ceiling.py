"""The emulator alone: how many requests per second it answers, far above any client row.

The client rows measure clients only if the server always has time to spare. Here the same
emulator process (uvicorn, one core) is loaded by generators that cost next to nothing per
request: `wrk` when installed, and always a raw-socket keep-alive generator written in Python
(it sends the same prebuilt request bytes on every connection and reads just enough of each
answer to find its end). Both run on the client core. Rows, the median of the rounds:
- the ceiling: `wrk` and the raw generator with 200 connections, and the server's busy share
  (near 100%: the server, not the generator, is what stops them);
- one connection, one request at a time: the round trip that bounds every sequential row;
- for comparison in the same run, the fastest client rows: with 200 in flight (as in
  concurrency.py), host async dispatch and bare httpx over the Zhipu client's transport; and
  bare httpx one call at a time (as in sequential.py).
Targets: the ceiling ≥ 3× the fastest concurrent client row; the one-connection rate ≥ 2×
sequential bare httpx.
"""

from __future__ import annotations

import json
import re
import selectors
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from common import Row, arguments, print_table, save
from emulator_process import BODY, KEY, Meter, pin_this_process, run_worker, running_emulator_process

CONNECTIONS = 200


def request_bytes(base_url: str) -> bytes:
    """One complete HTTP/1.1 request for `BODY`, the same bytes every time."""
    parts = urlsplit(base_url)
    body = json.dumps(BODY).encode()
    head = (
        f"POST {parts.path}/chat/completions HTTP/1.1\r\nHost: {parts.netloc}\r\n"
        f"Authorization: Bearer {KEY}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class _Connection:
    """One keep-alive connection of the raw generator: send, read one answer, send again."""

    __slots__ = ("sock", "buffer", "needed")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        self.needed = -1  # total bytes of the answer being read, once its head is complete

    def answer_complete(self) -> bool:
        """Whether `buffer` holds one whole answer (then it is cleared); raises on a non-200."""
        if self.needed < 0:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return False
            head = self.buffer[:end].lower()
            if not head.startswith(b"http/1.1 200"):
                raise RuntimeError(f"the emulator answered {head.splitlines()[0]!r}")
            length = int(re.search(rb"content-length:\s*(\d+)", head).group(1))  # type: ignore[union-attr]
            self.needed = end + 4 + length
        if len(self.buffer) < self.needed:
            return False
        if len(self.buffer) > self.needed:
            raise RuntimeError("more bytes than one answer: the generator never pipelines")
        self.buffer, self.needed = b"", -1
        return True


def raw_generator(base_url: str, connections: int, seconds: float) -> int:
    """Requests answered in `seconds` by `connections` raw keep-alive connections."""
    parts = urlsplit(base_url)
    request = request_bytes(base_url)
    selector = selectors.DefaultSelector()
    for _ in range(connections):
        sock = socket.create_connection((parts.hostname, parts.port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        sock.sendall(request)
        selector.register(sock, selectors.EVENT_READ, _Connection(sock))
    answered = 0
    deadline = time.perf_counter() + seconds
    try:
        while time.perf_counter() < deadline:
            for key, _ in selector.select(timeout=1.0):
                connection: _Connection = key.data
                data = connection.sock.recv(65536)
                if not data:
                    raise RuntimeError("the emulator closed a keep-alive connection")
                connection.buffer += data
                if connection.answer_complete():
                    answered += 1
                    connection.sock.sendall(request)  # a small request fits the socket buffer
    finally:
        for key in list(selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        selector.close()
    return answered


def raw_row(base_url: str, connections: int, seconds: float, server_pid: int) -> dict[str, float]:
    """The raw generator's rate, measured like a client row (with the server's busy share)."""
    raw_generator(base_url, connections, min(seconds, 0.5))  # warm-up
    meter = Meter(1, server_pid)
    with meter:
        answered = raw_generator(base_url, connections, seconds)
    return {"per_second": answered / meter.result["seconds"], "server_busy": meter.result["server_busy"]}


WRK_SCRIPT = """wrk.method = "POST"
wrk.body = {body}
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer {key}"
"""


def wrk_row(base_url: str, connections: int, seconds: float, server_pid: int) -> dict[str, float] | None:
    """`wrk`'s rate with `connections` connections on one thread; None when wrk is missing."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return None
    with tempfile.TemporaryDirectory(prefix="zc-bench-wrk-") as folder:
        script = Path(folder) / "post.lua"
        script.write_text(WRK_SCRIPT.format(body=json.dumps(json.dumps(BODY)), key=KEY))
        url = base_url + "/chat/completions"

        def run(duration: float) -> str:
            command = [
                wrk,
                "-t1",
                f"-c{connections}",
                f"-d{max(1, round(duration))}s",
                "--timeout",
                "10s",
                "-s",
                str(script),
                url,
            ]
            return subprocess.run(command, check=True, capture_output=True, text=True).stdout

        run(1)  # warm-up
        meter = Meter(1, server_pid)
        with meter:
            out = run(seconds)
    if "Non-2xx" in out or "Socket errors" in out:
        raise RuntimeError(f"wrk saw failed requests:\n{out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    return {"per_second": rate, "server_busy": meter.result["server_busy"]}


def sequential_bare_row(base_url: str, calls: int, server_pid: int) -> dict[str, float]:
    """Worker: bare `httpx.Client.post` + `.json()`, one call at a time (as in sequential.py)."""
    from sequential import bare_httpx

    call = bare_httpx(base_url)
    for _ in range(min(calls, 100)):
        call()
    with Meter(calls, server_pid) as meter:
        for _ in range(calls):
            call()
    return meter.result


def main() -> None:
    args = arguments(__doc__.splitlines()[0])
    seconds, rounds, calls, in_flight = (1.0, 1, 200, 20) if args.quick else (4.0, 3, 2000, CONNECTIONS)
    connections = in_flight
    pin_this_process()
    measured: dict[str, list[dict[str, float]]] = {}

    def add(name: str, result: dict[str, float] | None) -> None:
        if result is not None:
            measured.setdefault(name, []).append(result)

    wrk_name, raw_name = f"wrk, {connections} connections", f"raw keep-alive generator, {connections} connections"
    one_name, host_name = (
        "raw keep-alive generator, 1 connection",
        f"client: host async dispatch, {in_flight} in flight",
    )
    spread_name = f"client: bare httpx.AsyncClient over AsyncSpreadTransport, {in_flight} in flight"
    sequential_name = "client: bare httpx.Client, one at a time"
    with running_emulator_process() as emulator:
        url, pid = emulator.base_url, emulator.pid
        for _ in range(rounds):
            add(wrk_name, wrk_row(url, connections, seconds, pid))
            add(raw_name, raw_row(url, connections, seconds, pid))
            add(one_name, raw_row(url, 1, seconds, pid))
            work = {"base_url": url, "calls": calls, "in_flight": in_flight, "server_pid": pid}
            add(host_name, run_worker("concurrency", "async_row", row="host", **work))
            add(spread_name, run_worker("concurrency", "async_row", row="spread", **work))
            add(
                sequential_name,
                run_worker("emulator_ceiling", "sequential_bare_row", base_url=url, calls=calls // 4, server_pid=pid),
            )
        stack = emulator.fast_stack()
        pinning = emulator.placement()

    def rate(name: str) -> float:
        return statistics.median(result["per_second"] for result in measured[name])

    rows = [
        Row(name, rate(name), "req/s", f"server {statistics.median(r['server_busy'] for r in results):.0%} busy")
        for name, results in measured.items()
    ]
    if wrk_name not in measured:
        rows.insert(0, Row(wrk_name, 0.0, "req/s", "not measured: wrk is not installed"))
    ceiling = max(rate(name) for name in (wrk_name, raw_name) if name in measured)
    fastest = max(rate(host_name), rate(spread_name))
    checks = [
        (
            f"ceiling {ceiling:.0f} req/s = {ceiling / fastest:.1f}× the fastest concurrent client row ≥ 3×",
            ceiling >= 3 * fastest,
        ),
        (
            f"one connection {rate(one_name):.0f} req/s = {rate(one_name) / rate(sequential_name):.1f}× sequential bare httpx ≥ 2×",
            rate(one_name) >= 2 * rate(sequential_name),
        ),
    ]
    title = f"The emulator alone ({stack}, one core; median of {rounds} rounds of {seconds:.0f} s; {pinning})"
    print_table(title, rows, checks)
    save("emulator_ceiling", rows, checks, args.json)


if __name__ == "__main__":
    main()
