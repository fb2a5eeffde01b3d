"""The form page's **Test connection** button: its route runs the component's connection test."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from connectors import echo

from zhipu_connector.forms.server import FormServer, loopback_hosts
from zhipu_connector.host.host import Host

PORT = 8700
BASE = f"http://127.0.0.1:{PORT}"
KEY = "form3c2.serverHeldSecretKey"
TYPED = "typed9d.typedButWrongSecret"


def call(app, method, path, *, json_body=None):
    async def go():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as client:
            return await client.request(method, path, json=json_body)

    return asyncio.run(go())


@pytest.fixture(scope="module")
def emulator():
    from zhipu_connector.emulator import EmulatorConfig, running_emulator

    with running_emulator(EmulatorConfig(api_keys=frozenset({KEY}))) as base_url:
        yield base_url


@pytest.fixture(scope="module")
def app(emulator):
    host = Host(
        default_plugins=["zhipu_connector.zhipu.plugin", "zhipu_connector.core.plugin"],
        entry_points=False,
        extra_plugins=[echo],
    )
    return FormServer(
        host,
        connection_defaults={"zhipu": {"token": KEY, "baseUrl": emulator}},
        allowed_hosts=loopback_hosts(PORT),
    )


def test_the_button_is_on_each_connection_form_whose_component_declares_a_test(app):
    page = call(app, "GET", "/").text
    assert page.count('class="zc-test-connection"') == 2  # zhipu and echo; core has no connection
    assert KEY not in page


def test_the_server_held_key_passes(app, emulator):
    response = call(app, "POST", "/api/test-connection/zhipu", json_body={"connection": {}})
    assert response.status_code == 200
    assert response.json()["ok"] is True and response.json()["details"] == {"baseUrl": emulator}


def test_a_typed_key_is_tested_and_never_echoed(app):
    response = call(app, "POST", "/api/test-connection/zhipu", json_body={"connection": {"token": TYPED}})
    result = response.json()
    assert response.status_code == 200 and result["ok"] is False
    assert result["error"]["reason"] == "bad_key" and "refused the key" in result["message"]
    assert TYPED not in response.text and KEY not in response.text


def test_invalid_values_come_back_as_problems_for_the_fields(app):
    response = call(app, "POST", "/api/test-connection/echo", json_body={"connection": {"region": "mars"}})
    result = response.json()
    assert result["ok"] is False and {p["location"] for p in result["error"]["problems"]} == {"apiKey", "region"}


@pytest.mark.parametrize(
    "path, status, message",
    [
        ("/api/test-connection/core", 404, "core declares no connection test"),
        ("/api/test-connection/nobody", 404, "unknown component 'nobody'"),
    ],
)
def test_what_cannot_be_tested_is_refused(app, path, status, message):
    response = call(app, "POST", path, json_body={})
    assert response.status_code == status and response.json()["errors"][0]["message"] == message


def test_it_is_a_post_like_the_other_actions(app):
    assert call(app, "GET", "/api/test-connection/zhipu").status_code == 405
