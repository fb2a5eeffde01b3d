"""Dispatch through the generic host, driven with the echo test connector."""

from __future__ import annotations

import asyncio
import threading

import pytest
from connectors import echo

from zhipu_connector.host.context import ActionContext
from zhipu_connector.host.errors import (
    ActionCancelledError,
    ConnectionValidationError,
    HandlerCrashedError,
    InputValidationError,
    OutputValidationError,
    UnknownActionError,
)
from zhipu_connector.host.secrets import Secret

KEY = "id123.supersecretvalue"


def run(host, inputs, connection=None, **kwargs):
    return host.run_action("echo", "shout", inputs, connection or {"apiKey": KEY}, **kwargs)


def test_defaults_are_applied_and_hidden_properties_dropped(echo_host):
    assert run(echo_host, {"text": "hi", "secretNote": "never sent"}) == {"text": "hi", "length": 2}
    call = echo.calls[-1]
    assert call["inputs"] == {"text": "hi", "times": 1, "loud": False}
    assert call["context"].component == "echo" and call["context"].action == "shout"


def test_the_connection_reaches_the_handler_with_its_secret_masked(echo_host):
    run(echo_host, {"text": "x"})
    connection = echo.calls[-1]["connection"]
    assert isinstance(connection["apiKey"], Secret)
    assert connection["apiKey"].reveal() == KEY
    assert connection["region"] == "eu"  # the connection's default
    assert KEY not in repr(connection) and KEY not in str(connection)


def test_every_input_problem_is_reported_with_key_and_label(echo_host):
    before = len(echo.calls)
    with pytest.raises(InputValidationError) as caught:
        run(echo_host, {"text": "", "times": 9, "loud": "yes", "tags": ["a", "b", "c", "d"], "extra": 1})
    problems = {p.location: p.message for p in caught.value.problems}
    assert problems == {
        "extra": "unknown key 'extra' (known: text, times, loud, tags, secretNote)",
        "loud": "Loud: 'yes' is not one of [True, False]",
        "tags": "Tags: ['a', 'b', 'c', 'd'] is too long (at most 3 items; it has 4)",
        "text": "Text: '' should be non-empty (at least 1 character; it has 0)",
        "times": "Times: 9 is greater than the maximum of 5",
    }
    assert len(echo.calls) == before  # nothing reached the handler


def test_missing_required_and_wrong_types(echo_host):
    with pytest.raises(InputValidationError) as caught:
        run(echo_host, {"times": "2"})
    assert [str(p) for p in caught.value.problems] == [
        "text: Text is required",
        "times: Times: '2' is not of type 'integer'",
    ]


def test_inputs_that_are_not_an_object(echo_host):
    with pytest.raises(InputValidationError, match="inputs must be an object, not list"):
        run(echo_host, ["text"])


def test_connection_problems_are_reported_and_the_secret_is_not(echo_host):
    with pytest.raises(ConnectionValidationError) as caught:
        run(echo_host, {"text": "x"}, connection={"apiKey": 12345678, "region": "mars"})
    text = str(caught.value)
    assert "apiKey: API key: the value is not of type 'string' (the value is not shown: it is secret)" in text
    assert "12345678" not in text
    assert "region: Region: 'mars' is not one of ['eu', 'asia']" in text
    with pytest.raises(ConnectionValidationError, match="apiKey: API key is required"):
        run(echo_host, {"text": "x"}, connection={"region": "eu"})


@pytest.mark.parametrize(
    "secret", [["abc.mysecretkey123"], {"k": "abc.mysecretkey123"}, 123456789, True, ["abc", "mysecretkey123"]]
)
def test_a_secret_of_any_type_is_never_quoted(echo_host, secret):
    """`-c 'token=["abc.mysecretkey123"]'` was quoted verbatim: `['abc.mysecretkey123'] is not of type 'string'`."""
    with pytest.raises(ConnectionValidationError) as caught:
        echo_host.connection("echo", {"apiKey": secret})
    shown = str(caught.value) + repr(caught.value.to_dict())
    assert "mysecretkey123" not in shown and "123456789" not in shown
    assert caught.value.problems[0].location == "apiKey"


def test_a_list_as_the_connection_is_a_connection_error(echo_host):
    with pytest.raises(ConnectionValidationError, match="the connection must be an object, not list"):
        echo_host.run_action("echo", "shout", {"text": "x"}, ["apiKey", KEY])


def test_a_rejected_secret_is_masked_in_the_error(echo_host):
    with pytest.raises(ConnectionValidationError) as caught:
        echo_host.connection("echo", {"apiKey": KEY, "unknown": KEY})
    assert KEY not in str(caught.value)


def test_an_invalid_result_is_an_output_error(echo_host):
    with pytest.raises(OutputValidationError, match="is not of type 'string'"):
        echo_host.run_action("echo", "broken", {}, {"apiKey": KEY})


def test_a_crashing_handler_is_reported_without_the_secret(echo_host):
    with pytest.raises(HandlerCrashedError) as caught:
        echo_host.run_action("echo", "broken", {"mode": "crash"}, {"apiKey": KEY})
    assert "RuntimeError: boom with key ********" in str(caught.value)
    assert KEY not in str(caught.value)


def test_unknown_component_and_action(echo_host):
    with pytest.raises(UnknownActionError, match=r"unknown component 'nope' \(known: echo\)"):
        echo_host.run_action("nope", "shout", {})
    with pytest.raises(UnknownActionError, match=r"echo has no action 'whisper' \(known: shout, broken\)"):
        echo_host.run_action("echo", "whisper", {})


def test_async_and_sync_callers_share_the_path(echo_host):
    sync = run(echo_host, {"text": "ab", "times": 2, "loud": True})
    asynchronous = asyncio.run(
        echo_host.arun_action("echo", "shout", {"text": "ab", "times": 2, "loud": True}, {"apiKey": KEY})
    )
    assert sync == asynchronous == {"text": "ABAB", "length": 4}
    with pytest.raises(InputValidationError):
        asyncio.run(echo_host.arun_action("echo", "shout", {"times": 0}, {"apiKey": KEY}))


def test_a_sync_only_handler_serves_async_callers(echo_host):
    with pytest.raises(OutputValidationError):
        asyncio.run(echo_host.arun_action("echo", "broken", {}, {"apiKey": KEY}))


def test_a_cancelled_context_stops_before_the_handler(echo_host):
    cancel = threading.Event()
    cancel.set()
    before = len(echo.calls)
    with pytest.raises(ActionCancelledError):
        run(echo_host, {"text": "x"}, context=ActionContext("echo", "shout", cancel_event=cancel))
    assert len(echo.calls) == before


def test_a_checked_connection_can_be_reused(echo_host):
    connection = echo_host.connection("echo", {"apiKey": KEY, "region": "asia"})
    for _ in range(3):
        run(echo_host, {"text": "x"}, connection=connection)
    assert echo.calls[-1]["connection"] is connection


def test_whole_floats_reach_the_handler_as_integers(echo_host):
    run(echo_host, {"text": "ab", "times": 2.0})
    times = echo.calls[-1]["inputs"]["times"]
    assert times == 2 and type(times) is int
