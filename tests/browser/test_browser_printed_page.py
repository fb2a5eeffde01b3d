"""The page `zhipu-connector form --format html` prints works on its own, with no server."""

from __future__ import annotations

import json

import pytest
from browser.browser_support import screenshot

from zhipu_connector.forms.html import standalone_page
from zhipu_connector.forms.tree import action_form, connection_form

pytestmark = pytest.mark.browser


def test_the_printed_ask_form_switches_fields_by_format(page, zhipu_component):
    page.set_content(standalone_page(action_form(zhipu_component, "ask")))
    form = page.locator('form[data-name="ask"]')
    shown = lambda key: form.locator(f'.zc-field[data-key="{key}"]').first.is_visible()  # noqa: E731
    assert shown("messages") and not shown("userPrompt")
    form.locator('.zc-field[data-key="format"] select').select_option(value=json.dumps("SIMPLE"))
    assert shown("userPrompt") and shown("systemPrompt") and not shown("messages")
    assert form.locator("button").filter(has_text="Run").count() == 0, "a printed page runs nothing"
    screenshot(page, "printed-ask-simple")


def test_the_printed_connection_form_has_a_password_box(page, zhipu_component):
    page.set_content(standalone_page(connection_form(zhipu_component)))
    token = page.locator('input[name="token"]')
    assert token.get_attribute("type") == "password" and token.input_value() == ""
