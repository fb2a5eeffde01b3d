"""Fixtures of the emulator tests."""

from __future__ import annotations

import pytest
from emulator_support import Emulator


@pytest.fixture
def emulator() -> Emulator:
    return Emulator()
