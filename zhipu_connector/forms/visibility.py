"""Display conditions as the page evaluates them: the parsed tree, written out as plain JSON.

Conditions are parsed once, on the server, by the definition's own parser; the page receives
the resulting tree and only evaluates it (`static/forms.js`, `evaluateCondition`). So there is
one grammar, and the JavaScript is a small evaluator whose rules mirror the Python ones:
JSON equality (`true` is not `1`), numbers and strings ordered, anything else unordered,
`null`, `false`, `0`, `""`, `[]` and `{}` false. The browser tests check both agree.

The JSON nodes, one key naming each:
    {"literal": v}  {"list": [v, ...]}  {"path": [step, ...]}   (a step is a name, an array
    position, or null for `[index]`: the position of the array item being shown)
    {"not": n}  {"compare": op, "left": n, "right": n}  {"in": n, "collection": n, "negated": b}
    {"and": [n, ...]}  {"or": [n, ...]}
"""

from __future__ import annotations

from typing import Any

from zhipu_connector.definition import conditions
from zhipu_connector.definition.conditions import parse_condition


def condition_ast(text: str) -> dict[str, Any]:
    """The JSON tree of a display condition, for the page's evaluator."""
    return _node(parse_condition(text).root)


def _node(node: Any) -> dict[str, Any]:
    if isinstance(node, conditions.Literal):
        return {"literal": node.value}
    if isinstance(node, conditions.ListLiteral):
        return {"list": list(node.items)}
    if isinstance(node, conditions.Path):
        return {"path": [None if step is conditions.ITEM_INDEX else step for step in node.steps]}
    if isinstance(node, conditions.Not):
        return {"not": _node(node.operand)}
    if isinstance(node, conditions.Compare):
        return {"compare": node.op, "left": _node(node.left), "right": _node(node.right)}
    if isinstance(node, conditions.Membership):
        return {"in": _node(node.element), "collection": _node(node.collection), "negated": node.negated}
    if isinstance(node, conditions.And):
        return {"and": [_node(operand) for operand in node.operands]}
    if isinstance(node, conditions.Or):
        return {"or": [_node(operand) for operand in node.operands]}
    raise TypeError(f"no JSON form for condition node {type(node).__name__}")
