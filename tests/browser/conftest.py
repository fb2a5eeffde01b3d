"""Headless Chromium (Debian's, driven by Playwright) against form servers on loopback sockets.

Without Chromium the browser tests are skipped, saying why, except when the environment
variable CI is set: CI installs Chromium, so there its absence is a failure.
"""

from __future__ import annotations

import os
import secrets
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest
from browser.browser_support import CHROMIUM, CHROMIUM_ARGS, chromium_unavailable, serve


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A fresh headless Chromium (its own empty profile), one per test module."""
    if not os.access(CHROMIUM, os.X_OK):
        chromium_unavailable(f"Chromium is not installed at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        chromium_unavailable("Playwright's Python package is not installed")
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1100, "height": 900},
        )
        try:
            yield context
        finally:
            context.close()


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    """A new tab; any script error on it fails the test (a picture that does not load is not one)."""
    tab = browser.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    tab.on(
        "console",
        lambda message: (
            errors.append(message.text)
            if message.type == "error" and not message.text.startswith("Failed to load resource")
            else None
        ),
    )
    yield tab
    tab.close()
    assert errors == [], f"the page reported errors: {errors}"


@pytest.fixture(scope="module")
def memo_url() -> Iterator[str]:
    """The memo test connector's page; its endpoint points at a closed loopback port."""
    from forms.memo_plugin import memo_host

    from zhipu_connector.forms.server import FormServer, loopback_hosts

    host = memo_host()
    yield from serve(
        lambda port: FormServer(
            host, connection_defaults={"memo": {"endpoint": "http://127.0.0.1:9"}}, allowed_hosts=loopback_hosts(port)
        )
    )


@pytest.fixture(scope="module")
def zhipu() -> Iterator[dict[str, Any]]:
    """Zhipu's page, its connection preset to the emulator and a demo key (as `serve --emulator` does)."""
    from zhipu_connector.emulator import EmulatorConfig, running_emulator
    from zhipu_connector.forms.server import FormServer, loopback_hosts
    from zhipu_connector.host.host import Host

    demo_key = f"demo{secrets.token_hex(4)}.{secrets.token_urlsafe(16)}"
    host = Host(default_plugins=["zhipu_connector.zhipu.plugin"], entry_points=False)
    with running_emulator(EmulatorConfig(api_keys=frozenset({demo_key}))) as emulator:
        connection = {"baseUrl": emulator, "token": demo_key}
        for url in serve(
            lambda port: FormServer(host, connection_defaults={"zhipu": connection}, allowed_hosts=loopback_hosts(port))
        ):
            yield {"url": url, "host": host, "connection": connection, "emulator": emulator, "key": demo_key}
