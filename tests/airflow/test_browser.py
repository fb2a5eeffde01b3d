"""Airflow's own UI, headless: the generated zhipu connection form and the params DAG's trigger form.

Airflow's API server (which serves the UI) runs on a loopback port with the simple auth
manager letting everyone in as admin; Debian's Chromium, driven by Playwright, opens the
forms as a user would. Without Chromium the tests skip, except under CI, which installs it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from airflow_support import SKIP_REASON, ApiServer, output_of

pytest.importorskip("airflow.sdk", reason=SKIP_REASON)

from browser.browser_support import CHROMIUM, CHROMIUM_ARGS, chromium_unavailable, screenshot

from zhipu_connector.host.host import default_host

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture(scope="module")
def ui(airflow_env) -> Iterator[str]:
    """Airflow's API server on loopback (the session's, started in the background), the example DAGs serialized."""
    reserialized = airflow_env.run("dags", "reserialize")
    assert reserialized.returncode == 0, output_of(reserialized)
    started_here = airflow_env.api_server is None
    server = airflow_env.api_server or ApiServer(airflow_env)
    try:
        yield server.wait_ready()
    finally:
        if started_here:
            server.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        chromium_unavailable(f"Chromium is not installed at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture()
def page(browser: Any) -> Iterator[Any]:
    tab = browser.new_page(viewport={"width": 1300, "height": 1400})
    yield tab
    tab.close()


def test_the_zhipu_connection_form_has_the_generated_fields(ui, page):
    (auth,) = default_host().component("zhipu").connection.authorizations
    token, base_url, authentication = (auth.properties[i] for i in (0, 1, 2))
    page.goto(f"{ui}/connections", wait_until="networkidle")
    page.get_by_role("button", name="Add Connection").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("combobox").first.fill("ZhiPu")
    page.keyboard.press("Enter")
    dialog.get_by_text("Extra Fields", exact=True).click()

    secret = dialog.get_by_label(token.label, exact=True)
    assert secret.get_attribute("type") == "password"
    assert secret.get_attribute("placeholder") == token.placeholder
    for hidden in ("Host", "Login", "Port", "Schema"):
        assert dialog.get_by_label(hidden, exact=True).count() == 0, hidden
    assert dialog.locator("label", has_text=base_url.label).count() == 1
    assert dialog.locator("label", has_text=authentication.label).count() == 1
    assert dialog.get_by_text(base_url.description).count() == 1
    dialog.get_by_label(authentication.label).click()  # a select offering the options by their labels
    offered = page.get_by_role("option").all_inner_texts()
    assert [o.label for o in authentication.options] == [text for text in offered if text != "(not set)"]
    dialog.get_by_role("heading").click()  # closes the menu, not the dialog
    url_box = dialog.locator("input[name='element_baseUrl']")  # any URL, the options proposed in a datalist
    assert url_box.input_value() == base_url.default_value
    proposed = dialog.locator(f"datalist#{url_box.get_attribute('list')} option")
    assert [proposed.nth(i).get_attribute("value") for i in range(proposed.count())] == [
        o.value for o in base_url.options
    ]
    screenshot(dialog, "airflow-zhipu-connection-form")


def test_the_params_dag_trigger_form_is_asks_form(ui, page):
    ask = default_host().action("zhipu", "ask").action
    page.goto(f"{ui}/dags/zhipu_ask_form", wait_until="networkidle")
    page.get_by_role("button", name="Trigger").first.click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_text("Advanced options", exact=True).first.click()
    labels = [text.replace("*", "").strip() for text in dialog.locator("label").all_inner_texts()]
    shown = [p.label for p in ask.properties if not p.hidden]
    assert [label for label in labels if label in shown] == shown  # every field, in the definition's order
    assert dialog.locator("[name='element_model']").input_value() == ask.property("model").example_value
    assert dialog.get_by_text(ask.property("temperature").description.split(":")[0]).count() >= 1
    screenshot(dialog, "airflow-zhipu-ask-trigger-form")
