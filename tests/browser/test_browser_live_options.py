"""Ask's model options on the form page: fetched live with the connection form's values, static when that fails."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def model_field(page):
    return page.locator('form[data-kind="action"][data-name="ask"] > .zc-fields > .zc-field[data-key="model"]')


def test_the_model_list_is_fetched_live_and_falls_back_when_the_platform_has_none(page, zhipu):
    page.set_default_timeout(10_000)
    page.goto(zhipu["url"] + "/")
    field = model_field(page)
    page.wait_for_function(
        "() => document.querySelector('form[data-name=ask] .zc-field[data-key=model]').dataset.optionsSource === 'live'"
    )
    values = field.locator("datalist option").evaluate_all("(options) => options.map((o) => o.value)")
    assert "glm-5.3" in values and "glm-4.7-flash" in values
    connection = page.locator('form[data-kind="connection"][data-component="zhipu"]')
    connection.locator("details.zc-advanced > summary").first.click()
    base_url = connection.locator('input[name="baseUrl"]')
    base_url.fill("https://api.z.ai/api/paas/v4")
    base_url.dispatch_event("change")
    page.wait_for_function(
        "() => document.querySelector('form[data-name=ask] .zc-field[data-key=model]').dataset.optionsSource === 'static'"
    )
    assert field.locator("datalist option").count() == len(values)  # the static list, whole
