"""The form server, in process through httpx's ASGI transport: the page, the API, bad input, secrets."""

from __future__ import annotations

import asyncio
import json
import logging
import re

import httpx
import pytest

from zhipu_connector.forms.server import MAX_BODY_BYTES, FormServer, loopback_hosts
from zhipu_connector.host.errors import InputValidationError

PORT = 8700
BASE = f"http://127.0.0.1:{PORT}"
TOKEN = "memo4f2a.Zq8sTOKENvalue91x"
VALID = {"title": "Weekly", "sections": [{"heading": "News", "level": 2, "note": "n"}]}


def call(app, method, path, *, json_body=None, content=None, headers=None):
    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            return await client.request(method, path, json=json_body, content=content, headers=headers)

    return asyncio.run(go())


@pytest.fixture(scope="module")
def app(memo_host):
    return FormServer(
        memo_host, connection_defaults={"memo": {"endpoint": "http://127.0.0.1:9"}}, allowed_hosts=loopback_hosts(PORT)
    )


def run(app, inputs, connection=None, **kwargs):
    body = {"inputs": inputs, "connection": {"apiKey": TOKEN} if connection is None else connection}
    return call(app, "POST", "/api/run/memo/compose", json_body=body, **kwargs)


# ---------------------------------------------------------------- the page and its assets


def test_the_page_has_the_connection_form_and_a_form_per_action(app, memo_component):
    response = call(app, "GET", "/")
    assert response.status_code == 200 and response.headers["content-type"] == "text/html; charset=utf-8"
    html = response.text
    assert re.search(r'<form[^>]*data-kind="connection"[^>]*data-component="memo"[^>]*data-name="api_key"', html)
    for action in memo_component.actions:
        assert re.search(rf'<form[^>]*data-kind="action"[^>]*data-component="memo"[^>]*data-name="{action.name}"', html)
    assert 'data-api="/api"' in html
    endpoint = re.search(r'<input[^>]*name="endpoint"[^>]*>', html).group(0)
    assert 'value="http://127.0.0.1:9"' in endpoint, "the server's preset, not the definition's default"
    assert '<script src="/static/forms.js" defer></script>' in html
    assert "<script>" not in html and "<style>" not in html, "nothing inline: the CSP allows the page's own files only"


def test_every_response_carries_the_security_headers(app):
    for path in ("/", "/static/forms.js", "/api/forms", "/nowhere"):
        headers = call(app, "GET", path).headers
        assert headers["content-security-policy"].startswith("default-src 'none'; script-src 'self'")
        assert headers["x-content-type-options"] == "nosniff"
        assert headers["x-frame-options"] == "DENY"
        assert headers["cache-control"] == "no-store"


def test_the_assets_are_served_from_the_package(app):
    script = call(app, "GET", "/static/forms.js")
    style = call(app, "GET", "/static/forms.css")
    assert script.headers["content-type"].startswith("text/javascript") and "evaluateCondition" in script.text
    assert style.headers["content-type"].startswith("text/css") and ".zc-field" in style.text
    assert call(app, "GET", "/static/../server.py").status_code == 404
    assert call(app, "GET", "/favicon.ico").status_code == 204


def test_the_forms_document_has_schema_ui_schema_and_tree_for_each_form(app, memo_component):
    document = call(app, "GET", "/api/forms").json()
    (component,) = document["components"]
    assert component["name"] == "memo"
    assert set(component["actions"]) == set(memo_component.action_names)
    for form in [component["connection"], *component["actions"].values()]:
        assert set(form) == {"schema", "uiSchema", "tree"}
    endpoint = next(f for f in component["connection"]["tree"]["fields"] if f["key"] == "endpoint")
    assert endpoint["default"] == "http://127.0.0.1:9", "the server's preset replaces the definition's default"


# ---------------------------------------------------------------- running


def test_a_valid_form_runs_and_returns_output_and_media(app, memo_calls):
    response = run(app, VALID)
    assert response.status_code == 200
    data = response.json()
    assert data["output"]["text"] == "Weekly\nNews"
    assert data["media"] == [{"path": "pictures[0].url", "url": "http://127.0.0.1:9/pictures/1.png"}]
    assert data["warnings"] == []
    assert memo_calls[-1]["inputs"] == {**VALID, "format": "ADVANCED", "urgency": 0.5}
    assert memo_calls[-1]["connection"]["endpoint"] == "http://127.0.0.1:9"


