"""The emulator in a process of its own, on a core of its own; the request every row sends.

The loopback benchmarks compare clients, so the server must be the same for every row and
must not compete with the client for a core: the emulator runs under uvicorn (uvloop and
httptools) in a separate process pinned to one core, and the benchmark process — with every
subprocess it starts — is pinned to another. On a machine with a single core nothing is
pinned, and the tables say so.

Rows that need a fresh interpreter (for their peak memory) run a function of a bench module
through `run_worker`, which passes keyword arguments in and reads a JSON result out.
"""

from __future__ import annotations

import json
import os
import re
import resource
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

BENCH = Path(__file__).resolve().parent

KEY = "bench1234.benchsecretvalue"
MODEL = "glm-4-flash"
MESSAGES = [{"role": "user", "content": "Write one sentence about lighthouses."}]
BODY = {"model": MODEL, "messages": MESSAGES}
"""The request body of every row (the host's Ask sends exactly this, plus a request id)."""
ASK_INPUTS = {"model": MODEL, "messages": MESSAGES}
"""The Ask action's inputs that produce `BODY`."""

SERVER_CORE, CLIENT_CORE = 0, 1
START_TIMEOUT = 20.0
WORKER_TIMEOUT = 900.0
STALL_WARNING = 30.0
_BASE_URL = re.compile(r"(http://\S+/api/paas/v4)")


_CORES: list[int] = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
"""The cores this process could use when first imported, before any pinning."""


def can_pin() -> bool:
    """Two cores or more, and an OS that lets a process choose its cores."""
    return hasattr(os, "sched_setaffinity") and len(_CORES) >= 2


def pin_this_process() -> None:
    """Pin the benchmark (and the subprocesses it starts) to the client core, when there are two."""
    if can_pin():
        os.sched_setaffinity(0, {_CORES[CLIENT_CORE]})


def _cores(pid: int) -> str:
    return ",".join(str(core) for core in sorted(os.sched_getaffinity(pid)))


@dataclass(frozen=True)
class Emulator:
    """A running emulator process: where it listens and which process it is."""

    base_url: str
    pid: int

    def cpu_seconds(self) -> float:
        """User + system CPU time the server has used so far (0 where /proc is missing)."""
        return process_cpu_seconds(self.pid)

    def placement(self) -> str:
        """Where the server and this process may run, read back from the OS (not assumed)."""
        if not hasattr(os, "sched_getaffinity"):
            return "cores not pinned"
        server, client = os.sched_getaffinity(self.pid), os.sched_getaffinity(0)
        where = f"server on core {_cores(self.pid)}, client on core {_cores(0)}"
        return where if not server & client else f"server and client share cores ({where})"

    def fast_stack(self) -> str:
        """Which of uvloop and httptools the server process has loaded, as a note."""
        try:
            maps = Path(f"/proc/{self.pid}/maps").read_text()
        except OSError:
            return "server stack unknown"
        loaded = [name for name in ("uvloop", "httptools") if f"/{name}/" in maps]
        return "uvicorn + " + " + ".join(loaded) if loaded else "uvicorn, pure-Python stack"


def process_cpu_seconds(pid: int) -> float:
    """utime + stime of `pid` from /proc, in seconds; 0 where /proc is missing."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def running_emulator_process(*options: str) -> Iterator[Emulator]:
    """Start `python -m zhipu_connector.emulator --port 0 [options]` on the server core; stop it on exit.

    `ZHIPUAI_API_KEY` is removed from its environment, so it accepts the benchmark's key. The
    emulator's defaults must neither limit requests in flight nor inject faults: a client that
    retried a 429 would otherwise look slow for the server's sake. A benchmark that wants a cap
    or a latency asks for it in `options` (`--max-concurrent-requests 8`).
    """
    from zhipu_connector.emulator import EmulatorConfig

    defaults = EmulatorConfig()
    if defaults.max_concurrent_requests is not None or defaults.fault is not None or defaults.stream_chunk_delay:
        raise RuntimeError(f"the emulator's defaults would throttle the benchmark: {defaults}")
    env = {name: value for name, value in os.environ.items() if name != "ZHIPUAI_API_KEY"}
    server_core = _CORES[SERVER_CORE] if can_pin() else None

    def pin_server() -> None:
        if server_core is not None:
            os.sched_setaffinity(0, {server_core})

    process = subprocess.Popen(
        [sys.executable, "-m", "zhipu_connector.emulator", "--port", "0", *options],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
        preexec_fn=pin_server,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()  # blocks until the server listens (or dies)
        found = _BASE_URL.search(line)
        if found is None:
            raise RuntimeError(f"the emulator did not start: {line.strip() or 'no output'}")
        # Keep reading what it prints: a full pipe would block the server in mid-request.
        threading.Thread(target=_drain, args=(process.stdout,), daemon=True).start()
        yield Emulator(found.group(1), process.pid)
    finally:
        process.terminate()
        try:
            process.wait(START_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _drain(stream: IO[str]) -> None:
    """Pass the server's log through to stderr, where a warning or a traceback will be seen."""
    for line in stream:
        sys.stderr.write(f"[emulator] {line}")


def run_worker(module: str, function: str, **arguments: Any) -> dict[str, Any]:
    """Run `module.function(**arguments)` in a fresh interpreter; return its JSON result.

    A fresh interpreter per row makes each row's peak memory (`peak_rss_mb()`, reported by the
    worker itself) its own, untouched by what other rows allocated.
    """
    code = (
        "import json, sys; sys.path.insert(0, sys.argv[1]); "
        f"from {module} import {function} as work; "
        "print(json.dumps(work(**json.loads(sys.argv[2]))))"
    )
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code, str(BENCH), json.dumps(arguments)],
        capture_output=True,
        text=True,
        timeout=WORKER_TIMEOUT,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{module}.{function} failed:\n{done.stderr[-4000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    unmeasured = time.perf_counter() - started - result.get("seconds", 0.0)
    if unmeasured > STALL_WARNING:  # start-up and warm-up take a second or two, not this
        print(
            f"warning: {module}.{function}({arguments.get('row', '')}) spent {unmeasured:.0f} s outside "
            "its measured stretch: a call stalled in its start-up or warm-up",
            file=sys.stderr,
        )
    return result


def peak_rss_mb() -> float:
    """This process's peak resident memory in MB (Linux reports ru_maxrss in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (1024 * 1024 if sys.platform == "darwin" else 1024)


class Meter:
    """Wall time, client CPU and the server's busy share of one timed stretch of `calls` calls.

    `with Meter(calls, server_pid) as meter: ...` then `meter.result`. The server's share of its
    core tells whether the server could have been the bottleneck (it should stay well below 1).
    """

    def __init__(self, calls: int, server_pid: int | None) -> None:
        self.calls = calls
        self.server_pid = server_pid
        self.result: dict[str, float] = {}

    def __enter__(self) -> Meter:
        self._server_cpu = process_cpu_seconds(self.server_pid) if self.server_pid else 0.0
        self._cpu = _own_cpu_seconds()
        self._start = time.perf_counter()
        return self

    def __exit__(self, *exc_info: object) -> None:
        wall = time.perf_counter() - self._start
        cpu = _own_cpu_seconds() - self._cpu
        server = (process_cpu_seconds(self.server_pid) - self._server_cpu) if self.server_pid else 0.0
        self.result = {
            "seconds": wall,
            "per_second": self.calls / wall,
            "us_per_call": wall / self.calls * 1e6,
            "cpu_us_per_call": cpu / self.calls * 1e6,
            "server_busy": server / wall,
        }


def _own_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
