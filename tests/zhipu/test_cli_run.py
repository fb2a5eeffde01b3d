"""`zhipu-connector run ask|createImage` against the emulator on a real loopback socket."""

from __future__ import annotations

import json

import httpx
import pytest

from zhipu_connector import cli
from zhipu_connector.emulator import EmulatorConfig, running_emulator
from zhipu_connector.host import host as host_module
from zhipu_connector.host.host import Host
from zhipu_connector.zhipu import connections

KEY = "clikeyid.cliKeySecret0042"
HELLO = json.dumps({"model": "glm-4-flash", "messages": [{"role": "user", "content": "Hello"}]})
HELLO_REPLY = (
    'Here is a short answer about "Hello" from glm-4-flash. The Zhipu emulator composes it '
    "from your message, so the same request always gets the same reply."
)


@pytest.fixture(scope="module")
def base_url():
    with running_emulator(EmulatorConfig(api_keys=frozenset({KEY}), stream_chunk_delay=0.005)) as url:
        yield url


@pytest.fixture(autouse=True)
def zhipu_default_host(monkeypatch):
    """`run` uses the process's default host: make it one with the Zhipu plugin alone."""
    monkeypatch.setattr(host_module, "_default", Host(entry_points=False))
    monkeypatch.delenv("ZHIPUAI_API_KEY", raising=False)
    monkeypatch.delenv("ZHIPUAI_BASE_URL", raising=False)
    with connections.configured():
        yield


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = cli.main(list(argv))
    out, err = capsys.readouterr()
    return status, out, err


def test_run_ask_prints_the_reply_as_json(capsys, base_url):
    status, out, err = run(capsys, "run", "ask", "--base-url", base_url, "--token", KEY, "--input", HELLO)
    assert (status, err) == (0, "")
    assert json.loads(out) == HELLO_REPLY


def test_run_ask_stream_prints_the_text_as_it_arrives_then_the_same_json(capsys, base_url):
    _, plain_out, _ = run(capsys, "run", "ask", "--base-url", base_url, "--token", KEY, "--input", HELLO)
    status, out, err = run(capsys, "run", "ask", "--stream", "--base-url", base_url, "--token", KEY, "--input", HELLO)
    assert status == 0
    assert out == plain_out
    assert err == HELLO_REPLY + "\n"


def test_run_ask_stream_writes_each_piece_when_it_arrives(capsys, base_url, monkeypatch):
    written: list[str] = []
    import sys

    class Recording:
        def write(self, text: str) -> int:
            written.append(text)
            return len(text)

        def flush(self) -> None:
            written.append("<flush>")

    monkeypatch.setattr(sys, "stderr", Recording())
    status = cli.main(["run", "ask", "--stream", "--base-url", base_url, "--token", KEY, "--input", HELLO])
    assert status == 0
    pieces = [text for text in written if text not in ("<flush>", "\n")]
    assert len(pieces) > 5 and "".join(pieces) == HELLO_REPLY
    assert written[:4] == [pieces[0], "<flush>", pieces[1], "<flush>"]  # flushed piece by piece


def test_run_ask_simple_format_from_key_value_pairs(capsys, base_url):
    status, out, err = run(
        capsys,
        "run",
        "ask",
        "--base-url",
        base_url,
        "--token",
        KEY,
        "-i",
        "format=SIMPLE",
        "-i",
        "model=glm-4-flash",  # a model that does not think, so the six tokens all go to the answer
        "-i",
        "systemPrompt=Be brief.",
        "-i",
        "userPrompt=Name a colour",
        "-i",
        "maxTokens=6",
    )
    assert status == 0 and json.loads(out) == "Here is a short answer about"
    assert err == (
        "WARNING: zhipu.ask: the reply was cut short: it reached the token limit (finish_reason 'length'); "
        "raise Max tokens for a longer reply\n"
    )