def test_a_hidden_field_is_not_required_and_not_passed_on(app, memo_calls):
    simple = {"format": "SIMPLE", "title": "T", "body": "B", "sections": [{"heading": "never sent"}]}
    assert run(app, simple).status_code == 200
    assert "sections" not in memo_calls[-1]["inputs"]
    advanced = {
        "title": "T",
        "body": "never sent",
        "sections": [{"heading": "H", "level": 1, "note": "hidden at level 1"}],
    }
    assert run(app, advanced).status_code == 200
    assert "body" not in memo_calls[-1]["inputs"]
    assert memo_calls[-1]["inputs"]["sections"] == [{"heading": "H", "level": 1}]


def test_validate_checks_without_running(app, memo_calls):
    body = {"inputs": VALID, "connection": {"apiKey": TOKEN}}
    assert call(app, "POST", "/api/validate/memo/compose", json_body=body).json() == {"ok": True}
    bad = call(app, "POST", "/api/validate/memo/compose", json_body={"inputs": {"urgency": 7}, "connection": {}})
    assert bad.status_code == 422
    assert {e["scope"] for e in bad.json()["errors"]} == {"connection", "inputs"}
    assert memo_calls == []


@pytest.mark.parametrize(
    "inputs",
    [
        {"title": 42, "sections": "none"},  # wrong types
        {},  # missing fields
        {"title": "T", "sections": [{"heading": "H"}], "colour": "red"},  # an unknown key
        {"title": "T", "sections": [{"heading": ""}, {"heading": "H", "x": 1}], "urgency": 1.5, "copies": 0},
        {"title": "T", "format": "SIMPLE"},  # required when shown
        ["not", "an", "object"],
    ],
)
def test_bad_inputs_get_the_hosts_own_problems_and_nothing_runs(app, memo_host, memo_calls, inputs):
    response = run(app, inputs)
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    with pytest.raises(InputValidationError) as raised:
        memo_host.run_action("memo", "compose", inputs, {"apiKey": TOKEN})
    assert error["scope"] == "inputs"
    assert error["type"] == "InputValidationError"
    assert error["problems"] == [{"location": p.location, "message": p.message} for p in raised.value.problems]
    assert error["message"] == str(raised.value)
    assert memo_calls == [], "nothing reached the handler"


def test_a_problem_names_the_field_and_the_rule(app):
    errors = run(app, {"title": "T", "sections": [{"heading": "H"}], "urgency": 1.5, "colour": "red"}).json()["errors"]
    problems = {p["location"]: p["message"] for p in errors[0]["problems"]}
    assert problems["urgency"] == "Urgency: 1.5 is greater than the maximum of 1"
    assert "unknown key 'colour'" in problems["colour"]


def test_connection_problems_come_with_the_input_problems(app, memo_calls):
    response = run(app, {"title": 5}, connection={"endpoint": 3})
    assert response.status_code == 422
    errors = {e["scope"]: e for e in response.json()["errors"]}
    assert {p["location"] for p in errors["connection"]["problems"]} == {"apiKey", "endpoint"}
    assert {p["location"] for p in errors["inputs"]["problems"]} == {"title", "sections"}
    assert memo_calls == []


@pytest.mark.parametrize(
    "method, path, kwargs, status, fragment",
    [
        (
            "POST",
            "/api/run/memo/compose",
            {"content": b"{", "headers": {"content-type": "application/json"}},
            400,
            "not valid JSON",
        ),
        ("POST", "/api/run/memo/compose", {"json_body": [1]}, 400, "must be a JSON object"),
        (
            "POST",
            "/api/run/memo/compose",
            {"json_body": {"inputs": {}, "token": "x"}},
            400,
            "unknown key in the body: 'token'",
        ),
        (
            "POST",
            "/api/run/memo/compose",
            {"json_body": {"inputs": {}, "connection": "k"}},
            400,
            "'connection' must be an object",
        ),
        (
            "POST",
            "/api/run/memo/compose",
            {"content": b"{}", "headers": {"content-type": "text/plain"}},
            415,
            "application/json",
        ),
        ("POST", "/api/run/memo/nothing", {"json_body": {}}, 404, "memo has no action 'nothing'"),
        ("POST", "/api/run/zhipu/ask", {"json_body": {}}, 404, "unknown component 'zhipu'"),
        ("GET", "/api/run/memo/compose", {}, 405, "GET is not allowed here"),
        ("DELETE", "/", {}, 405, "DELETE is not allowed here"),
        ("GET", "/etc/passwd", {}, 404, "nothing at /etc/passwd"),
    ],
)
def test_requests_the_server_refuses(app, memo_calls, method, path, kwargs, status, fragment):
    response = call(app, method, path, **kwargs)
    assert response.status_code == status
    assert fragment in response.json()["errors"][0]["message"]
    assert memo_calls == []


