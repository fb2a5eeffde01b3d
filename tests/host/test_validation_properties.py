"""Property tests: the compiled fast path agrees with jsonschema, and dispatch fails only cleanly."""

from __future__ import annotations

import asyncio
import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from zhipu_connector.definition.json_schema import input_schema, output_schema
from zhipu_connector.host.errors import ConnectorError, InputValidationError, OutputValidationError
from zhipu_connector.host.validation import CompiledSchema

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.sampled_from(["user", "system", "tool", "glm-4-flash", "abcdef", "", 0.5, 1.0, 0, 1, 5, True]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=5), st.dictionaries(st.text(max_size=6), inner, max_size=5)),
    max_leaves=12,
)


def plausible_inputs(action):
    """Mostly well-shaped inputs for `action`, with random values and the odd stray key."""
    keys = [p.name for p in action.properties] + ["stray"]
    message = st.fixed_dictionaries(
        {}, optional={"role": scalars, "content": scalars, "weight": scalars, "toolCallId": scalars, "x": scalars}
    )
    value = st.one_of(json_values, st.lists(message, max_size=4), st.lists(st.text(max_size=4), max_size=6))
    return st.dictionaries(st.sampled_from(keys), value, max_size=len(keys))


@pytest.mark.parametrize("action_name", ["ask", "createImage"])
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_fast_and_full_validators_agree_on_zhipu_inputs(zhipu_component, action_name, data):
    action = zhipu_component.action(action_name)
    schema = input_schema(action, component="zhipu")
    compiled = _compiled(schema)
    value = data.draw(st.one_of(plausible_inputs(action), json_values))
    expected = Draft202012Validator(schema).is_valid(value)
    assert compiled.is_valid(value) is expected
    assert (compiled.problems(value) == []) is expected


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(value=json_values)
def test_fast_and_full_validators_agree_on_outputs(zhipu_component, value):
    schema = output_schema(zhipu_component.action("createImage"))
    shaped = {"created": value, "data": [{"url": value}]} if not isinstance(value, dict) else value
    for candidate in (value, shaped):
        assert _compiled(schema).is_valid(candidate) is Draft202012Validator(schema).is_valid(candidate)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    inputs=st.one_of(
        json_values, st.dictionaries(st.sampled_from(["text", "times", "loud", "tags", "secretNote", "x"]), json_values)
    )
)
def test_dispatch_raises_only_documented_errors(echo_host, inputs):
    for call in (
        lambda: echo_host.run_action("echo", "shout", inputs, {"apiKey": "id.secretsecret"}),
        lambda: asyncio.run(echo_host.arun_action("echo", "shout", inputs, {"apiKey": "id.secretsecret"})),
    ):
        try:
            result = call()
        except InputValidationError as error:
            assert error.problems and all(p.message for p in error.problems)
        except ConnectorError as error:  # pragma: no cover - shown if it ever happens
            pytest.fail(f"unexpected {type(error).__name__}: {error}")
        else:
            assert set(result) == {"text", "length"}


def test_integral_floats_count_as_integers_in_both():
    schema = {"type": "object", "properties": {"n": {"type": "integer", "minimum": 1}}}
    for value, expected in (({"n": 1.0}, True), ({"n": 1.5}, False), ({"n": True}, False), ({"n": 0}, False)):
        assert CompiledSchema(schema).is_valid(value) is expected is Draft202012Validator(schema).is_valid(value)


def test_output_errors_are_output_validation_errors(echo_host):
    with pytest.raises(OutputValidationError):
        echo_host.run_action("echo", "broken", {"mode": "x"}, {"apiKey": "id.secretsecret"})


_cache: dict[str, CompiledSchema] = {}


def _compiled(schema):
    key = json.dumps(schema, sort_keys=True)
    if key not in _cache:
        _cache[key] = CompiledSchema(schema)
    return _cache[key]
