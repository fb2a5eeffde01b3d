"""Hostile and careless inputs are refused with the project's own errors, naming the field.

Each case was a traceback, a wrong acceptance or a message naming nothing before: NaN and
infinity passing number checks, integers too long to print, values nested deep enough to
exhaust the recursion limit, a pattern's `$` read two ways, a list given as the connection.
"""

from __future__ import annotations

import json
import math

import pytest

from zhipu_connector.definition.loader import parse_component
from zhipu_connector.definition.plain_json import MAX_DEPTH, JsonValueError, read_json
from zhipu_connector.errors import ConnectionValidationError, DefinitionError, InputValidationError, Problem
from zhipu_connector.host.registry import Registry
from zhipu_connector.host.validation import CompiledSchema

DEFINITION = """
name: hostile
title: Hostile
version: 1
connection:
  version: 1
  authorizations:
    key:
      title: Key
      type: BEARER_TOKEN
      properties:
        token: {label: Token, type: STRING, secret: true, required: true}
actions:
  act:
    title: Act
    properties:
      weight: {label: Weight, type: NUMBER, minValue: 0, maxValue: 1}
      count: {label: Count, type: INTEGER, minValue: 1, maxValue: 10}
      size: {label: Size, type: STRING, pattern: "^[1-9][0-9]{2,3}x[1-9][0-9]{2,3}$"}
      extra: {label: Extra, type: OBJECT}
    output: {type: OBJECT}
"""
CALLS: list[dict] = []


@pytest.fixture(scope="module")
def registry():
    registry = Registry()
    registry.register(
        parse_component(DEFINITION), {"act": lambda inputs, connection, context: CALLS.append(inputs) or {}}
    )
    return registry


def run(registry, inputs, connection=None):
    from zhipu_connector.host.dispatch import run_bound

    return run_bound(registry.action("hostile", "act"), inputs, {"token": "t"} if connection is None else connection)


def nested(depth: int) -> object:
    value: object = "leaf"
    for _ in range(depth):
        value = [value]
    return value


@pytest.mark.parametrize("number", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("field", ["weight", "count"])
def test_non_finite_numbers_are_refused_naming_the_field(registry, field, number):
    with pytest.raises(InputValidationError) as caught:
        run(registry, {field: number})
    assert [p.location for p in caught.value.problems] == [field]
    assert "not a finite number" in str(caught.value)
    assert CALLS == []


def test_a_non_finite_number_deep_in_an_object_is_refused_where_it_is(registry):
    with pytest.raises(InputValidationError) as caught:
        run(registry, {"extra": {"scores": [1.0, math.nan]}})
    assert caught.value.problems[0].location == "extra.scores[1]"


def test_an_integer_too_long_to_print_is_refused(registry):
    with pytest.raises(InputValidationError) as caught:
        run(registry, {"extra": {"n": 10**5000}})
    assert caught.value.problems == (Problem("extra.n", "an integer of more than 4300 digits"),)


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 40_000, 100_000])
def test_deeply_nested_inputs_are_an_input_error_not_a_recursion_error(registry, depth):
    with pytest.raises(InputValidationError) as caught:
        run(registry, {"extra": {"x": nested(depth)}})
    assert f"nested deeper than {MAX_DEPTH} levels" in str(caught.value)


def test_a_trailing_newline_is_named_by_the_pattern_it_breaks(registry):
    """Both validators read `$` as the end of the text: no more "invalid inputs (0 problems)"."""
    with pytest.raises(InputValidationError) as caught:
        run(registry, {"size": "1024x1024\n"})
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].location == "size" and "does not match" in caught.value.problems[0].message
    run(registry, {"size": "1024x1024"})


def test_a_rejection_never_comes_with_zero_problems():
    schema = CompiledSchema({"type": "object"})
    schema._fast = lambda value: (_ for _ in ()).throw(ValueError("disagrees"))
    assert not schema.is_valid({})
    assert len(schema.problems({})) == 1


@pytest.mark.parametrize("connection", [["token", "t"], "token=t", 42])
def test_a_connection_that_is_not_an_object_is_a_connection_error(registry, connection):
    with pytest.raises(ConnectionValidationError, match="the connection must be an object"):
        run(registry, {}, connection)


