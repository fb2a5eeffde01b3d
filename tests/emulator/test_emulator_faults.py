"""Injected faults: each one by header and by prompt marker, `times=N`, and by configuration."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
from emulator_support import BASE, KEY, Emulator, chat_body, error_of, image_body, sse_events

from zhipu_connector.emulator import FAULTS, EmulatorConfig, EmulatorConfigError
from zhipu_connector.emulator.faults import BATCH_FAULTS, TASK_FAULTS

ERRORS = {
    "rate_limit": (429, "1302"),
    "frequency_limit": (429, "1303"),
    "overloaded": (429, "1305"),
    "no_balance": (429, "1113"),
    "account_locked": (429, "1112"),
    "daily_quota": (429, "1304"),
    "sensitive": (400, "1301"),
    "server_error": (500, "500"),
    "unavailable": (503, "503"),
    "retry_after": (429, "1302"),
}
FINISHES = {
    "finish_sensitive": "sensitive",
    "finish_length": "length",
    "finish_network_error": "network_error",
}


def by_header(emulator: Emulator, spec: str, **fields: object) -> httpx.Response:
    return emulator.chat(chat_body(**fields), headers={"X-Emulator-Fault": spec})


def by_marker(emulator: Emulator, spec: str, **fields: object) -> httpx.Response:
    return emulator.chat(chat_body(f"What is the capital of France? [[fault:{spec}]]", **fields))


TRIGGERS = pytest.mark.parametrize("trigger", [by_header, by_marker], ids=["header", "marker"])


def test_every_fault_is_covered_here() -> None:
    covered = set(ERRORS) | set(FINISHES) | {"slow", "drop", "malformed", "stream_error", "unwrapped_error"}
    # the faults of tasks and batches are covered in test_emulator_tasks.py and test_emulator_batches.py
    assert covered | TASK_FAULTS | BATCH_FAULTS == FAULTS


@TRIGGERS
@pytest.mark.parametrize("fault", sorted(ERRORS))
def test_error_faults_answer_with_their_status_and_code(emulator: Emulator, trigger, fault: str) -> None:
    assert error_of(trigger(emulator, fault))[:2] == ERRORS[fault]


@TRIGGERS
@pytest.mark.parametrize("fault", sorted(ERRORS))
def test_error_faults_apply_to_image_generation_too(emulator: Emulator, trigger, fault: str) -> None:
    if trigger is by_header:
        response = emulator.image(headers={"X-Emulator-Fault": fault})
    else:
        response = emulator.image(image_body(f"a fox [[fault:{fault}]]"))
    assert error_of(response)[:2] == ERRORS[fault]


@TRIGGERS
def test_retry_after_sends_the_header(emulator: Emulator, trigger) -> None:
    assert trigger(emulator, "retry_after").headers["retry-after"] == "1"
    assert trigger(emulator, "retry_after;seconds=0.25").headers["retry-after"] == "0.25"


def test_other_429s_carry_no_retry_after_unless_configured(emulator: Emulator) -> None:
    assert "retry-after" not in by_header(emulator, "rate_limit").headers


def test_configured_retry_after_goes_on_every_429_only() -> None:
    emulator = Emulator(EmulatorConfig(retry_after_seconds=3))
    assert by_header(emulator, "overloaded").headers["retry-after"] == "3"
    assert by_header(emulator, "no_balance").headers["retry-after"] == "3"
    assert "retry-after" not in by_header(emulator, "server_error").headers
    assert by_header(emulator, "retry_after;seconds=5").headers["retry-after"] == "5"
    hours = Emulator(EmulatorConfig(retry_after_seconds=7200.0))
    assert by_header(hours, "rate_limit").headers["retry-after"] == "7200"


@TRIGGERS
def test_unwrapped_error_uses_the_bare_shape(emulator: Emulator, trigger) -> None:
    response = trigger(emulator, "unwrapped_error")
    assert response.status_code == 429
    assert response.json() == {"code": "1302", "message": response.json()["message"]}


@TRIGGERS
@pytest.mark.parametrize("fault", sorted(FINISHES))
def test_finish_faults_set_the_finish_reason(emulator: Emulator, trigger, fault: str) -> None:
    response = trigger(emulator, fault)
    assert response.status_code == 200
    assert response.json()["choices"][0]["finish_reason"] == FINISHES[fault]


@TRIGGERS
@pytest.mark.parametrize("fault", sorted(FINISHES))
def test_finish_faults_reach_the_last_streamed_chunk(emulator: Emulator, trigger, fault: str) -> None:
    events = sse_events(trigger(emulator, fault, stream=True).text)
    assert events[-1] == "[DONE]"
    assert json.loads(events[-2])["choices"][0]["finish_reason"] == FINISHES[fault]


@TRIGGERS
def test_slow_waits_then_answers(emulator: Emulator, trigger) -> None:
    started = time.monotonic()
    response = trigger(emulator, "slow;seconds=0.3")
    assert time.monotonic() - started >= 0.3
    assert response.status_code == 200


@TRIGGERS
def test_drop_breaks_the_connection_mid_body(emulator: Emulator, trigger) -> None:
    with pytest.raises(httpx.RemoteProtocolError):
        trigger(emulator, "drop")


@TRIGGERS
def test_malformed_sends_truncated_json(emulator: Emulator, trigger) -> None:
    response = trigger(emulator, "malformed")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    with pytest.raises(json.JSONDecodeError):
        json.loads(response.content)
    assert response.text.startswith('{"id":"')


@TRIGGERS
def test_malformed_streams_carry_one_broken_chunk(emulator: Emulator, trigger) -> None:
    events = sse_events(trigger(emulator, "malformed", stream=True).text)
    assert len(events) == 3 and events[-1] == "[DONE]"
    json.loads(events[0])
    with pytest.raises(json.JSONDecodeError):
        json.loads(events[1])


@TRIGGERS
def test_stream_error_sends_an_error_event_and_ends(emulator: Emulator, trigger) -> None:
    events = sse_events(trigger(emulator, "stream_error", stream=True).text)
    *chunks, error = events
    assert len(chunks) == 2
    assert all(json.loads(chunk)["choices"][0]["delta"]["content"] for chunk in chunks)
    assert json.loads(error) == {"error": {"code": "1234", "message": json.loads(error)["error"]["message"]}}
    assert "[DONE]" not in events


def test_stream_error_on_a_plain_request_is_refused_loudly(emulator: Emulator) -> None:
    status, code, message = error_of(by_header(emulator, "stream_error"))
    assert (status, code) == (400, "1210")
    assert "stream: true" in message


@pytest.mark.parametrize("fault", sorted(FINISHES) + ["stream_error"])
def test_chat_only_faults_are_refused_on_images(emulator: Emulator, fault: str) -> None:
    status, code, message = error_of(emulator.image(headers={"X-Emulator-Fault": fault}))
    assert (status, code) == (400, "1210")
    assert "chat completions only" in message


def test_image_faults_slow_drop_and_malformed(emulator: Emulator) -> None:
    assert emulator.image(headers={"X-Emulator-Fault": "slow;seconds=0"}).status_code == 200
    with pytest.raises(httpx.RemoteProtocolError):
        emulator.image(headers={"X-Emulator-Fault": "drop"})
    with pytest.raises(json.JSONDecodeError):
        json.loads(emulator.image(headers={"X-Emulator-Fault": "malformed"}).content)


def test_the_marker_is_left_out_of_the_reply(emulator: Emulator) -> None:
    content = by_marker(emulator, "slow;seconds=0").json()["choices"][0]["message"]["content"]
    assert '"What is the capital of France?"' in content and "fault" not in content


def test_the_marker_is_left_out_of_the_image(emulator: Emulator) -> None:
    plain = emulator.image(image_body("a fox")).json()["data"][0]["url"]
    marked = emulator.image(image_body("a fox [[fault:slow;seconds=0]]")).json()["data"][0]["url"]
    assert plain == marked


def test_the_header_wins_over_the_marker(emulator: Emulator) -> None:
    response = emulator.chat(chat_body("hi [[fault:overloaded]]"), headers={"X-Emulator-Fault": "no_balance"})
    assert error_of(response)[1] == "1113"


def test_only_the_last_user_message_is_searched_for_a_marker(emulator: Emulator) -> None:
    body = chat_body(messages=[
        {"role": "user", "content": "earlier [[fault:server_error]]"},
        {"role": "assistant", "content": "ok"},
        {"role": "user", "content": "now"},
    ])  # fmt: skip
    assert emulator.chat(body).status_code == 200


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("explode", "unknown fault 'explode'; known faults:"),
        ("rate_limit;times=0", "times must be an integer from 1 to 1000000"),
        ("rate_limit;times=x", "times must be an integer from 1 to 1000000"),
        ("slow;seconds=-1", "seconds must be a number in [0, 600]"),
        ("slow;seconds=soon", "seconds must be a number"),
        ("slow;minutes=1", "unknown parameter 'minutes'"),
        ("slow;2", "must look like key=value"),
    ],
)
def test_a_bad_fault_spec_is_refused_naming_the_rule(emulator: Emulator, spec: str, words: str) -> None:
    status, code, message = error_of(by_header(emulator, spec))
    assert (status, code) == (400, "1210")
    assert message.startswith("X-Emulator-Fault:") and words in message
    status, code, message = error_of(by_marker(emulator, spec))
    assert (status, code) == (400, "1210")
    assert message.startswith("[[fault:...]] marker:") and words in message


def test_authentication_and_validation_come_before_faults(emulator: Emulator) -> None:
    fault = {"X-Emulator-Fault": "server_error"}
    assert error_of(emulator.chat(headers=fault, authorization=None))[:2] == (401, "1001")
    assert error_of(emulator.chat(chat_body(top_p=2), headers=fault))[:2] == (400, "1214")


class TestTimes:
    def test_the_fault_applies_to_the_first_n_attempts_of_a_request_id(self, emulator: Emulator) -> None:
        body = chat_body(request_id="retry-me-0001")
        header = {"X-Emulator-Fault": "rate_limit;times=2"}
        statuses = [emulator.chat(body, headers=header).status_code for _ in range(4)]
        assert statuses == [429, 429, 200, 200]

    def test_each_request_id_counts_on_its_own(self, emulator: Emulator) -> None:
        header = {"X-Emulator-Fault": "server_error;times=1"}
        first = emulator.chat(chat_body(request_id="request-aaaa"), headers=header)
        other = emulator.chat(chat_body(request_id="request-bbbb"), headers=header)
        again = emulator.chat(chat_body(request_id="request-aaaa"), headers=header)
        assert [first.status_code, other.status_code, again.status_code] == [500, 500, 200]

    def test_a_client_that_changes_request_id_never_gets_through(self, emulator: Emulator) -> None:
        header = {"X-Emulator-Fault": "overloaded;times=1"}
        statuses = {
            emulator.chat(chat_body(request_id=f"attempt-{n:04d}"), headers=header).status_code for n in range(3)
        }
        assert statuses == {429}

    def test_without_a_request_id_the_same_body_counts_as_the_same_request(self, emulator: Emulator) -> None:
        statuses = [by_marker(emulator, "unavailable;times=1").status_code for _ in range(3)]
        assert statuses == [503, 200, 200]

    def test_times_works_for_every_kind_of_fault(self, emulator: Emulator) -> None:
        first = by_header(emulator, "finish_length;times=1", request_id="finish-0001")
        second = by_header(emulator, "finish_length;times=1", request_id="finish-0001")
        assert [first.json()["choices"][0]["finish_reason"], second.json()["choices"][0]["finish_reason"]] == [
            "length",
            "stop",
        ]

    def test_counters_are_bounded(self) -> None:
        emulator = Emulator(EmulatorConfig(fault_memory=1))
        header = {"X-Emulator-Fault": "rate_limit;times=1"}
        a, b = chat_body(request_id="request-aaaa"), chat_body(request_id="request-bbbb")
        statuses = [emulator.chat(body, headers=header).status_code for body in (a, b, a)]
        assert statuses == [429, 429, 429]  # request-aaaa's counter was evicted by request-bbbb's


class TestConfiguredFaults:
    def test_a_default_fault_applies_to_every_request(self) -> None:
        emulator = Emulator(EmulatorConfig(fault="overloaded"))
        assert [error_of(emulator.chat())[1] for _ in range(3)] == ["1305"] * 3
        assert error_of(emulator.image())[1] == "1305"

    def test_a_default_fault_can_be_limited_to_the_first_requests(self) -> None:
        emulator = Emulator(EmulatorConfig(fault="server_error", fault_first_requests=2))
        statuses = [emulator.chat(chat_body(f"question {n}")).status_code for n in range(4)]
        assert statuses == [500, 500, 200, 200]

    def test_a_default_fault_with_times_counts_per_request(self) -> None:
        emulator = Emulator(EmulatorConfig(fault="rate_limit;times=1"))
        statuses = [
            emulator.chat(chat_body(request_id=rid)).status_code for rid in ("req-0001", "req-0001", "req-0002")
        ]
        assert statuses == [429, 200, 429]

    def test_a_request_may_ask_for_another_fault(self) -> None:
        emulator = Emulator(EmulatorConfig(fault="overloaded"))
        assert error_of(by_header(emulator, "no_balance"))[1] == "1113"

    @pytest.mark.parametrize(
        ("settings", "field"),
        [
            ({"fault": "explode"}, "fault: unknown fault"),
            ({"fault": "slow;seconds=-2"}, "fault: seconds"),
            ({"fault_first_requests": -1}, "fault_first_requests"),
            ({"api_keys": frozenset({"nodot"})}, "api_keys"),
            ({"api_keys": "abc.def"}, "api_keys"),
            ({"max_concurrent_requests": 0}, "max_concurrent_requests"),
            ({"retry_after_seconds": -1}, "retry_after_seconds"),
            ({"max_prompt_chars": 0}, "max_prompt_chars"),
        ],
    )
    def test_a_bad_configuration_fails_at_once_naming_the_field(self, settings: dict[str, object], field: str) -> None:
        with pytest.raises(EmulatorConfigError, match=field.replace("(", r"\(")):
            EmulatorConfig(**settings)  # type: ignore[arg-type]


def test_requests_beyond_the_concurrency_limit_get_1302() -> None:
    emulator = Emulator(EmulatorConfig(max_concurrent_requests=1))

    async def two_at_once() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=emulator.app)
        headers = {"Authorization": f"Bearer {KEY}"}
        async with httpx.AsyncClient(transport=transport, base_url=BASE, headers=headers) as client:
            slow = client.post("/chat/completions", json=chat_body(), headers={"X-Emulator-Fault": "slow;seconds=0.2"})
            task = asyncio.ensure_future(slow)
            await asyncio.sleep(0.05)
            refused = await client.post("/chat/completions", json=chat_body())
            return [await task, refused]

    answered, refused = asyncio.run(two_at_once())
    assert answered.status_code == 200
    assert error_of(refused)[:2] == (429, "1302")
    assert emulator.chat().status_code == 200  # the slot is free again
