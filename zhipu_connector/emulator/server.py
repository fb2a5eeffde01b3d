"""Serving the emulator over a real socket with uvicorn.

`serve()` runs it in the foreground (for demos and offline work); `running_emulator()` runs it
in a background thread for tests and benchmarks. Both bind the listening socket themselves and
hand it to uvicorn: the port is known (and taken) before the server starts, so there is no race
between picking a free port and using it. uvicorn is imported here only, so importing the app
stays cheap, and it picks its fastest event loop and HTTP parser when they are installed.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .app import API_PREFIX, create_app
from .config import EmulatorConfig, EmulatorConfigError
from .faults import is_connection_drop

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
START_TIMEOUT = 10.0


def serve(
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    api_keys: Sequence[str] = (),
    allow_remote: bool = False,
    **config: Any,
) -> None:
    """Serve the emulator until interrupted; print its base URL once it is listening.

    `api_keys` defaults to the keys in `ZHIPUAI_API_KEY`; with none there either, any key of
    shape `<id>.<secret>` is accepted. Other keyword arguments are `EmulatorConfig` fields.
    A `host` other machines can reach is refused unless `allow_remote` says so: with no keys
    configured the emulator accepts any key, and it serves whatever images it made.
    """
    check_address(host, port, allow_remote=allow_remote)
    import uvicorn

    settings = EmulatorConfig.from_env(api_keys=frozenset(api_keys), **config)
    try:
        listener = _listen(host, port)
    except OSError as error:
        raise EmulatorConfigError(f"cannot listen on {host}:{port}: {error.strerror}") from None
    base_url = _base_url(host, listener)
    server = uvicorn.Server(_uvicorn_config(create_app(settings), log_config=True))
    keys = f"{len(settings.api_keys)} configured key(s)" if settings.api_keys else "any key"
    print(f"Zhipu emulator at {base_url} (accepting {keys}; Ctrl+C to stop)", flush=True)
    try:
        server.run(sockets=[listener])
    finally:
        listener.close()


@contextmanager
def running_emulator(config: EmulatorConfig | None = None, host: str = DEFAULT_HOST) -> Iterator[str]:
    """Run the emulator on a free port in a background thread; yield its base URL.

    The URL is `http://127.0.0.1:PORT/api/paas/v4`. On exit the server stops (requests still
    in flight get a second to finish) and the thread is joined.
    """
    import uvicorn

    listener = _listen(host, 0)
    server = uvicorn.Server(_uvicorn_config(create_app(config), log_config=False, timeout_graceful_shutdown=1))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, name="zhipu-emulator", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the Zhipu emulator did not start; see the log above")
            time.sleep(0.005)
        yield _base_url(host, listener)
    finally:
        server.should_exit = True
        thread.join(START_TIMEOUT)
        listener.close()


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine only (127.0.0.0/8, ::1 or localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_address(host: str, port: int, *, allow_remote: bool = False) -> None:
    """Refuse a port outside 0-65535, and a host other machines can reach unless allowed."""
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise EmulatorConfigError(f"port: must be an integer from 0 to 65535 (0 picks a free port), got {port!r}")
    if not is_loopback(host) and not allow_remote:
        raise EmulatorConfigError(
            f"host: refusing to listen on {host}, which other machines can reach "
            "(the emulator accepts any key unless keys are configured); pass --allow-remote to do it anyway"
        )


def _uvicorn_config(app: Any, *, log_config: bool, **options: Any) -> Any:
    import uvicorn

    config_options: dict[str, Any] = {}
    if not log_config:
        config_options["log_config"] = None  # leave the embedding process's logging alone
    config = uvicorn.Config(
        app,
        loop="auto",
        http="auto",
        ws="none",
        lifespan="on",
        access_log=False,  # an access log would be the hot path's biggest cost
        log_level="warning",
        **config_options,
        **options,
    )
    _quiet_intended_drops()
    return config


class _IntendedDropFilter(logging.Filter):
    """Keep the `drop` fault's deliberate hang-ups out of uvicorn's error log."""

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        return error is None or not is_connection_drop(error)


def _quiet_intended_drops() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _IntendedDropFilter) for f in logger.filters):
        logger.addFilter(_IntendedDropFilter())


def _listen(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(2048)
    except OSError:
        listener.close()
        raise
    return listener


def _base_url(host: str, listener: socket.socket) -> str:
    port = listener.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}{API_PREFIX}"
