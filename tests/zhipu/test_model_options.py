"""Ask's model options fetched live (`GET /models`) through the host and the form server, against the emulator."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from zhipu_connector.emulator import EmulatorConfig, create_app
from zhipu_connector.forms.server import FormServer, loopback_hosts
from zhipu_connector.host.host import Host
from zhipu_connector.zhipu import connections

KEY = "modelsk.modelsSecret0042"
LOCAL = "http://emulator/api/paas/v4"
NEW_MODEL = "glm-9-preview"


class WithANewModel:
    """The emulator, its model list answering one id the definition does not know yet; counts the lists."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.lists = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].endswith("/models"):
            await self.app(scope, receive, send)
            return
        self.lists += 1
        started: dict[str, Any] = {}

        async def rewrite(message: Any) -> None:
            if message["type"] == "http.response.start":
                started.update(message)
                return
            body = message.get("body", b"")
            if started.get("status") == 200:
                answer = json.loads(body)
                answer["data"].insert(0, {"id": NEW_MODEL, "object": "model", "created": 1, "owned_by": "z-ai"})
                body = json.dumps(answer).encode()
            headers = [(k, v) for k, v in started.get("headers", []) if k.lower() != b"content-length"]
            headers.append((b"content-length", str(len(body)).encode()))
            await send({**started, "headers": headers})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, rewrite)


@pytest.fixture
def app():
    app = WithANewModel(create_app(EmulatorConfig(api_keys=frozenset({KEY}))))
    with connections.configured(transport_factory=connections.InProcessTransports(app)):
        yield app


@pytest.fixture
def host():
    return Host(entry_points=False)


def test_a_model_the_platform_lists_comes_first_and_no_known_one_is_dropped(host, app, zhipu_component):
    result = host.property_options("zhipu", "ask", "model", {"token": KEY, "baseUrl": LOCAL})
    assert result.source == "live" and app.lists == 1
    values = [option["value"] for option in result.options]
    static = [
        option.value
        for prop in zhipu_component.action("ask").properties
        if prop.name == "model"
        for option in prop.options
    ]
    assert values == [NEW_MODEL, *static]  # glm-4.7-flash and the vision models stay, though the list omits them
    assert result.options[0]["label"] == NEW_MODEL


def test_the_list_is_cached_for_the_connection(host, app):
    for _ in range(3):
        host.property_options("zhipu", "ask", "model", {"token": KEY, "baseUrl": LOCAL})
    assert app.lists == 1


def test_the_async_path(host, app):
    result = asyncio.run(host.aproperty_options("zhipu", "ask", "model", {"token": KEY, "baseUrl": LOCAL}))
    assert result.source == "live" and result.options[0]["value"] == NEW_MODEL


@pytest.mark.parametrize(
    ("connection", "reason"),
    [
        (
            {"token": KEY, "baseUrl": "https://api.z.ai/api/paas/v4"},
            "the international platform (api.z.ai) does not offer",
        ),
        ({"token": "wrongid.wrongSecret", "baseUrl": LOCAL}, "1002"),
        ({"baseUrl": LOCAL}, "Token is required"),
    ],
)
def test_no_list_gives_the_static_options_with_the_reason(host, app, connection, reason):
    result = host.property_options("zhipu", "ask", "model", connection)
    assert result.source == "static" and reason in result.reason
    assert result.options[0]["value"] == "glm-5.3" and NEW_MODEL not in {o["value"] for o in result.options}
    assert "wrongSecret" not in result.reason


def test_the_emulators_international_platform_answers_404_and_the_form_keeps_its_list(host):
    emulator = create_app(EmulatorConfig(api_keys=frozenset({KEY}), platform="international"))
    with connections.configured(transport_factory=connections.InProcessTransports(emulator)):
        result = host.property_options("zhipu", "ask", "model", {"token": KEY, "baseUrl": LOCAL})
    assert result.source == "static" and "404" in result.reason


def form_call(server: FormServer, body: dict[str, Any]) -> httpx.Response:
    async def go() -> httpx.Response:
        transport = httpx.ASGITransport(app=server)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8711") as client:
            return await client.post("/api/options/zhipu", json=body)

    return asyncio.run(go())


def test_the_form_server_answers_the_live_options_with_its_preset_key(host, app):
    server = FormServer(
        host, connection_defaults={"zhipu": {"token": KEY, "baseUrl": LOCAL}}, allowed_hosts=loopback_hosts(8711)
    )
    response = form_call(server, {"connection": {"token": ""}, "authorization": "bearer_token"})
    assert response.status_code == 200
    data = response.json()
    assert list(data["actions"]) == ["ask"] and list(data["actions"]["ask"]) == ["model"]
    model = data["actions"]["ask"]["model"]
    assert model["source"] == "live" and model["options"][0]["value"] == NEW_MODEL
    assert KEY not in response.text
    typed = form_call(server, {"connection": {"baseUrl": "https://api.z.ai/api/paas/v4"}}).json()
    assert typed["actions"]["ask"]["model"]["source"] == "static"