def test_an_oversized_body_is_refused_with_413(app, memo_calls):
    big = {"inputs": {"title": "x" * MAX_BODY_BYTES}, "connection": {"apiKey": TOKEN}}
    response = call(app, "POST", "/api/run/memo/compose", json_body=big)
    assert response.status_code == 413
    assert response.json()["errors"][0]["message"] == f"the body is over the limit of {MAX_BODY_BYTES} bytes"
    assert memo_calls == []


def test_a_body_without_a_declared_length_is_still_capped(memo_host, memo_calls):
    small = FormServer(memo_host, max_body=100)
    chunks = [b'{"inputs": {"title": "', b"x" * 200, b'"}}']

    async def stream():
        for chunk in chunks:
            yield chunk

    async def go():
        transport = httpx.ASGITransport(app=small)
        async with httpx.AsyncClient(transport=transport, base_url=BASE) as client:
            return await client.post(
                "/api/run/memo/compose", content=stream(), headers={"content-type": "application/json"}
            )

    response = asyncio.run(go())
    assert response.status_code == 413
    assert memo_calls == []


def test_other_sites_and_other_host_names_are_refused(app, memo_calls):
    other_site = run(app, VALID, headers={"origin": "http://evil.example"})
    assert other_site.status_code == 403 and "another site" in other_site.json()["errors"][0]["message"]
    same_site = run(app, VALID, headers={"origin": BASE})
    assert same_site.status_code == 200
    rebound = call(app, "GET", "/", headers={"host": "attacker.example:8700"})
    assert rebound.status_code == 421
    assert len(memo_calls) == 1


def test_any_host_name_is_answered_when_remote_access_was_allowed(memo_host):
    remote = FormServer(memo_host, allowed_hosts=None)
    assert call(remote, "GET", "/", headers={"host": "forms.example:8700"}).status_code == 200


# ---------------------------------------------------------------- secrets


def test_a_posted_token_never_appears_in_the_page_the_json_or_the_log(app, memo_calls, caplog):
    caplog.set_level(logging.DEBUG)
    responses = [
        run(app, VALID),
        run(app, {**VALID, "title": TOKEN + " " + TOKEN}),  # the token pasted in the wrong box, echoed back
        run(app, VALID, connection={"apiKey": TOKEN, "endpoint": 7}),
        call(app, "POST", "/api/validate/memo/compose", json_body={"inputs": {}, "connection": {"apiKey": TOKEN}}),
    ]
    responses += [call(app, "GET", "/"), call(app, "GET", "/api/forms")]
    assert [r.status_code for r in responses] == [200, 422, 422, 422, 200, 200]
    for response in responses:
        assert TOKEN not in response.text
    assert "********" in responses[1].text, "the pasted token is masked where it is echoed"
    assert TOKEN not in caplog.text
    assert "POST /api/run/memo/compose -> 200" in caplog.text


def test_a_secret_held_by_the_server_stays_there(memo_host, memo_calls):
    held = FormServer(
        memo_host,
        connection_defaults={"memo": {"apiKey": TOKEN, "endpoint": "http://127.0.0.1:9"}},
        allowed_hosts=loopback_hosts(PORT),
    )
    page = call(held, "GET", "/").text
    assert TOKEN not in page and TOKEN not in call(held, "GET", "/api/forms").text
    assert 'placeholder="set on the server"' in page
    response = call(held, "POST", "/api/run/memo/compose", json_body={"inputs": VALID, "connection": {"apiKey": ""}})
    assert response.status_code == 200 and TOKEN not in response.text
    assert memo_calls[-1]["connection"]["apiKey"].reveal() == TOKEN
    other = "memo.another-key-value"
    call(held, "POST", "/api/run/memo/compose", json_body={"inputs": VALID, "connection": {"apiKey": other}})
    assert memo_calls[-1]["connection"]["apiKey"].reveal() == other, "a key typed in the page wins"


