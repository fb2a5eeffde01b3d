"""Secrets are masked in every form a server, a model or a log may show them in.

Each test reproduces a leak found by attacking the connector: the secret half echoed alone,
the key URL-encoded, an answer that quotes the key (printed by `run`, streamed, written by
`batch`), and httpx/httpcore DEBUG records that no handler of ours filters.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
from urllib.parse import quote

import httpx
import pytest
from connectors import echo

from zhipu_connector.host.host import Host
from zhipu_connector.host.secrets import MASK, Secret, StreamScrubber, scrub
from zhipu_connector.workflow.batch import run_batch
from zhipu_connector.zhipu.client import ZhipuClient
from zhipu_connector.zhipu.errors import ZhipuError

KEY_ID = "maskkeyid77"
KEY_SECRET = "maskKeySecret77qq+/="
KEY = f"{KEY_ID}.{KEY_SECRET}"
BODY = {"model": "glm-4.6", "messages": [{"role": "user", "content": "hi"}]}


def test_the_secret_half_echoed_alone_is_masked():
    def no_balance(request: httpx.Request) -> httpx.Response:
        return httpx.Response(429, json={"error": {"code": "1113", "message": f"no balance for {KEY_SECRET}"}})

    with ZhipuClient(Secret(KEY), "http://zhipu.test/api/paas/v4", transport=httpx.MockTransport(no_balance)) as client:
        with pytest.raises(ZhipuError) as caught:
            client.chat(BODY)
    shown = f"{caught.value} {caught.value!r} {caught.value.to_dict()}"
    assert KEY_SECRET not in shown and MASK in shown


@pytest.mark.parametrize("spelling", [quote(KEY, safe=""), quote(KEY), json.dumps(KEY)[1:-1]])
def test_the_key_url_encoded_or_json_escaped_is_masked(spelling):
    Secret(KEY)
    assert KEY_SECRET not in scrub(f"GET /callback?key={spelling} failed")


def test_a_key_split_across_streamed_pieces_is_masked():
    Secret(KEY)
    text = f"the key is {KEY}, as you asked"
    scrubber = StreamScrubber()
    pieces = [text[i : i + 3] for i in range(0, len(text), 3)]
    shown = "".join(scrubber.feed(piece) for piece in pieces) + scrubber.flush()
    assert shown == f"the key is {MASK}, as you asked"


def test_every_log_record_is_masked_even_where_no_filter_of_ours_is_attached():
    Secret(KEY)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)  # a bare handler, as an engine or a user would add
    logger = logging.getLogger("httpcore.http11")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        logger.debug("receive_response_headers.complete return_value=%r", [(b"Location", f"https://x/?k={KEY}")])
        try:
            raise ValueError(f"bad key {KEY}")
        except ValueError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
        logger.setLevel(logging.NOTSET)
    assert KEY not in stream.getvalue() and KEY_SECRET not in stream.getvalue()
    assert stream.getvalue().count(MASK) >= 2


@pytest.fixture
def echo_host() -> Host:
    return Host(default_plugins=["zhipu_connector.core.plugin"], entry_points=False, extra_plugins=[echo])


def test_run_prints_an_answer_that_quotes_the_key_masked(echo_host, capsys, monkeypatch):
    from zhipu_connector import cli
    from zhipu_connector.host import host as host_module

    monkeypatch.setattr(host_module, "_default", echo_host)
    code = cli.main(["run", "echo.shout", "-i", f"text=key {KEY}", "-i", "times=1", "-c", f"apiKey={KEY}"])
    out = capsys.readouterr().out
    assert code == 0 and KEY not in out and MASK in out


def test_batch_results_never_carry_the_key(echo_host, tmp_path):
    rows = tmp_path / "rows.jsonl"
    rows.write_text("".join(json.dumps({"text": f"{n}: {KEY}", "times": 1}) + "\n" for n in range(3)))
    out = tmp_path / "results.jsonl"
    asyncio.run(run_batch(echo_host, "echo", "shout", rows, out, concurrency=2, connection={"apiKey": KEY}))
    written = out.read_text()
    assert len(written.splitlines()) == 3 and KEY not in written and KEY_SECRET not in written


def test_streamed_text_that_cannot_be_a_secret_is_passed_on_at_once():
    Secret(KEY)
    scrubber = StreamScrubber()
    # Other tests register secrets of their own in this process; no key starts with a snowman.
    assert scrubber.feed("Hello \u2603") == "Hello \u2603"
    assert scrubber.feed(f"\u2603 see {KEY_ID[:-1]}") == "\u2603 see "  # could be the key's start: held back
    assert scrubber.feed("! \u2603") == f"{KEY_ID[:-1]}! \u2603"  # it was not
    assert scrubber.flush() == ""
