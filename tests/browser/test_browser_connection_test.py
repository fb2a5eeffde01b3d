"""The **Test connection** button in Chromium: the server-held key passes, a typed wrong key fails with its reason."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def connection_form(page, zhipu):
    page.goto(zhipu["url"] + "/")
    return page.locator('form[data-kind="connection"][data-component="zhipu"]')


def test_the_server_held_key_works(page, zhipu):
    form = connection_form(page, zhipu)
    form.locator("button.zc-test-connection").click()
    status = form.locator(".zc-status")
    status.filter(has_text="Works:").wait_for()
    assert zhipu["emulator"] in status.inner_text()
    assert form.get_attribute("data-tested") == "ok"


def test_a_typed_wrong_key_fails_with_the_reason_and_is_not_shown(page, zhipu):
    form = connection_form(page, zhipu)
    typed = "typed1a.notTheDemoKeyAtAll"
    form.locator('input[name="token"]').fill(typed)
    form.locator("button.zc-test-connection").click()
    form.locator(".zc-status").filter(has_text="Failed.").wait_for()
    errors = form.locator(":scope > .zc-form-errors")
    assert "refused the key" in errors.inner_text()
    assert form.get_attribute("data-tested") == "failed"
    assert typed not in errors.inner_text() and zhipu["key"] not in page.content()