@pytest.mark.parametrize("secret", [["abc.mysecretkey123"], {"abc.mysecretkey123": 1}, 12345678901, ["x"] * 3])
def test_a_secret_of_the_wrong_type_is_never_quoted(registry, secret):
    with pytest.raises(ConnectionValidationError) as caught:
        run(registry, {}, {"token": secret})
    text = str(caught.value) + json.dumps(caught.value.to_dict())
    assert "mysecretkey123" not in text and "12345678901" not in text and "'x'" not in text
    assert caught.value.problems[0].location == "token"


# ---------------------------------------------------------------- definitions


@pytest.mark.parametrize("bound", [".nan", ".inf", "-.inf", ".NaN"])
def test_a_definition_with_non_finite_bounds_is_refused_at_load(bound):
    text = DEFINITION.replace("minValue: 0, maxValue: 1", f"minValue: 0, maxValue: {bound}")
    with pytest.raises(DefinitionError) as caught:
        parse_component(text)
    (problem,) = caught.value.problems
    assert problem.location == "actions.act.properties.weight.maxValue"
    assert "not a finite number" in problem.message


def test_a_definition_with_a_huge_integer_is_refused_at_load():
    with pytest.raises(DefinitionError) as caught:
        parse_component(DEFINITION.replace("maxValue: 10}", f"maxValue: {'9' * 5000}}}"))
    assert caught.value.problems[0].location == "actions.act.properties.count.maxValue"
    assert "more than 4300 digits" in caught.value.problems[0].message


def test_object_properties_nested_150_levels_deep_are_refused_with_a_location():
    prop = "{type: STRING}"
    for _ in range(150):
        prop = f"{{type: OBJECT, properties: {{inner: {prop}}}}}"
    text = DEFINITION.replace("extra: {label: Extra, type: OBJECT}", f"extra: {prop}")
    with pytest.raises(DefinitionError) as caught:
        parse_component(text)
    assert any("nested deeper than" in p.message for p in caught.value.problems)
    assert caught.value.problems[0].location.startswith("actions.act.properties.extra.properties.inner")


@pytest.mark.parametrize("text", ["[" * 40_000 + "]" * 40_000, "- " * 100_000 + "x\n", "a:\n" + "  " * 2 + "[" * 900])
def test_deeply_nested_yaml_is_refused_cleanly(text):
    with pytest.raises(DefinitionError) as caught:
        parse_component(text)
    assert caught.value.problems


# ---------------------------------------------------------------- the JSON reader of inputs and workflow files


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"t": NaN}', "NaN is not a number JSON allows"),
        ('{"t": Infinity}', "Infinity is not a number JSON allows"),
        ('{"t": -Infinity}', "-Infinity is not a number JSON allows"),
        ('{"t": 1e999}', "1e999 is out of the range of a number"),
        ('{"t": ' + "7" * 5000 + "}", "an integer of more than 4300 digits"),
        ("[" * 100_000 + "]" * 100_000, f"nested deeper than {MAX_DEPTH} levels"),
        ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), f"nested deeper than {MAX_DEPTH} levels"),
        ('{"t": ', "not valid JSON"),
    ],
)
def test_the_json_reader_refuses_what_json_should_not_hold(text, message):
    with pytest.raises(JsonValueError) as caught:
        read_json(text)
    assert message in str(caught.value)


def test_a_json_workflow_file_with_nan_is_a_workflow_error():
    from zhipu_connector.workflow.errors import WorkflowError
    from zhipu_connector.workflow.model import parse_workflow

    with pytest.raises(WorkflowError, match="NaN is not a number JSON allows"):
        parse_workflow('{"tasks": [{"name": "a", "type": "x/v1/y", "parameters": {"t": NaN}}]}', json_format=True)
    with pytest.raises(WorkflowError, match="nested deeper"):
        parse_workflow("[" * 50_000 + "]" * 50_000, json_format=True)
    with pytest.raises(WorkflowError, match="not a finite number"):
        parse_workflow("tasks:\n  - name: a\n    type: x/v1/y\n    parameters: {t: .nan}\n")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        (b'{"t": NaN}', "row 2: NaN is not a number JSON allows"),
        (b"[" * 60_000 + b"]" * 60_000, "row 2: nested deeper than"),
        (b'{"t": ' + b"1" * 5000 + b"}", "row 2: an integer of more than 4300 digits"),
        (b"not json", "row 2 is not valid JSON"),
    ],
)
def test_a_batch_row_that_json_should_not_hold_is_an_input_error(line, message):
    from zhipu_connector.workflow.batch import parse_row

    with pytest.raises(InputValidationError, match=message):
        parse_row(line, 2)
