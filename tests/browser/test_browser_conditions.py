"""The page's condition evaluator agrees with the server's on generated conditions and values."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from zhipu_connector.definition.conditions import ConditionSyntaxError, parse_condition
from zhipu_connector.forms.visibility import condition_ast

pytestmark = pytest.mark.browser

PATHS = st.sampled_from(["a", "b", "c", "a.b", "b.a", "c[0]", "c[1]", "c[index]", "a.c[index]", "missing"])
LITERALS = st.sampled_from(
    ["true", "false", "null", "0", "1", "1.0", "-2", "0.5", "''", "'x'", "'é'", "'😀'", '"a"', "'b'", "'\\uffff'"]
)
ATOMS = PATHS | LITERALS
COMPARISONS = st.tuples(ATOMS, st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), ATOMS).map(" ".join)
LISTS = st.lists(LITERALS, max_size=3).map(lambda items: "[" + ", ".join(items) + "]")
MEMBERSHIPS = st.tuples(ATOMS, st.sampled_from(["in", "not in"]), LISTS | PATHS).map(" ".join)
CONDITIONS = st.recursive(
    ATOMS | COMPARISONS | MEMBERSHIPS,
    lambda inner: (
        inner.map(lambda e: f"!({e})")
        | st.tuples(inner, st.sampled_from(["&&", "||"]), inner).map(lambda t: f"({t[0]}) {t[1]} ({t[2]})")
    ),
    max_leaves=5,
)
SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.sampled_from([0.0, 1.0, 0.5, -2.0])
    | st.text(alphabet="abxé😀\uffff", max_size=3)
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["a", "b", "c"]), inner, max_size=3),
    max_leaves=6,
)
DOCUMENTS = st.dictionaries(st.sampled_from(["a", "b", "c"]), VALUES, max_size=3)


@st.composite
def cases(draw):
    source = draw(CONDITIONS)
    try:
        parse_condition(source)
    except ConditionSyntaxError:
        assume(False)
    return source, draw(DOCUMENTS), draw(st.integers(0, 2))


@pytest.fixture()
def evaluator(page, memo_url):
    page.goto(memo_url + "/")
    return page


def test_the_page_and_the_server_agree_on_every_condition(evaluator):
    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(st.lists(cases(), min_size=20, max_size=20))
    def check(batch):
        python = [parse_condition(source).evaluate(values, index=index) for source, values, index in batch]
        script = "cases => cases.map(c => window.zhipuForms.evaluateCondition(c.ast, c.values, c.index))"
        javascript = evaluator.evaluate(
            script, [{"ast": condition_ast(s), "values": v, "index": i} for s, v, i in batch]
        )
        for (source, values, index), expected, got in zip(batch, python, javascript):
            assert got == expected, f"{source!r} on {values!r} at index {index}: server {expected}, page {got}"

    check()


@pytest.mark.parametrize(
    "source, values, expected",
    [
        ("a == 1", {"a": True}, False),
        ("a == 1", {"a": 1.0}, True),
        ("a", {"a": {}}, False),
        ("a", {"a": [0]}, True),
        ("a < b", {"a": "\uffff", "b": "😀"}, True),  # code points, not UTF-16 units
        ("a.constructor == null", {"a": {}}, True),  # no inherited keys
        ("a not in b", {"a": 1, "b": "1"}, True),
        ("c[index] == 'x'", {"c": ["y", "x"]}, True),
    ],
)
def test_edge_cases_agree(evaluator, source, values, expected):
    assert parse_condition(source).evaluate(values, index=1) is expected
    got = evaluator.evaluate(
        "c => window.zhipuForms.evaluateCondition(c.ast, c.values, 1)", {"ast": condition_ast(source), "values": values}
    )
    assert got is expected