def test_run_reads_the_key_and_base_url_from_the_environment(capsys, base_url, monkeypatch):
    monkeypatch.setenv("ZHIPUAI_API_KEY", KEY)
    monkeypatch.setenv("ZHIPUAI_BASE_URL", base_url)
    status, out, _ = run(capsys, "run", "zhipu.ask", "--input", HELLO)
    assert status == 0 and json.loads(out) == HELLO_REPLY


def test_run_ask_with_a_jwt(capsys, base_url):
    status, out, _ = run(capsys, "run", "ask", "--jwt", "--base-url", base_url, "--token", KEY, "--input", HELLO)
    assert status == 0 and json.loads(out) == HELLO_REPLY


def test_run_create_image_prints_created_and_every_url(capsys, base_url):
    inputs = {
        "model": "cogview-4",
        "imageMessages": [{"content": "a red fox", "weight": 2}, {"content": "in the snow"}],
        "size": "1344x768",
    }
    status, out, _ = run(
        capsys, "run", "createImage", "--base-url", base_url, "--token", KEY, "--input", json.dumps(inputs)
    )
    assert status == 0
    result = json.loads(out)
    assert result["created"] == 1735689600 and set(result) == {"created", "data", "contentFilter"}
    [image] = result["data"]
    assert image["url"].startswith(base_url.removesuffix("/api/paas/v4") + "/emulator/images/")
    png = httpx.get(image["url"])
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")


def test_an_api_error_is_one_line_with_status_code_and_request_id(capsys, base_url):
    inputs = {
        "model": "glm-4-flash",
        "messages": [{"role": "user", "content": "Hi [[fault:no_balance]]"}],
        "requestId": "cli-request-01",
    }
    status, out, err = run(capsys, "run", "ask", "--base-url", base_url, "--token", KEY, "--input", json.dumps(inputs))
    assert (status, out) == (1, "")
    assert err == (
        "error: Your account balance is exhausted, please recharge and retry; or the key belongs to the "
        "other platform (open.bigmodel.cn or api.z.ai), or is a GLM Coding Plan key "
        "(HTTP 429, code 1113, request id cli-request-01)\n"
    )


def test_a_rejected_key_is_never_printed(capsys, base_url):
    wrong = "wrongid.wrongKeySecret77"
    status, out, err = run(capsys, "run", "ask", "--stream", "--base-url", base_url, "--token", wrong, "--input", HELLO)
    assert status == 1 and "HTTP 401, code 1002" in err
    assert wrong not in out + err and "wrongKeySecret77" not in out + err


def test_a_tool_message_without_its_id_is_refused_before_sending(capsys, base_url):
    inputs = {
        "model": "glm-4-flash",
        "messages": [{"role": "user", "content": "Hi"}, {"role": "tool", "content": "42"}],
    }
    status, out, err = run(
        capsys,
        "run",
        "ask",
        "--base-url",
        "http://127.0.0.1:9/api/paas/v4",
        "--token",
        KEY,
        "--input",
        json.dumps(inputs),
    )
    assert (status, out) == (1, "")
    assert err.startswith(
        "error: zhipu.ask: invalid inputs (1 problem)\n  - messages[1].toolCallId: Tool call ID is required"
    )


def test_run_timeout_bounds_the_whole_call_against_a_dripping_server(capsys):
    import time

    from test_client_bounds import dripping, loopback

    with loopback(dripping) as url:
        started = time.monotonic()
        status, out, err = run(
            capsys, "run", "ask", "--base-url", url, "--token", KEY, "--timeout", "0.5", "--input", HELLO
        )
        elapsed = time.monotonic() - started
    assert status != 0 and out == ""
    assert "ran past its deadline (0.5 s per attempt, 0.5 s per call" in err and KEY not in err
    assert elapsed < 1.5


@pytest.mark.parametrize("value", ["0", "-3", "nan", "inf", "soon"])
def test_run_refuses_a_timeout_that_cannot_work(capsys, value):
    with pytest.raises(SystemExit):
        cli.main(["run", "ask", "--token", KEY, "--timeout", value, "--input", HELLO])
    assert "--timeout: must be a positive number of seconds" in capsys.readouterr().err
