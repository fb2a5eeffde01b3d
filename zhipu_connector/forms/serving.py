"""Putting the form server on a socket with uvicorn: in the foreground, or in a thread for tests.

The listening socket is bound first and handed to uvicorn, so the port (and with it the Host
names the server answers to) is known before the app is built, and nothing can take the port
in between. uvicorn is imported here only.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from zhipu_connector.host.errors import ConnectorError
from zhipu_connector.host.log_filter import ScrubbingFilter

START_TIMEOUT = 10.0
UVICORN_LOGGERS = ("uvicorn", "uvicorn.error", "uvicorn.access")


class ServeError(ConnectorError):
    """A server that cannot start: an address refused or already in use."""


def is_loopback(host: str) -> bool:
    """Whether `host` names this machine only (127.0.0.0/8, ::1 or localhost)."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def listen(host: str, port: int) -> socket.socket:
    """A listening TCP socket on `host:port` (port 0 picks a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host.strip("[]"), port))
    except OSError as error:
        listener.close()
        raise ServeError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    listener.listen(128)
    return listener


def base_url(listener: socket.socket) -> str:
    host, port = listener.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def quiet_uvicorn_logs() -> None:
    """uvicorn's own log lines pass through the secret scrubber too."""
    for name in UVICORN_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, ScrubbingFilter) for f in logger.filters):
            logger.addFilter(ScrubbingFilter())


def _server(app: Any) -> Any:
    """uvicorn without its access log: the app logs each request itself (method, path, status, time)."""
    import uvicorn

    quiet_uvicorn_logs()
    config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off", timeout_graceful_shutdown=1)
    return uvicorn.Server(config)


def serve_forever(app: Any, listener: socket.socket) -> None:
    """Serve until interrupted (Ctrl+C)."""
    server = _server(app)
    try:
        server.run(sockets=[listener])
    finally:
        listener.close()


@contextmanager
def running_server(app: Any, listener: socket.socket) -> Iterator[str]:
    """Serve `app` on `listener` in a background thread; yield the base URL; stop on exit."""
    server = _server(app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, name="zhipu-forms", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise ServeError("the form server did not start")
            time.sleep(0.005)
        yield base_url(listener)
    finally:
        server.should_exit = True
        thread.join(timeout=5)
        listener.close()