def test_a_crashing_handler_is_a_502_with_the_key_masked(echo_host):
    key = "echo-key.crashsecret42"
    app = FormServer(echo_host)
    response = call(
        app, "POST", "/api/run/echo/broken", json_body={"inputs": {"mode": "crash"}, "connection": {"apiKey": key}}
    )
    assert response.status_code == 502
    (error,) = response.json()["errors"]
    assert error["type"] == "HandlerCrashedError" and "boom with key ********" in error["message"]
    assert key not in response.text


def test_an_output_that_breaks_the_schema_is_a_502(echo_host):
    app = FormServer(echo_host)
    response = call(
        app, "POST", "/api/run/echo/broken", json_body={"inputs": {}, "connection": {"apiKey": "echo-key.x12345"}}
    )
    assert response.status_code == 502
    assert response.json()["errors"][0]["type"] == "OutputValidationError"


def test_head_requests_get_headers_only(app):
    response = call(app, "HEAD", "/")
    assert response.status_code == 200 and response.content == b""


def test_the_api_json_is_utf8_and_parses(app):
    response = call(app, "GET", "/api/forms")
    assert json.loads(response.content.decode("utf-8")) == response.json()


@pytest.mark.parametrize(
    "inputs",
    [
        {"model": 4, "messages": "hello", "temperature": "warm"},
        {"format": "SIMPLE", "model": "glm-4-flash", "userPrompt": "", "topP": 0, "colour": "red"},
        {"model": "glm-4-flash", "messages": [{"role": "robot"}], "stop": ["a", "b", "c", "d", "e"]},
    ],
)
def test_the_page_gets_the_same_messages_as_the_command_line(inputs, capsys):
    from zhipu_connector.cli import main
    from zhipu_connector.host.host import Host

    host = Host(default_plugins=["zhipu_connector.zhipu.plugin"], entry_points=False)
    app = FormServer(host, allowed_hosts=loopback_hosts(PORT))
    body = {"inputs": inputs, "connection": {"token": "cli4e5f.sameMessagesKey", "baseUrl": "http://127.0.0.1:9"}}
    response = call(app, "POST", "/api/run/zhipu/ask", json_body=body)
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert (
        main(
            [
                "run",
                "ask",
                "--input",
                json.dumps(inputs),
                "--token",
                "cli4e5f.sameMessagesKey",
                "--base-url",
                "http://127.0.0.1:9",
            ]
        )
        == 1
    )
    printed = capsys.readouterr().err
    assert printed == f"error: {error['message']}\n"
    for problem in error["problems"]:
        assert f"  - {problem['location']}: {problem['message']}" in printed


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b'{"inputs": {"urgency": NaN}, "connection": {}}', "NaN is not a number JSON allows"),
        (b'{"inputs": {"urgency": Infinity}, "connection": {}}', "Infinity is not a number JSON allows"),
        (b'{"inputs": {"copies": ' + b"9" * 5000 + b"}}", "more than 4300 digits"),
        (b'{"inputs": {"title": ' + b"[" * 50_000 + b"]" * 50_000 + b"}}", "nested deeper than"),
    ],
)
@pytest.mark.parametrize("endpoint", ["validate", "run"])
def test_non_finite_huge_or_deep_bodies_are_a_400_not_ok_nor_a_500(app, memo_calls, content, fragment, endpoint):
    headers = {"content-type": "application/json"}
    response = call(app, "POST", f"/api/{endpoint}/memo/compose", content=content, headers=headers)
    assert response.status_code == 400
    assert fragment in response.text
    assert memo_calls == []


@pytest.mark.parametrize("secret", [["abc.mysecretkey123"], {"k": "abc.mysecretkey123"}, 98765432101])
def test_a_secret_of_the_wrong_type_is_not_quoted_in_the_422(app, memo_calls, secret):
    body = {"inputs": VALID, "connection": {"apiKey": secret}}
    response = call(app, "POST", "/api/validate/memo/compose", json_body=body)
    assert response.status_code == 422
    assert "mysecretkey123" not in response.text and "98765432101" not in response.text
    assert [e["location"] for e in response.json()["errors"][0]["problems"]] == ["apiKey"]
