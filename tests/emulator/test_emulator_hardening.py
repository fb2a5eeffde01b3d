"""Hostile input gets the platform-shaped 400 or 401, never a 500; bad options fail at start-up."""

from __future__ import annotations

import argparse
import base64
import json

import pytest
from emulator_support import KEY, Emulator, chat_body, error_of

from zhipu_connector.emulator import EmulatorConfig, EmulatorConfigError
from zhipu_connector.emulator.cli import emulator_arguments, emulator_command
from zhipu_connector.emulator.safety import MAX_DEPTH


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


class TestDeepNesting:
    @pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 5_000, 100_000])
    def test_a_deeply_nested_field_is_1214_naming_where(self, emulator: Emulator, depth: int) -> None:
        raw = (
            '{"model": "glm-4-flash", "messages": [{"role": "user", "content": "hi"}], "stop": ' + _nested(depth) + "}"
        )
        status, code, message = error_of(emulator.request("POST", "/chat/completions", content=raw.encode()))
        assert (status, code) == (400, "1214")
        assert message.startswith(("stop", "body: nested too deeply"))

    def test_nesting_within_the_limit_reaches_the_field_s_own_rule(self, emulator: Emulator) -> None:
        schema: dict = {"type": "object"}
        for _ in range((MAX_DEPTH - 10) // 2):  # each level is two: properties, then x
            schema = {"type": "object", "properties": {"x": schema}}
        tool = {"type": "function", "function": {"name": "deep", "parameters": schema}}
        assert emulator.chat(chat_body(tools=[tool])).status_code == 200

    def test_a_nested_image_body_is_1214_too(self, emulator: Emulator) -> None:
        raw = '{"model": "cogview-4", "prompt": ' + _nested(3_000) + "}"
        status, code, _ = error_of(emulator.request("POST", "/images/generations", content=raw.encode()))
        assert (status, code) == (400, "1214")


class TestLoneSurrogates:
    @pytest.mark.parametrize("escape", ["\\ud800", "\\udfff", "abc\\ud83d", "\\ude00 tail"])
    def test_a_lone_surrogate_in_content_is_1214_naming_the_field(self, emulator: Emulator, escape: str) -> None:
        raw = '{"model": "glm-4-flash", "messages": [{"role": "user", "content": "' + escape + '"}]}'
        status, code, message = error_of(emulator.request("POST", "/chat/completions", content=raw.encode()))
        assert (status, code) == (400, "1214")
        assert message.startswith("messages[0].content: holds a lone UTF-16 surrogate")

    def test_a_surrogate_pair_is_ordinary_text(self, emulator: Emulator) -> None:
        raw = '{"model": "glm-4-flash", "messages": [{"role": "user", "content": "smile \\ud83d\\ude00"}]}'
        response = emulator.request("POST", "/chat/completions", content=raw.encode())
        assert response.status_code == 200 and "smile 😀" in response.json()["choices"][0]["message"]["content"]

    def test_a_lone_surrogate_in_a_key_or_prompt_is_1214(self, emulator: Emulator) -> None:
        raw = b'{"model": "cogview-4", "prompt": "a fox", "\\udc80": 1}'
        assert error_of(emulator.request("POST", "/images/generations", content=raw))[:2] == (400, "1214")
        raw = b'{"model": "cogview-4", "prompt": "a \\ud800 fox"}'
        status, code, message = error_of(emulator.request("POST", "/images/generations", content=raw))
        assert (status, code) == (400, "1214") and message.startswith("prompt:")


class TestFaultHeaders:
    @pytest.mark.parametrize("times", ["9" * 5000, "0", "1000001", "1_000", "-1", " 1e3"])
    def test_an_unusable_times_is_1210(self, emulator: Emulator, times: str) -> None:
        response = emulator.chat(headers={"X-Emulator-Fault": f"rate_limit;times={times}"})
        status, code, message = error_of(response)
        assert (status, code) == (400, "1210")
        assert "times must be an integer from 1 to 1000000" in message
        assert len(message) < 300  # the 5000 digits are not echoed

    @pytest.mark.parametrize("times", ["²", "٣", "9" * 5000])
    def test_an_unusable_times_in_a_prompt_marker_is_1210(self, emulator: Emulator, times: str) -> None:
        status, code, message = error_of(emulator.chat(chat_body(f"Hi [[fault:rate_limit;times={times}]]")))
        assert (status, code) == (400, "1210") and "times must be an integer from 1 to 1000000" in message

    @pytest.mark.parametrize("seconds", ["nan", "inf", "1e999", "9" * 5000])
    def test_an_unusable_seconds_is_1210(self, emulator: Emulator, seconds: str) -> None:
        status, code, message = error_of(emulator.chat(headers={"X-Emulator-Fault": f"slow;seconds={seconds}"}))
        assert (status, code) == (400, "1210") and "seconds must be a number in [0, 600]" in message
        assert len(message) < 300

    def test_a_long_unknown_fault_name_is_not_echoed_whole(self, emulator: Emulator) -> None:
        status, code, message = error_of(emulator.chat(headers={"X-Emulator-Fault": "x" * 10_000}))
        assert (status, code) == (400, "1210") and len(message) < 1_000


def _segment(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


class TestHostileJwts:
    @pytest.mark.parametrize("part", ["header", "claims"])
    def test_a_jwt_part_nested_4000_deep_is_1002(self, emulator: Emulator, part: str) -> None:
        deep = '{"a":' * 4000 + "1" + "}" * 4000
        header = deep if part == "header" else json.dumps({"alg": "HS256", "sign_type": "SIGN"})
        claims = deep if part == "claims" else json.dumps({"api_key": "emu-key-id", "exp": 1, "timestamp": 1})
        token = f"{_segment(header)}.{_segment(claims)}.c2ln"
        status, code, _ = error_of(emulator.chat(authorization=f"Bearer {token}"))
        assert (status, code) == (401, "1002")

    @pytest.mark.parametrize("header", ["[1, 2]", '"text"', "not json", '{"alg": "HS256", "sign_type": "SIGN"'])
    def test_a_jwt_header_that_is_not_an_object_is_1002(self, emulator: Emulator, header: str) -> None:
        token = f"{_segment(header)}.{_segment('{}')}.c2ln"
        assert error_of(emulator.chat(authorization=f"Bearer {token}"))[:2] == (401, "1002")

    def test_a_bare_api_key_without_bearer_is_still_refused(self, emulator: Emulator) -> None:
        assert error_of(emulator.chat(authorization=KEY))[:2] == (401, "1000")


def _run(*argv: str) -> int:
    parser = argparse.ArgumentParser()
    emulator_arguments(parser)
    return emulator_command(parser.parse_args(list(argv)))


class TestOptions:
    @pytest.mark.parametrize("value", ["nan", "inf", "-1"])
    def test_retry_after_must_be_a_finite_number(self, value: str) -> None:
        with pytest.raises(EmulatorConfigError, match="retry_after_seconds: must be a finite number >= 0"):
            _run("--port", "0", "--retry-after", value)

    def test_allow_null_names_a_request_field(self) -> None:
        with pytest.raises(EmulatorConfigError, match="allow_null_fields: maxTokens is not a request field"):
            _run("--port", "0", "--allow-null", "maxTokens")
        with pytest.raises(EmulatorConfigError, match="allow_null_fields"):
            EmulatorConfig(allow_null_fields=frozenset({"temperature", "nope"}))
        assert EmulatorConfig(allow_null_fields=frozenset({"temperature", "size"})).allow_null_fields

    @pytest.mark.parametrize("port", ["99999", "-1", "65536"])
    def test_a_port_outside_the_range_is_refused(self, port: str) -> None:
        with pytest.raises(EmulatorConfigError, match="port: must be an integer from 0 to 65535"):
            _run("--port", port)

    @pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "::", "example.com"])
    def test_a_host_other_machines_can_reach_needs_allow_remote(self, host: str) -> None:
        with pytest.raises(EmulatorConfigError, match=f"host: refusing to listen on {host}.*--allow-remote"):
            _run("--host", host, "--port", "0")

    def test_the_module_entry_point_prints_one_error_line(self, capsys: pytest.CaptureFixture[str]) -> None:
        import sys

        from zhipu_connector.emulator.cli import main

        argv = sys.argv
        sys.argv = ["emulator", "--port", "99999"]
        try:
            assert main() == 1
        finally:
            sys.argv = argv
        assert (
            capsys.readouterr().err
            == "error: port: must be an integer from 0 to 65535 (0 picks a free port), got 99999\n"
        )
