"""Fixtures the Zhipu tests share: a host with the Zhipu plugin alone, and the emulator in process."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from zhipu_recording import RecordingApp

from zhipu_connector.emulator import EmulatorConfig, create_app
from zhipu_connector.host.host import Host
from zhipu_connector.zhipu import connections


@pytest.fixture(scope="module")
def host() -> Host:
    """The Zhipu plugin alone, without entry points: what these tests dispatch to."""
    return Host(default_plugins=["zhipu_connector.zhipu.plugin"], entry_points=False)


@pytest.fixture
def emulator(request: pytest.FixtureRequest) -> Iterator[RecordingApp]:
    """Every client routed to a fresh in-process emulator that accepts the test module's `KEY`.

    Each module keeps a key of its own, so a secret masked in one module's output is never the
    value another module checks for.
    """
    app = RecordingApp(create_app(EmulatorConfig(api_keys=frozenset({request.module.KEY}))))
    with connections.configured(transport_factory=connections.InProcessTransports(app)):
        yield app
