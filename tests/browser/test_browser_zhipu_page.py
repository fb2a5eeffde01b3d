"""The Zhipu forms in Chromium, run against the embedded emulator over loopback, as `serve --emulator` does."""

from __future__ import annotations

import pytest
from browser.browser_support import screenshot

pytestmark = pytest.mark.browser


@pytest.fixture()
def page_with_forms(page, zhipu):
    page.goto(zhipu["url"] + "/")
    return page


def action(page, name):
    return page.locator(f'form[data-kind="action"][data-component="zhipu"][data-name="{name}"]')


def field(form, key):
    return form.locator(
        f':scope > .zc-fields > .zc-field[data-key="{key}"], :scope > .zc-fields > details > .zc-field[data-key="{key}"]'
    )


def choose(form, key, value):
    """Pick an option by its value, as the definition lists it."""
    import json

    field(form, key).locator("select").select_option(value=json.dumps(value))


def test_the_page_shows_the_emulator_as_the_connection_without_its_key(page_with_forms, zhipu):
    connection = page_with_forms.locator('form[data-kind="connection"][data-component="zhipu"]')
    assert connection.locator('input[name="baseUrl"]').input_value() == zhipu["emulator"]
    token = connection.locator('input[name="token"]')
    assert token.get_attribute("type") == "password" and token.input_value() == ""
    assert token.get_attribute("placeholder") == "set on the server"
    assert zhipu["connection"]["token"] not in page_with_forms.content()


def test_switching_the_format_shows_prompts_or_messages(page_with_forms):
    ask = action(page_with_forms, "ask")
    first = ask.locator(":scope > .zc-fields > .zc-field").first
    assert first.get_attribute("data-key") == "format", "format comes first"
    assert field(ask, "messages").is_visible()
    assert field(ask, "userPrompt").is_hidden() and field(ask, "systemPrompt").is_hidden()
    choose(ask, "format", "SIMPLE")
    assert field(ask, "userPrompt").is_visible() and field(ask, "systemPrompt").is_visible()
    assert field(ask, "messages").is_hidden()
    choose(ask, "format", "ADVANCED")
    assert field(ask, "messages").is_visible()
    assert field(ask, "userPrompt").is_hidden() and field(ask, "systemPrompt").is_hidden()


def test_an_out_of_range_temperature_is_reported_next_to_the_field(page_with_forms, zhipu):
    from zhipu_connector.host.errors import InputValidationError

    ask = action(page_with_forms, "ask")
    field(ask, "model").locator("input").fill("glm-4-flash")
    message = field(ask, "messages").locator(".zc-item").first
    message.locator('.zc-field[data-key="role"] select').select_option(value='"user"')
    message.locator('.zc-field[data-key="content"] input').fill("Hello")
    ask.locator(":scope > .zc-fields > details.zc-advanced > summary").click()
    field(ask, "temperature").locator("input").fill("1.5")
    ask.locator(".zc-run").click()
    error = field(ask, "temperature").locator(".zc-error")
    error.wait_for(state="visible")
    inputs = {"model": "glm-4-flash", "messages": [{"role": "user", "content": "Hello"}], "temperature": 1.5}
    with pytest.raises(InputValidationError) as raised:
        zhipu["host"].run_action("zhipu", "ask", inputs, zhipu["connection"])
    (expected,) = [p.message for p in raised.value.problems if p.location == "temperature"]
    assert error.inner_text() == expected
    assert ask.locator(".zc-output").is_hidden(), "nothing ran"
    screenshot(ask.locator("xpath=.."), "zhipu-ask-invalid-temperature")


def test_ask_runs_against_the_emulator_and_shows_the_reply(page_with_forms, zhipu):
    ask = action(page_with_forms, "ask")
    choose(ask, "format", "SIMPLE")
    field(ask, "model").locator("input").fill("glm-4-flash")
    field(ask, "systemPrompt").locator("textarea").fill("Answer in one sentence.")
    field(ask, "userPrompt").locator("textarea").fill("What is a display condition?")
    ask.locator(".zc-run").click()
    reply = ask.locator(".zc-output .zc-text")
    reply.wait_for(state="visible", timeout=20_000)
    inputs = {
        "format": "SIMPLE",
        "model": "glm-4-flash",
        "systemPrompt": "Answer in one sentence.",
        "userPrompt": "What is a display condition?",
    }
    expected = zhipu["host"].run_action("zhipu", "ask", inputs, zhipu["connection"])
    assert reply.inner_text() == expected, "the emulator answers the same request the same way"
    screenshot(ask.locator("xpath=.."), "zhipu-ask")


def test_create_image_runs_against_the_emulator_and_shows_the_picture(page_with_forms, zhipu):
    form = action(page_with_forms, "createImage")
    field(form, "model").locator("input").fill("cogview-4")
    form.locator('.zc-field[data-key="imageMessages"] .zc-item .zc-field[data-key="content"] input').fill(
        "A red fox in the snow"
    )
    form.locator(".zc-run").click()
    image = form.locator(".zc-output img")
    image.wait_for(state="visible", timeout=20_000)
    assert image.get_attribute("src").startswith(zhipu["emulator"].split("/api/")[0] + "/")
    image.evaluate("img => img.complete ? null : new Promise(done => img.addEventListener('load', done))")
    assert image.evaluate("img => img.naturalWidth") > 0, "the picture loaded from the emulator"
    form.scroll_into_view_if_needed()
    screenshot(form.locator("xpath=.."), "zhipu-create-image")
