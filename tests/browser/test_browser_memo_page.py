"""The page's behaviour, driven in Chromium with the memo test connector (not Zhipu)."""

from __future__ import annotations

import pytest
from browser.browser_support import screenshot

pytestmark = pytest.mark.browser

TOKEN = "memo7c3e.BrowserTOKEN5150x"


def compose(page):
    return page.locator('form[data-kind="action"][data-name="compose"]')


def field(form, key):
    return form.locator(f'.zc-field[data-key="{key}"]').first


def values(page):
    return page.evaluate("() => window.zhipuForms.readValues(document.querySelector('form[data-name=compose]'))")


@pytest.fixture()
def memo(page, memo_url):
    from forms.memo_plugin import calls

    calls.clear()
    page.goto(memo_url + "/")
    yield page
    calls.clear()


def test_fields_appear_and_vanish_with_the_format(memo):
    form = compose(memo)
    assert form.locator('.zc-field[data-key="format"] select').input_value() == '"ADVANCED"'
    assert field(form, "sections").is_visible() and field(form, "body").is_hidden()
    form.locator('.zc-field[data-key="format"] select').select_option(label="Simple")
    assert field(form, "body").is_visible() and field(form, "sections").is_hidden()
    form.locator('.zc-field[data-key="title"] input').fill("Weekly")
    form.locator('.zc-field[data-key="body"] textarea').fill("All well.")
    assert values(memo) == {"format": "SIMPLE", "title": "Weekly", "body": "All well.", "urgency": 0.5}
    form.locator('.zc-field[data-key="format"] select').select_option(label="Advanced")
    assert field(form, "sections").is_visible() and field(form, "body").is_hidden()
    assert "body" not in values(memo), "a hidden field is not sent"


def test_conditions_inside_array_items_see_the_item_and_the_top_level(memo):
    form = compose(memo)
    item = form.locator(".zc-items > .zc-item").first
    note, anchor = item.locator('.zc-field[data-key="note"]'), item.locator('.zc-field[data-key="anchor"]')
    assert note.is_hidden() and anchor.is_hidden()
    item.locator('.zc-field[data-key="level"] select').select_option(label="Two")
    assert note.is_visible()
    item.locator('.zc-field[data-key="level"] select').select_option(label="One")
    assert note.is_hidden()
    form.locator("details.zc-advanced > summary").last.click()
    form.locator('.zc-field[data-key="signed"] select').select_option(label="True")
    assert anchor.is_visible(), "`signed == true` is read from the top level"


def test_array_items_are_added_up_to_the_maximum_and_removed(memo):
    form = compose(memo)
    sections = field(form, "sections")
    items = sections.locator(":scope > .zc-items > .zc-item")
    assert items.count() == 1, "one item to start with: the array is required"
    add = sections.locator(":scope > .zc-add")
    add.click()
    add.click()
    assert items.count() == 3 and add.is_disabled(), "maxItems is 3"
    ids = items.locator("input, select").evaluate_all("nodes => nodes.map(n => n.id)")
    assert len(ids) == len(set(ids)), "every cloned input has its own id"
    items.nth(1).locator(".zc-remove").click()
    assert items.count() == 2 and add.is_enabled()
    items.nth(0).locator('.zc-field[data-key="heading"] input').fill("First")
    items.nth(1).locator('.zc-field[data-key="heading"] input').fill("Second")
    assert values(memo)["sections"] == [{"heading": "First"}, {"heading": "Second"}]


def test_validation_messages_appear_next_to_their_fields(memo):
    form = compose(memo)
    memo.locator('form[data-kind="connection"] .zc-field[data-key="apiKey"] input').fill(TOKEN)
    form.locator("details.zc-advanced > summary").last.click()
    form.locator('.zc-field[data-key="urgency"] input').fill("1.5")
    form.locator(".zc-run").click()
    urgency_error = field(form, "urgency").locator(".zc-error")
    urgency_error.wait_for(state="visible")
    assert urgency_error.inner_text() == "Urgency: 1.5 is greater than the maximum of 1"
    assert field(form, "title").locator(".zc-error").inner_text() == "Title is required"
    heading = form.locator(".zc-items > .zc-item").first.locator('.zc-field[data-key="heading"] .zc-error')
    assert heading.inner_text() == "Heading is required", "sections[0].heading finds the first item's field"
    assert "3 problems" in form.locator(".zc-form-errors").inner_text()
    form.locator('.zc-field[data-key="urgency"] input').fill("0.7")
    assert field(form, "urgency").locator(".zc-error").is_hidden(), "editing a field clears its message"
    from forms.memo_plugin import calls

    assert calls == [], "nothing ran"


def test_a_missing_key_is_shown_on_the_connection_form(memo):
    form = compose(memo)
    form.locator('.zc-field[data-key="title"] input').fill("T")
    form.locator(".zc-items .zc-field[data-key=heading] input").fill("H")
    form.locator(".zc-check").click()
    connection = memo.locator('form[data-kind="connection"]')
    error = connection.locator('.zc-field[data-key="apiKey"] .zc-error')
    error.wait_for(state="visible")
    assert error.inner_text() == "API key is required"
    assert "connection has problems" in form.locator(".zc-form-errors").inner_text()


def test_running_shows_the_output_and_its_pictures(memo):
    form = compose(memo)
    memo.locator('form[data-kind="connection"] .zc-field[data-key="apiKey"] input').fill(TOKEN)
    form.locator('.zc-field[data-key="title"] input').fill("Weekly")
    form.locator(".zc-items .zc-field[data-key=heading] input").fill("News")
    form.locator(".zc-run").click()
    output = form.locator(".zc-output")
    output.wait_for(state="visible")
    assert '"text": "Weekly\\nNews"' in output.locator(".zc-json").inner_text()
    assert output.locator("img").get_attribute("src") == "http://127.0.0.1:9/pictures/1.png"
    assert form.locator(".zc-status").inner_text() == "Done."
    assert TOKEN not in memo.evaluate("() => document.documentElement.outerHTML"), "a typed secret is not in the markup"
    screenshot(memo.locator("article.zc-card").last, "memo-compose")
