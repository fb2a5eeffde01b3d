"""`${...}` references: the grammar, and resolution of whole values, paths and text."""

from __future__ import annotations

import pytest

from zhipu_connector.workflow.errors import ReferenceResolutionError
from zhipu_connector.workflow.references import (
    Interpolation,
    Reference,
    ReferenceSyntaxError,
    Scope,
    compile_value,
    parse_string,
    references_in,
    resolve,
)

OUTPUTS = {
    "ask_1": "a red kite over the sea",
    "image_1": {"created": 1, "data": [{"url": "https://img.example/1.png"}, {"url": "https://img.example/2.png"}]},
    "count_1": 3,
    "flag_1": False,
    "empty_1": None,
    "odd_1": {"key with space": {"x": 1}, "dash-key": "d"},
}


def scope(inputs=None, declared=("topic", "style", "n")):
    return Scope(inputs if inputs is not None else {"topic": "kites", "n": 2}, frozenset(declared), OUTPUTS)


@pytest.mark.parametrize(
    ("text", "root", "steps", "explicit"),
    [
        ("${ask_1}", "ask_1", (), False),
        ("${image_1.data[0].url}", "image_1", ("data", 0, "url"), False),
        ("${inputs.topic}", "topic", (), True),
        ("${topic}", "topic", (), False),
        ("${ odd_1['key with space'].x }", "odd_1", ("key with space", "x"), False),
        ('${odd_1["dash-key"]}', "odd_1", ("dash-key",), False),
        ("${odd_1.dash-key}", "odd_1", ("dash-key",), False),
        ("${inputs.topic.len}", "topic", ("len",), True),
    ],
)
def test_a_whole_reference_is_parsed_into_root_and_steps(text, root, steps, explicit):
    parsed = parse_string(text)
    assert parsed == Reference(text, root, steps, explicit)


def test_references_inside_text_are_an_interpolation():
    parsed = parse_string("Draw ${ask_1}, in ${inputs.style} style.")
    assert isinstance(parsed, Interpolation)
    assert [p if isinstance(p, str) else p.path for p in parsed.parts] == [
        "Draw ",
        "ask_1",
        ", in ",
        "style",
        " style.",
    ]


def test_text_without_references_and_escapes_stays_text():
    assert parse_string("plain {braces} and $dollars") == "plain {braces} and $dollars"
    assert parse_string("literal $${ask_1}") == "literal ${ask_1}"
    escaped = parse_string("$${x} and ${ask_1}")
    assert isinstance(escaped, Interpolation) and escaped.parts[0] == "${x} and "


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${ask_1", "is not closed"),
        ("${}", "starts with a task or input name"),
        ("${1abc}", "starts with a task or input name"),
        ("${a..b}", "cannot read"),
        ("${a[x]}", "cannot read"),
        ("${inputs}", "name the input"),
        ("${inputs[0]}", "name the input"),
        ("=${ask_1}", "expressions"),
    ],
)
def test_malformed_references_say_what_to_write(text, message):
    with pytest.raises(ReferenceSyntaxError, match=message):
        parse_string(text)


def test_a_whole_reference_keeps_the_value_type():
    assert resolve(parse_string("${count_1}"), scope()) == 3
    assert resolve(parse_string("${flag_1}"), scope()) is False
    assert resolve(parse_string("${image_1.data}"), scope()) == OUTPUTS["image_1"]["data"]
    assert resolve(parse_string("${image_1.data[1].url}"), scope()) == "https://img.example/2.png"
    assert resolve(parse_string("${n}"), scope()) == 2


def test_a_resolved_value_is_a_copy_so_a_handler_cannot_change_an_earlier_output():
    value = resolve(parse_string("${image_1}"), scope())
    value["data"].clear()
    assert len(OUTPUTS["image_1"]["data"]) == 2


def test_references_inside_text_are_inserted_as_text():
    text = "${ask_1}|${count_1}|${flag_1}|${empty_1}|${image_1.data[0]}|${inputs.topic}"
    assert (
        resolve(parse_string(text), scope())
        == 'a red kite over the sea|3|false||{"url":"https://img.example/1.png"}|kites'
    )


def test_nested_parameters_are_resolved_everywhere():
    compiled, problems = compile_value(
        {"messages": [{"role": "user", "content": "About ${topic}: ${ask_1}"}], "n": "${count_1}", "keep": 1.5}
    )
    assert problems == []
    assert [(path, str(node)) for path, node in references_in(compiled)][1] == (("n",), "${count_1}")
    assert resolve(compiled, scope()) == {
        "messages": [{"role": "user", "content": "About kites: a red kite over the sea"}],
        "n": 3,
        "keep": 1.5,
    }


def test_compile_reports_syntax_problems_with_their_paths():
    _, problems = compile_value({"a": ["ok", "${broken"], "b": {"c": "${}"}})
    assert [(path, message.split(":")[0]) for path, message in problems] == [
        (("a", 1), "'${broken'"),
        (("b", "c"), "${}"),
    ]


def test_an_optional_input_that_was_not_given_leaves_its_parameter_out():
    compiled, _ = compile_value({"style": "${inputs.style}", "list": ["${style}", "x"], "text": "in ${style} style"})
    assert resolve(compiled, scope()) == {"list": ["x"], "text": "in  style"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("${image_1.data[5].url}", "image_1.data has 2 item(s), no index 5"),
        ("${image_1.nope}", "image_1 has no key 'nope' (keys: created, data)"),
        ("${ask_1.text}", "ask_1 is a string, not an object with key 'text'"),
        ("${image_1.data.url}", "image_1.data is an array, not an object with key 'url'"),
        ("${image_1[0]}", "image_1 is an object, not an array"),
        ("${empty_1.x}", "empty_1 is null, not an object"),
        ("${later_1}", "task 'later_1' has not run"),
        ("${inputs.nope}", "there is no input 'nope'"),
        ("${inputs.style.x}", "input 'style' was not given"),
        ("text ${image_1.data[9]}", "image_1.data has 2 item(s), no index 9"),
    ],
)
def test_missing_values_are_errors_that_say_where_the_path_breaks(text, message):
    with pytest.raises(ReferenceResolutionError) as caught:
        resolve(parse_string(text), scope())
    assert message in str(caught.value)
