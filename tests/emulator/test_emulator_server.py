"""Over a real loopback socket: streaming, slow answers, dropped connections, the official SDK."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import httpx
import pytest
from emulator_support import KEY, chat_body, image_body

from zhipu_connector.emulator import EmulatorConfig, running_emulator

AUTH = {"Authorization": f"Bearer {KEY}"}


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with running_emulator() as url:
        yield url


@pytest.fixture
def client(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, headers=AUTH, timeout=5) as client:
        yield client


def test_the_base_url_is_on_loopback(base_url: str) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/api/paas/v4", base_url)


def test_a_plain_reply_over_the_socket(client: httpx.Client) -> None:
    response = client.post("/chat/completions", json=chat_body())
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["role"] == "assistant"


def test_a_stream_arrives_as_server_sent_events(client: httpx.Client) -> None:
    with client.stream("POST", "/chat/completions", json=chat_body(stream=True)) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert response.headers.get("transfer-encoding") == "chunked"
        lines = list(response.iter_lines())
    data = [line for line in lines if line]
    assert all(line.startswith("data: ") for line in data)
    assert data[-1] == "data: [DONE]"
    chunks = [json.loads(line[6:]) for line in data[:-1]]
    assert chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert "".join(c["choices"][0]["delta"]["content"] for c in chunks).startswith("Here is a short answer")


def test_stream_chunks_are_sent_as_they_are_made() -> None:
    config = EmulatorConfig(stream_chunk_delay=0.15, stream_chunk_tokens=20)
    with running_emulator(config) as url:
        with httpx.Client(base_url=url, headers=AUTH, timeout=5) as client:
            started = time.monotonic()
            with client.stream("POST", "/chat/completions", json=chat_body(stream=True)) as response:
                arrivals = [time.monotonic() - started for line in response.iter_lines() if line]
    assert len(arrivals) >= 3  # content chunks, the final chunk, [DONE]
    assert arrivals[0] < 0.15
    assert arrivals[-1] >= 0.15 * (len(arrivals) - 1)


def test_a_slow_answer_times_out_a_short_client_timeout(base_url: str, client: httpx.Client) -> None:
    with httpx.Client(base_url=base_url, headers=AUTH, timeout=0.2) as impatient:
        with pytest.raises(httpx.ReadTimeout):
            impatient.post("/chat/completions", json=chat_body(), headers={"X-Emulator-Fault": "slow;seconds=0.6"})
    assert client.post("/chat/completions", json=chat_body()).status_code == 200


def test_a_slow_answer_arrives_with_a_long_enough_timeout(client: httpx.Client) -> None:
    started = time.monotonic()
    response = client.post("/chat/completions", json=chat_body("[[fault:slow;seconds=0.3]]"))
    assert response.status_code == 200 and time.monotonic() - started >= 0.3


def test_drop_is_a_dropped_connection(client: httpx.Client, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        with pytest.raises(httpx.RemoteProtocolError) as caught:
            client.post("/chat/completions", json=chat_body(), headers={"X-Emulator-Fault": "drop"})
        assert "EmulatedConnectionDrop" not in type(caught.value).__name__  # raised by httpx itself
        with pytest.raises(httpx.RemoteProtocolError):
            with client.stream("POST", "/chat/completions", json=chat_body("[[fault:drop]]", stream=True)) as response:
                for _ in response.iter_lines():
                    pass
        assert client.post("/chat/completions", json=chat_body()).status_code == 200
    assert not [record for record in caplog.records if "ASGI" in record.getMessage()]


def test_a_generated_image_downloads_from_the_socket(client: httpx.Client, base_url: str) -> None:
    url = client.post("/images/generations", json=image_body()).json()["data"][0]["url"]
    assert urlsplit(url).netloc == urlsplit(base_url).netloc
    png = httpx.get(url, timeout=5)
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG\r\n\x1a\n")


def test_the_server_stops_on_exit() -> None:
    with running_emulator() as url:
        port = urlsplit(url).port
        assert httpx.post(f"{url}/chat/completions", json=chat_body(), headers=AUTH).status_code == 200
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=1).close()


class TestOfficialSdk:
    """The official `zhipuai` SDK talks to the emulator as it talks to the platform."""

    @pytest.fixture
    def sdk(self, base_url: str):
        from zhipuai import ZhipuAI

        return ZhipuAI(api_key=KEY, base_url=base_url, max_retries=0, timeout=5)

    def test_chat(self, sdk) -> None:
        completion = sdk.chat.completions.create(
            model="glm-4-flash", messages=[{"role": "user", "content": "Hi there"}]
        )
        assert '"Hi there"' in completion.choices[0].message.content
        assert completion.usage.total_tokens == completion.usage.prompt_tokens + completion.usage.completion_tokens

    def test_stream(self, sdk) -> None:
        chunks = list(sdk.chat.completions.create(
            model="glm-4-flash", messages=[{"role": "user", "content": "Hi there"}], stream=True
        ))  # fmt: skip
        assert '"Hi there"' in "".join(chunk.choices[0].delta.content or "" for chunk in chunks)
        assert chunks[-1].choices[0].finish_reason == "stop"

    def test_image(self, sdk) -> None:
        reply = sdk.images.generations(model="cogview-3-flash", prompt="a lighthouse at dusk")
        assert httpx.get(reply.data[0].url, timeout=5).content.startswith(b"\x89PNG")

    def test_a_prompt_marker_triggers_a_fault_without_custom_headers(self, sdk) -> None:
        from zhipuai import APIReachLimitError

        with pytest.raises(APIReachLimitError):
            sdk.chat.completions.create(
                model="glm-4-flash", messages=[{"role": "user", "content": "[[fault:rate_limit]]"}]
            )

    def test_a_validation_error_reaches_it(self, sdk) -> None:
        from zhipuai import APIRequestFailedError

        with pytest.raises(APIRequestFailedError, match="max_tokens: must be an integer in"):
            sdk.chat.completions.create(model="glm-4-flash", messages=[{"role": "user", "content": "hi"}], max_tokens=0)


def test_a_busy_port_is_a_clear_error() -> None:
    from zhipu_connector.emulator import EmulatorConfigError, serve

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(EmulatorConfigError, match=f"cannot listen on 127.0.0.1:{port}"):
            serve(port=port)


@pytest.mark.slow
def test_a_bad_option_exits_with_one_message() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "zhipu_connector.emulator", "--port", "0", "--fault", "explode"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: fault: unknown fault 'explode'")
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_the_module_serves_in_the_foreground_with_keys_from_the_environment() -> None:
    env = {**os.environ, "ZHIPUAI_API_KEY": KEY}
    process = subprocess.Popen(
        [sys.executable, "-m", "zhipu_connector.emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        banner = process.stdout.readline()  # type: ignore[union-attr]
        match = re.search(r"(http://127\.0\.0\.1:\d+/api/paas/v4)", banner)
        assert match, banner
        assert "1 configured key" in banner and KEY not in banner
        url = match.group(1)
        deadline = time.monotonic() + 10
        while True:
            try:
                ok = httpx.post(f"{url}/chat/completions", json=chat_body(), headers=AUTH, timeout=5)
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        assert ok.status_code == 200
        wrong = httpx.post(f"{url}/chat/completions", json=chat_body(), headers={"Authorization": "Bearer a.b"})
        assert wrong.json()["error"]["code"] == "1002"
    finally:
        process.terminate()
        _, errors = process.communicate(timeout=10)
    assert KEY not in errors
