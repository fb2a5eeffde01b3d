"""What the browser tests share: how Chromium is started, servers on loopback, screenshots."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


def chromium_unavailable(reason: str) -> NoReturn:
    """Skip, saying why and how to fix it; fail instead under CI, which installs Chromium."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}; CI installs Chromium, so the browser tests must run there")
    pytest.skip(f"{reason} (install it with `apt-get install chromium`; with CI set this is a failure)")


def serve(app_factory: Callable[[int], Any]) -> Iterator[str]:
    """Run the form server made by `app_factory(port)` on a loopback socket; yield its URL."""
    from zhipu_connector.forms.serving import listen, running_server

    listener = listen("127.0.0.1", 0)
    app = app_factory(listener.getsockname()[1])
    with running_server(app, listener) as url:
        yield url


def screenshot(element: Any, name: str) -> Path:
    """Save a picture of `element` (a page or a locator) under test-output/screenshots/."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    element.screenshot(path=str(path))
    return path
