"""Fixtures for the form tests: the memo test connector, and the shipped definition's forms."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def memo_host():
    from forms.memo_plugin import memo_host

    return memo_host()


@pytest.fixture(scope="session")
def memo_component(memo_host):
    return memo_host.component("memo")


@pytest.fixture()
def memo_calls():
    """The memo handler's calls during one test."""
    from forms.memo_plugin import calls

    calls.clear()
    yield calls
    calls.clear()
