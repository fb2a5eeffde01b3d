"""Display conditions: parsing, evaluation, errors, and the JSON Schema translation."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path as FilePath
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zhipu_connector.definition import conditions
from zhipu_connector.definition.conditions import (
    ITEM_INDEX,
    MAX_DEPTH,
    MAX_LENGTH,
    And,
    Compare,
    Condition,
    ConditionSyntaxError,
    ListLiteral,
    Literal,
    Membership,
    Not,
    Or,
    Path,
    parse_condition,
)
from zhipu_connector.host.errors import ConnectorError

SAMPLE: dict[str, Any] = {
    "format": "SIMPLE",
    "response": {"responseFormat": "JSON", "schema": None},
    "model": "glm-4v",
    "doSample": True,
    "temperature": 0.7,
    "maxTokens": 1024,
    "count": 0,
    "name": "",
    "quote": "it's",
    "tags": ["a", "b"],
    "empty": [],
    "settings": {},
    "messages": [{"role": "user", "content": "hi"}, {"role": "tool"}],
    "flag": False,
    "nothing": None,
    "nested": {"list": [[1, 2], [3]]},
}

EVALUATIONS = [
    # equality, both quote styles, case sensitivity
    ("format == 'SIMPLE'", True),
    ('format == "SIMPLE"', True),
    ("format != 'SIMPLE'", False),
    ("format == 'simple'", False),
    ("  format=='SIMPLE'  ", True),
    ("format\n==\t'SIMPLE'", True),
    # nested paths and missing values
    ("response.responseFormat == 'JSON'", True),
    ("response.responseFormat != 'TEXT'", True),
    ("response.schema == null", True),
    ("response.missing == null", True),
    ("missing == null", True),
    ("missing.deeper.still == null", True),
    ("missing != null", False),
    ("missing == ''", False),
    ("format.length == null", True),
    ("nothing == null", True),
    # membership
    ("model in ['glm-4v', 'glm-4v-plus'] && !(doSample == false)", True),
    ("model in ['glm-4', 'glm-4-plus']", False),
    ("model not in ['glm-4', 'glm-4-plus']", True),
    ("model not in ['glm-4v']", False),
    ("missing in [null]", True),
    ("missing in ['a']", False),
    ("missing not in ['a']", True),
    ("maxTokens in [1, 1024.0]", True),
    ("doSample in [1]", False),
    ("'a' in tags", True),
    ("'c' in tags", False),
    ("'c' not in tags", True),
    ("'S' in format", False),
    ("'a' in missing", False),
    ("'a' not in missing", True),
    ("x in []", False),
    ("x not in []", True),
    # a bare value is tested for truth
    ("doSample", True),
    ("!doSample", False),
    ("flag", False),
    ("count", False),
    ("name", False),
    ("empty", False),
    ("settings", False),
    ("tags", True),
    ("missing", False),
    ("!missing", True),
    ("nothing", False),
    ("response", True),
    ("temperature", True),
    ("true", True),
    ("false", False),
    ("null", False),
    ("0", False),
    ("-1", True),
    ("0.0", False),
    ("'x'", True),
    ("''", False),
    # numbers, strings, booleans do not mix
    ("maxTokens == 1024", True),
    ("maxTokens == 1024.0", True),
    ("maxTokens == '1024'", False),
    ("maxTokens != '1024'", True),
    ("doSample == true", True),
    ("doSample == 1", False),
    ("count == false", False),
    ("count == 0", True),
    ("count == -0", True),
    ("flag == false", True),
    ("flag == null", False),
    # ordering: numbers with numbers, strings with strings, anything else is false
    ("maxTokens > 1000", True),
    ("maxTokens >= 1024", True),
    ("maxTokens < 1024", False),
    ("maxTokens <= 1024.5", True),
    ("temperature < 1", True),
    ("temperature > -0.5", True),
    ("count > -0.5", True),
    ("format < 5", False),
    ("format > 5", False),
    ("format >= 'A'", True),
    ("format < 'A'", False),
    ("missing < 1", False),
    ("missing >= 0", False),
    ("doSample > 0", False),
    ("tags < tags", False),
    # indexes
    ("tags[0] == 'a'", True),
    ("tags[1] == 'b'", True),
    ("tags[2] == null", True),
    ("tags[99999999999999999999] == null", True),
    ("nested.list[0][1] == 2", True),
    ("nested.list[1][0] == 3", True),
    ("format[0] == null", True),
    ("messages[0].content == 'hi'", True),
    ("messages[1].content == null", True),
    # one path compared with another
    ("format == response.responseFormat", False),
    ("tags == tags", True),
    ("response == response", True),
    # precedence: ! > comparison > && > ||
    ("false && false || true", True),
    ("true || false && false", True),
    ("(true || false) && false", False),
    ("!true || true", True),
    ("!(true || true)", False),
    ("false && (false || true)", False),
    ("!flag == true", True),
    ("!(flag == true)", True),
    ("!!doSample", True),
    ("!(format == 'SIMPLE') || count == 0", True),
    ("(format == 'SIMPLE') == true", True),
    ("((((format)))) == 'SIMPLE'", True),
    ("count == 0 && name == '' && flag == false && nothing == null", True),
    ("count == 1 || name == 'x' || flag == true || nothing != null", False),
    # escapes
    ("quote == 'it\\'s'", True),
    ('quote == "it\'s"', True),
    ("quote == 'it\\u0027s'", True),
    ("'a\\\\b' == 'a\\u005cb'", True),
    ('\'\\n\\t\\r\\/\\"\' == "\\u000a\\u0009\\u000d/\\u0022"', True),
]


@pytest.mark.parametrize(("text", "expected"), EVALUATIONS)
def test_evaluates_over_sample_values(text: str, expected: bool) -> None:
    assert parse_condition(text).evaluate(SAMPLE) is expected


@pytest.mark.parametrize(
    ("text", "index", "expected"),
    [
        ("messages[index].role == 'tool'", 1, True),
        ("messages[index].role == 'tool'", 0, False),
        ("messages[index].role == 'tool'", 5, False),
        ("messages[index].role == null", 5, True),
        ("messages[index].role == null", -1, True),
        ("tags[index] in ['b', 'c']", 1, True),
        ("nested.list[index][0] == 3", 1, True),
    ],
)
def test_index_binds_to_the_current_item(text: str, index: int, expected: bool) -> None:
    assert parse_condition(text).evaluate(SAMPLE, index=index) is expected


def test_index_outside_an_array_item_is_a_caller_error() -> None:
    condition = parse_condition("messages[index].role == 'tool'")
    assert condition.uses_index
    with pytest.raises(ValueError, match=r"uses \[index\] but was evaluated outside an array item"):
        condition.evaluate(SAMPLE)
    assert not parse_condition("messages[0].role == 'tool'").uses_index


def test_evaluates_mappings_that_are_not_dicts() -> None:
    from types import MappingProxyType

    values = MappingProxyType({"a": MappingProxyType({"b": (1, 2)})})
    assert parse_condition("a.b[1] == 2 && 1 in a.b && a.b == a.b").evaluate(values)
    assert not parse_condition("a.b[2] != null").evaluate(values)


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("a", Path(("a",))),
        ("a.b[0][index].c", Path(("a", "b", 0, ITEM_INDEX, "c"))),
        ("a.in.not.true", Path(("a", "in", "not", "true"))),
        ("-2.50", Literal(-2.5)),
        ("007", Literal(7)),
        ("x in [1, 'a', true, null, -0.5]", Membership(Path(("x",)), ListLiteral((1, "a", True, None, -0.5)), False)),
        ("x not in y.z", Membership(Path(("x",)), Path(("y", "z")), True)),
        ("!a == b", Compare("==", Not(Path(("a",))), Path(("b",)))),
        ("!a in [1]", Membership(Not(Path(("a",))), ListLiteral((1,)), False)),
        (
            "a || b && c || d",
            Or((Path(("a",)), And((Path(("b",)), Path(("c",)))), Path(("d",)))),
        ),
        ("a && (b || c)", And((Path(("a",)), Or((Path(("b",)), Path(("c",))))))),
        ("a || (b || c)", Or((Path(("a",)), Or((Path(("b",)), Path(("c",))))))),
        ("!!a", Not(Not(Path(("a",))))),
        ("1 <= x", Compare("<=", Literal(1), Path(("x",)))),
    ],
)
def test_parses_into_the_expected_tree(text: str, tree: Any) -> None:
    assert parse_condition(text).root == tree


def test_keywords_are_case_sensitive() -> None:
    assert parse_condition("True").root == Path(("True",))
    assert parse_condition("NULL == null").evaluate({"NULL": None})


def test_integers_and_decimals_keep_their_kind() -> None:
    assert type(parse_condition("1").root.value) is int  # type: ignore[attr-defined]
    assert type(parse_condition("1.0").root.value) is float  # type: ignore[attr-defined]


def test_condition_keeps_its_source_and_prints_a_canonical_form() -> None:
    condition = parse_condition('  a=="x"&&!( b||c )  ')
    assert condition.source == '  a=="x"&&!( b||c )  '
    assert str(condition) == "a == 'x' && !(b || c)"
    assert str(parse_condition('x in [1.50, -3, "q\'\\n"]')) == "x in [1.5, -3, 'q\\'\\n']"
    assert str(parse_condition("a == 100000000000000000000.0")) == "a == 100000000000000000000.0"
    assert str(parse_condition("a == 0.0000001")) == "a == 0.0000001"


def test_paths_drop_index_steps() -> None:
    condition = parse_condition(
        "messages[index].role == 'tool' && tags[0] != null || 'a' in tags && model in ['x'] && x.y.z"
    )
    assert condition.paths() == frozenset({("messages", "role"), ("tags",), ("model",), ("x", "y", "z")})
    assert parse_condition("true").paths() == frozenset()


def test_parsing_is_cached() -> None:
    assert parse_condition("format == 'SIMPLE'") is parse_condition("format == 'SIMPLE'")


def test_conditions_are_immutable_and_comparable() -> None:
    condition = parse_condition("a == 1")
    with pytest.raises(AttributeError):
        condition.source = "b"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        condition.root.op = "!="  # type: ignore[attr-defined]
    assert Condition("a == 1", condition.root) == condition
    assert hash(Condition("a == 1", condition.root)) == hash(condition)


def test_only_text_is_parsed() -> None:
    with pytest.raises(TypeError, match="a display condition must be a string, not int"):
        parse_condition(1)  # type: ignore[arg-type]


def _error(text: str) -> ConditionSyntaxError:
    with pytest.raises(ConditionSyntaxError) as caught:
        parse_condition(text)
    return caught.value


ERRORS = [
    ("format == 'SIMPLE", 10, 'unterminated string at column 10 in condition "format == \'SIMPLE"'),
    ("a == 'x\\'", 5, "unterminated string at column 5 in condition \"a == 'x\\\\'\""),
    ("a == 'x\\", 5, 'unterminated string at column 5 in condition "a == \'x\\\\"'),
    ("(a == 1", 7, "expected ')' at column 7 in condition '(a == 1'"),
    ("((a)", 4, "expected ')' at column 4 in condition '((a)'"),
    ("(a == 1 b", 8, "expected ')', found 'b' at column 8 in condition '(a == 1 b'"),
    (
        "a == 1)",
        6,
        "expected '&&', '||' or the end of the condition, found ')' at column 6 in condition 'a == 1)'",
    ),
    (
        "a == 1 b",
        7,
        "expected '&&', '||' or the end of the condition, found 'b' at column 7 in condition 'a == 1 b'",
    ),
    ("a = 1", 2, "unexpected character '=' at column 2 in condition 'a = 1': use '==' to compare"),
    ("a & b", 2, "unexpected character '&' at column 2 in condition 'a & b': use '&&'"),
    ("a | b", 2, "unexpected character '|' at column 2 in condition 'a | b': use '||'"),
    ("a === b", 4, "unexpected character '=' at column 4 in condition 'a === b': use '==' to compare"),
    ("a # b", 2, "unexpected character '#' at column 2 in condition 'a # b'"),
    ("- 1", 0, "unexpected character '-' at column 0 in condition '- 1'"),
    ("a == 1 and b == 2", 7, "unexpected word 'and' at column 7 in condition 'a == 1 and b == 2': use '&&'"),
    ("a or b", 2, "unexpected word 'or' at column 2 in condition 'a or b': use '||'"),
    ("(a and b)", 3, "unexpected word 'and' at column 3 in condition '(a and b)': use '&&'"),
    ("and == 1", 0, "unexpected word 'and' at column 0 in condition 'and == 1': use '&&'"),
    (
        "not a",
        0,
        "unexpected word 'not' at column 0 in condition 'not a': use '!' to negate ('not' only appears in 'not in')",
    ),
    ("x not [1]", 6, "expected 'in' after 'not' at column 6 in condition 'x not [1]'"),
    ("in == 1", 0, "expected a value, found 'in' at column 0 in condition 'in == 1'"),
    ("", 0, "condition is empty at column 0 in condition ''"),
    ("   ", 0, "condition is empty at column 0 in condition '   '"),
    ("a ==", 4, "expected a value at column 4 in condition 'a =='"),
    ("a == 'x' &&", 11, "expected a value at column 11 in condition \"a == 'x' &&\""),
    ("&& a", 0, "expected a value, found '&&' at column 0 in condition '&& a'"),
    ("!", 1, "expected a value at column 1 in condition '!'"),
    ("()", 1, "expected a value, found ')' at column 1 in condition '()'"),
    ("a[", 2, "expected an array index (a whole number or 'index') at column 2 in condition 'a['"),
    ("a[x]", 2, "expected an array index (a whole number or 'index'), found 'x' at column 2 in condition 'a[x]'"),
    ("a[-1]", 2, "expected an array index (a whole number or 'index'), found '-1' at column 2 in condition 'a[-1]'"),
    ("a[1.5]", 2, "expected an array index (a whole number or 'index'), found '1.5' at column 2 in condition 'a[1.5]'"),
    ("a[index", 7, "expected ']' at column 7 in condition 'a[index'"),
    ("a.", 2, "expected a property name after '.' at column 2 in condition 'a.'"),
    ("a.1", 2, "expected a property name after '.', found '1' at column 2 in condition 'a.1'"),
    (
        "x in 'a'",
        5,
        "expected a list '[...]' or a path after 'in', found \"'a'\" at column 5 in condition \"x in 'a'\"",
    ),
    ("x in true", 5, "expected a list '[...]' or a path after 'in', found 'true' at column 5 in condition 'x in true'"),
    (
        "x in [1,]",
        8,
        "expected a literal (string, number, true, false or null), found ']' at column 8 in condition 'x in [1,]'",
    ),
    (
        "x in [a]",
        6,
        "expected a literal (string, number, true, false or null), found 'a' at column 6 in condition 'x in [a]'",
    ),
    ("x in [1", 7, "expected ',' or ']' at column 7 in condition 'x in [1'"),
    ("x in [1 2]", 8, "expected ',' or ']', found '2' at column 8 in condition 'x in [1 2]'"),
    (
        "tags == ['a']",
        8,
        "unexpected '[' at column 8 in condition \"tags == ['a']\": a list '[...]' is only allowed after 'in'",
    ),
    (
        "a == b == c",
        7,
        "unexpected '==' at column 7 in condition 'a == b == c': comparisons cannot be chained; join them with '&&'",
    ),
    (
        "x in [1] in [2]",
        9,
        "unexpected 'in' at column 9 in condition 'x in [1] in [2]': comparisons cannot be chained; join them with '&&'",
    ),
    ("'\\x'", 1, "unknown escape '\\x' at column 1 in condition \"'\\\\x'\""),
    ("'\\u12g4'", 1, "unknown escape '\\u' at column 1 in condition \"'\\\\u12g4'\""),
    ("1" + "0" * 400 + ".5 == x", 0, None),
]


@pytest.mark.parametrize(("text", "column", "message"), ERRORS)
def test_reports_the_rule_and_the_column(text: str, column: int, message: str | None) -> None:
    error = _error(text)
    assert error.column == column
    assert error.source == text
    if message is None:
        assert error.message == "number out of range"
    else:
        assert str(error) == message


def test_syntax_errors_are_value_errors_and_connector_errors() -> None:
    error = _error("(a")
    assert isinstance(error, ValueError)
    assert isinstance(error, ConnectorError)
    assert error.message == "expected ')'"
    assert error.hint == ""


def test_length_limit() -> None:
    assert parse_condition("a" * MAX_LENGTH).root == Path(("a" * MAX_LENGTH,))
    error = _error("a" * (MAX_LENGTH + 1))
    assert error.column == MAX_LENGTH
    assert str(error) == (
        f"condition is too long ({MAX_LENGTH + 1} characters) at column {MAX_LENGTH} "
        f"in condition near '…{'a' * 41}': at most {MAX_LENGTH} are allowed"
    )


def test_long_conditions_are_quoted_around_the_error() -> None:
    text = "a == 1 && " * 20 + "(b"
    error = _error(text)
    assert error.column == len(text)
    assert str(error) == f"expected ')' at column {len(text)} in condition near '…{text[-40:]}'"
    middle = "a == 1 && " * 10 + "= " + "a == 1 && " * 10
    assert str(_error(middle)).endswith(f"near '…{middle[60:140]}…': use '==' to compare")


@pytest.mark.parametrize("opener", ["(", "!", "!("])
def test_depth_limit(opener: str) -> None:
    levels = MAX_DEPTH // len(opener)
    closer = ")" * (levels if "(" in opener else 0)
    assert parse_condition(opener * levels + "a" + closer).paths() == {("a",)}
    deeper = opener * (levels + 1) + "a" + closer + (")" if "(" in opener else "")
    error = _error(deeper)
    assert error.message == "condition is nested too deeply"
    assert error.hint == f"at most {MAX_DEPTH} levels of '(' and '!' are allowed"
    assert error.column == MAX_DEPTH


def test_module_runs_no_dynamic_code() -> None:
    source = FilePath(conditions.__file__).read_text(encoding="utf-8")
    assert not re.search(r"\b(eval|exec|compile|literal_eval|__import__)\s*\(", source)
    forbidden = {"eval", "exec", "compile", "literal_eval", "__import__", "importlib", "ast", "re"}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Name):
            assert node.id not in forbidden
        elif isinstance(node, ast.Attribute):
            assert node.attr not in forbidden
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            modules = [alias.name for alias in node.names] + [getattr(node, "module", None) or ""]
            assert not set(modules) & forbidden


# ---------------------------------------------------------------- JSON Schema fragments


def _schema(text: str, defaults: dict[str, Any] | None = None) -> dict[str, Any] | None:
    fragment = parse_condition(text).to_json_schema(defaults)
    if fragment is not None:
        jsonschema.Draft202012Validator.check_schema(fragment)
    return fragment


def test_schema_of_an_equality_requires_the_value() -> None:
    assert _schema("format == 'SIMPLE'") == {"properties": {"format": {"const": "SIMPLE"}}, "required": ["format"]}
    assert _schema("'SIMPLE' == format") == _schema("format == 'SIMPLE'")


def test_schema_lets_a_missing_value_pass_when_null_would() -> None:
    assert _schema("format == null") == {"properties": {"format": {"const": None}}}
    assert _schema("format != 'RAW'") == {"properties": {"format": {"not": {"const": "RAW"}}}}
    assert _schema("format in ['A', null]") == {"properties": {"format": {"enum": ["A", None]}}}
    assert _schema("format not in ['A', null]") == {
        "properties": {"format": {"not": {"enum": ["A", None]}}},
        "required": ["format"],
    }


def test_schema_uses_defaults_for_absent_top_level_values() -> None:
    assert _schema("format == 'SIMPLE'", {"format": "SIMPLE"}) == {"properties": {"format": {"const": "SIMPLE"}}}
    assert _schema("format != 'RAW'", {"format": "RAW"}) == {
        "properties": {"format": {"not": {"const": "RAW"}}},
        "required": ["format"],
    }
    assert _schema("format == 'SIMPLE'", {"other": "SIMPLE"}) == _schema("format == 'SIMPLE'")


def test_schema_of_a_nested_path_walks_objects() -> None:
    assert _schema("response.responseFormat == 'JSON'") == {
        "properties": {
            "response": {
                "type": "object",
                "properties": {"responseFormat": {"const": "JSON"}},
                "required": ["responseFormat"],
            }
        },
        "required": ["response"],
    }


def test_schema_merges_a_conjunction_of_distinct_names() -> None:
    assert _schema("a == 1 && b != 2 && c in ['x']") == {
        "properties": {"a": {"const": 1}, "b": {"not": {"const": 2}}, "c": {"enum": ["x"]}},
        "required": ["a", "c"],
    }
    assert _schema("a != 1 && a != 2") == {
        "allOf": [{"properties": {"a": {"not": {"const": 1}}}}, {"properties": {"a": {"not": {"const": 2}}}}]
    }
    assert _schema("a == 1 || b == 2") == {
        "anyOf": [
            {"properties": {"a": {"const": 1}}, "required": ["a"]},
            {"properties": {"b": {"const": 2}}, "required": ["b"]},
        ]
    }


def test_schema_of_constants_and_truth_tests() -> None:
    assert _schema("true") == {}
    assert _schema("false") == {"not": {}}
    assert _schema("doSample") == {
        "properties": {"doSample": {"not": {"enum": [None, False, 0, "", [], {}]}}},
        "required": ["doSample"],
    }


@pytest.mark.parametrize(
    "text",
    [
        "a < 1",
        "a >= 'x'",
        "a == b",
        "1 == 1",
        "'x' in tags",
        "x in tags",
        "messages[index].role == 'tool'",
        "tags[0] == 'a'",
        "a == 1 && b > 2",
        "!(a < 1)",
    ],
)
def test_schema_is_none_when_the_condition_cannot_be_expressed(text: str) -> None:
    assert _schema(text) is None


# ---------------------------------------------------------------- properties

NAMES = ["a", "b", "c"]
PATHS = ["a", "b", "c", "a.b", "b.c", "a.b.c"]
POOL: list[Any] = [None, True, False, 0, 1, 1.0, -1, 2.5, -0.0, "", "x", "y", "it's", [], {}, ["x"], {"b": 1}]
LITERAL_POOL: list[Any] = [None, True, False, 0, 1, 1.0, -1, 2.5, "", "x", "y", "it's"]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=3),
    max_leaves=8,
)
pooled_values = st.recursive(
    st.sampled_from(POOL) | json_values,
    lambda children: st.dictionaries(st.sampled_from(NAMES), children, max_size=3) | st.lists(children, max_size=3),
    max_leaves=10,
)
sibling_values = st.dictionaries(st.sampled_from(NAMES + ["m"]), pooled_values, max_size=4)


def _literal(value: Any) -> str:
    return json.dumps(value)


literals = st.sampled_from(LITERAL_POOL).map(_literal)
list_literals = st.lists(literals, max_size=3).map(lambda items: "[" + ", ".join(items) + "]")
paths = st.sampled_from(PATHS)


def _expressions(atoms: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.recursive(
        atoms,
        lambda inner: st.one_of(
            inner.map(lambda e: f"!({e})"),
            st.tuples(inner, st.sampled_from(["&&", "||"]), inner).map(lambda t: f"({t[0]}) {t[1]} ({t[2]})"),
            st.tuples(inner, inner).map(lambda t: f"{t[0]} && {t[1]}"),
            st.tuples(inner, inner).map(lambda t: f"{t[0]} || {t[1]}"),
        ),
        max_leaves=6,
    )


expressible_atoms = st.one_of(
    st.tuples(paths, st.sampled_from(["==", "!="]), literals).map(" ".join),
    st.tuples(literals, st.sampled_from(["==", "!="]), paths).map(" ".join),
    st.tuples(paths, st.sampled_from(["in", "not in"]), list_literals).map(" ".join),
    paths,
    st.sampled_from(["true", "false"]),
)
any_atoms = st.one_of(
    expressible_atoms,
    st.tuples(
        st.one_of(paths, literals, st.sampled_from(["m[index]", "m[0].a", "m[index].b"])),
        st.sampled_from(["==", "!=", "<", "<=", ">", ">="]),
        st.one_of(paths, literals, st.sampled_from(["m[index]", "m[1]"])),
    ).map(" ".join),
    st.tuples(st.one_of(paths, literals), st.sampled_from(["in", "not in"]), st.one_of(paths, list_literals)).map(
        " ".join
    ),
)
FRAGMENTS = [
    "a", "b.c", "[0]", "[index]", "==", "!=", "<", ">=", "&&", "||", "!", "(", ")", "[", "]", ",",
    "'x'", '"y', "'", "\\", "\\u00", "1", "-2.5", "-", "true", "null", "in", "not", "and", "=", ".", " ",
]  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(max_size=40), st.lists(st.sampled_from(FRAGMENTS), max_size=14).map("".join)), sibling_values)
def test_parsing_raises_only_syntax_errors(text: str, values: dict[str, Any]) -> None:
    try:
        condition = parse_condition(text)
    except ConditionSyntaxError as error:
        assert 0 <= error.column <= len(text)
        assert str(error).startswith(f"{error.message} at column {error.column} in condition")
        return
    assert parse_condition(str(condition)).root == condition.root
    assert isinstance(condition.evaluate(values, index=0), bool)


@settings(max_examples=400, deadline=None)
@given(_expressions(any_atoms), sibling_values, st.integers(min_value=-2, max_value=4))
def test_evaluation_never_raises(text: str, values: dict[str, Any], index: int) -> None:
    condition = parse_condition(text)
    assert isinstance(condition.evaluate(values, index=index), bool)
    assert parse_condition(str(condition)).root == condition.root


@settings(max_examples=600, deadline=None)
@given(
    _expressions(expressible_atoms),
    sibling_values,
    st.dictionaries(st.sampled_from(NAMES), st.sampled_from(POOL), max_size=2),
    st.booleans(),
)
def test_schema_fragment_holds_exactly_when_the_condition_does(
    text: str, values: dict[str, Any], defaults: dict[str, Any], with_defaults: bool
) -> None:
    condition = parse_condition(text)
    fragment = condition.to_json_schema(defaults if with_defaults else None)
    assert fragment is not None
    jsonschema.Draft202012Validator.check_schema(fragment)
    completed = {**defaults, **values} if with_defaults else values
    assert jsonschema.Draft202012Validator(fragment).is_valid(values) == condition.evaluate(completed)


@settings(max_examples=600, deadline=None)
@given(
    st.one_of(expressible_atoms, _expressions(expressible_atoms)),  # single atoms: most have a negation
    sibling_values,
    st.dictionaries(st.sampled_from(NAMES), st.sampled_from(POOL), max_size=2),
)
def test_the_negation_a_required_when_shown_rule_uses_holds_exactly_when_the_condition_does_not(
    text: str, values: dict[str, Any], defaults: dict[str, Any]
) -> None:
    from zhipu_connector.definition.json_schema import _negation_when_absent

    fragment = parse_condition(text).to_json_schema(defaults)
    assert fragment is not None
    negation = _negation_when_absent(fragment)
    if negation is None:
        return
    assert "required" not in negation  # so that it passes at once when the property is absent
    holds = jsonschema.Draft202012Validator(fragment).is_valid(values)
    assert jsonschema.Draft202012Validator(negation).is_valid(values) is not holds


def test_a_required_when_shown_rule_on_a_present_property_is_written_as_its_negation() -> None:
    from zhipu_connector.definition.json_schema import _required_when_shown
    from zhipu_connector.definition.models import Property

    shown_on_search = Property.model_validate(
        {"name": "engine", "type": "STRING", "required": True, "displayCondition": "webSearch == true"}
    )
    assert _required_when_shown(shown_on_search, {}) == {
        "if": {"properties": {"webSearch": {"not": {"const": True}}}},
        "else": {"required": ["engine"]},
    }
    shown_by_default = Property.model_validate(
        {"name": "messages", "type": "ARRAY", "required": True, "displayCondition": "format == 'ADVANCED'"}
    )
    assert _required_when_shown(shown_by_default, {"format": "ADVANCED"}) == {
        "if": {"properties": {"format": {"const": "ADVANCED"}}},
        "then": {"required": ["messages"]},
    }
