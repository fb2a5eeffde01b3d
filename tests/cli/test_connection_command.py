"""`zhipu-connector connection test` against the emulator on loopback: success, and each precise failure."""

from __future__ import annotations

import json
import socket

import pytest

from zhipu_connector import Host, cli
from zhipu_connector.host import host as host_module

KEY = "conn5a7.connectionTestSecret"
OTHER_KEY = "other91.notThisPlatformsKey"


def emulator_with(**config):
    from zhipu_connector.emulator import EmulatorConfig, running_emulator

    return running_emulator(EmulatorConfig(api_keys=frozenset({KEY}), **config))


@pytest.fixture(scope="module")
def emulator():
    with emulator_with() as base_url:
        yield base_url


@pytest.fixture(autouse=True)
def zhipu_host(monkeypatch):
    from zhipu_connector.zhipu import connections

    monkeypatch.delenv("ZHIPUAI_API_KEY", raising=False)
    monkeypatch.delenv("ZHIPUAI_BASE_URL", raising=False)
    host = Host(default_plugins=["zhipu_connector.zhipu.plugin"], entry_points=False)
    monkeypatch.setattr(host_module, "_default", host)
    with connections.configured(client_options={"max_retries": 0}):  # a refused port is not retried here
        yield host


def run_cli(capsys, *argv):
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    assert KEY not in out + err and OTHER_KEY not in out + err, "the token is never printed"
    return status, out, err


def test_a_working_key_passes(capsys, emulator, monkeypatch):
    monkeypatch.setenv("ZHIPUAI_API_KEY", KEY)
    monkeypatch.setenv("ZHIPUAI_BASE_URL", emulator)
    status, out, _ = run_cli(capsys, "connection", "test")
    assert status == 0
    assert out == f"ok: the key works at {emulator} (a free one-token request to glm-4.5-flash answered)\n"


def test_the_options_name_the_connection_too(capsys, emulator):
    status, out, _ = run_cli(capsys, "connection", "test", "zhipu", "--token", KEY, "--base-url", emulator, "--json")
    result = json.loads(out)
    assert status == 0 and result["ok"] and result["details"] == {"baseUrl": emulator}


def test_a_bad_key(capsys, emulator):
    status, out, err = run_cli(capsys, "connection", "test", "--token", OTHER_KEY, "--base-url", emulator, "--json")
    result = json.loads(out)
    assert status == 1 and not result["ok"]
    assert result["error"]["reason"] == "bad_key" and result["error"]["status"] == 401
    assert result["error"]["code"] in {"1000", "1001", "1002", "1003", "1004"}
    assert result["message"].startswith(f"the platform at {emulator} refused the key")


@pytest.mark.parametrize(
    "fault, reason, words",
    [
        ("no_balance", "key_of_another_platform_or_plan", "it belongs to the other platform"),
        ("account_locked", "no_balance_or_quota", "its account cannot make calls now"),
        ("daily_quota", "no_balance_or_quota", "its account cannot make calls now"),
    ],
)
def test_a_key_this_platform_will_not_serve(capsys, fault, reason, words):
    with emulator_with(fault=fault) as base_url:
        status, _, err = run_cli(capsys, "connection", "test", "--token", KEY, "--base-url", base_url)
    assert status == 1 and err.startswith("failed: ") and words in err
    with emulator_with(fault=fault) as base_url:
        status, out, _ = run_cli(capsys, "connection", "test", "--token", KEY, "--base-url", base_url, "--json")
    assert json.loads(out)["error"]["reason"] == reason


def test_a_wrong_base_url(capsys, emulator):
    wrong = emulator.replace("/api/paas/v4", "/api/v9")
    status, out, _ = run_cli(capsys, "connection", "test", "--token", KEY, "--base-url", wrong, "--json")
    result = json.loads(out)
    assert status == 1 and result["error"]["reason"] == "wrong_base_url" and result["error"]["status"] == 404
    assert f"{wrong} does not answer as the Zhipu API" in result["message"]


def test_an_unreachable_server(capsys):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    url = f"http://127.0.0.1:{port}/api/paas/v4"
    status, out, _ = run_cli(capsys, "connection", "test", "--token", KEY, "--base-url", url, "--json")
    result = json.loads(out)
    assert status == 1 and result["error"]["reason"] == "unreachable"
    assert result["message"].startswith(f"cannot reach {url}: ")


def test_a_missing_token_is_named_before_anything_is_sent(capsys):
    status, out, _ = run_cli(capsys, "connection", "test", "--json")
    result = json.loads(out)
    assert status == 1 and result["error"]["type"] == "ConnectionValidationError"
    assert {"location": "token", "message": "Token is required"} in result["error"]["problems"]


def test_a_component_without_a_connection_test(capsys):
    status, _, err = run_cli(capsys, "connection", "test", "core")
    assert status == 1 and "core declares no connection test (components that do: zhipu)" in err


def test_a_url_that_answers_but_not_as_the_api(capsys):
    """A web page where the API should be: HTTP 200, but HTML."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class WebPage(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("content-length") or 0))
            body = b"<html><body>Welcome</body></html>"
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), WebPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/api/paas/v4"
    try:
        status, out, _ = run_cli(capsys, "connection", "test", "--token", KEY, "--base-url", url, "--json")
    finally:
        server.shutdown()
        server.server_close()
    result = json.loads(out)
    assert status == 1 and result["error"]["reason"] == "wrong_base_url"
    assert f"{url} does not answer as the Zhipu API" in result["message"]
