"""Without Chromium the browser tests skip, saying why, except under CI, where they fail."""

from __future__ import annotations

import pytest
from browser.browser_support import chromium_unavailable


def test_without_chromium_the_browser_tests_skip_with_the_reason(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(
        pytest.skip.Exception, match=r"Chromium is not installed at /x \(install it with `apt-get install chromium`"
    ):
        chromium_unavailable("Chromium is not installed at /x")


def test_under_ci_a_missing_chromium_is_a_failure(monkeypatch):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI installs Chromium, so the browser tests must run there"):
        chromium_unavailable("Chromium is not installed at /x")
