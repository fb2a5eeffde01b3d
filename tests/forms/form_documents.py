"""Generated form documents: what the page sends when a person fills a form in correctly.

Values are drawn from each field's widget, options and bounds; then the document is pruned
the way the page prunes it (`static/forms.js`, `refreshContainer`): only shown fields are sent,
a field being shown when its display condition holds on what is sent, with the top-level
defaults filled in, and inside array items on the item first and the top level second.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st

from zhipu_connector.definition.conditions import parse_condition
from zhipu_connector.forms.tree import Field, Form


def form_documents(form: Form) -> st.SearchStrategy[dict[str, Any]]:
    """Documents the form can send."""
    return _object(form.fields, in_item=False).map(lambda raw: prune(form.fields, raw, form.defaults, None, None))


def prune(
    fields: tuple[Field, ...],
    values: dict[str, Any],
    defaults: dict[str, Any],
    index: int | None,
    outer: dict[str, Any] | None,
) -> dict[str, Any]:
    """`values` with only the fields the page would show, recursively."""
    shown = {f.key for f in fields}
    for _ in range(len(fields) + 1):
        sent = {k: v for k, v in values.items() if k in shown}
        scope = {**defaults, **sent}
        if outer is not None:
            scope = {**outer, **scope}
        now = {f.key for f in fields if not f.condition or parse_condition(f.condition).evaluate(scope, index=index)}
        if now == shown:
            break
        shown = now
    sent = {k: v for k, v in values.items() if k in shown}
    top = {**defaults, **sent} if outer is None else outer
    by_key = {f.key: f for f in fields}
    for key, value in list(sent.items()):
        field = by_key[key]
        if field.type == "OBJECT" and field.fields and isinstance(value, dict):
            value = prune(field.fields, value, {}, index, outer)
            if not value and not field.required:  # the page leaves an empty optional object out
                del sent[key]
                continue
        elif field.type == "ARRAY" and field.item is not None and field.item.fields and isinstance(value, list):
            value = [prune(field.item.fields, item, {}, position, top) for position, item in enumerate(value)]
        if value == []:  # no items, no boxes ticked: left out
            del sent[key]
            continue
        sent[key] = value
    return sent


@st.composite
def _object(draw: Any, fields: tuple[Field, ...], in_item: bool) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for field in fields:
        if field.widget.name == "null":
            continue
        if field.required or draw(st.booleans()):
            values[field.key] = draw(value_of(field, in_item=in_item))
    return values


def value_of(field: Field, *, in_item: bool = False) -> st.SearchStrategy[Any]:
    """A value the field's widget can produce and its rules accept."""
    if field.options and not field.open_options:
        choices = [choice.value for choice in field.options]
        if field.type == "ARRAY":
            return st.lists(st.sampled_from(choices), unique=True, min_size=1, max_size=len(choices))
        return st.sampled_from(choices)
    free = _free_value(field, in_item)
    if field.options:  # suggestions: pick one, or type your own
        return st.one_of(st.sampled_from([c.value for c in field.options]), free)
    return free


def _free_value(field: Field, in_item: bool) -> st.SearchStrategy[Any]:
    bounds = field.bounds
    if field.type == "STRING":
        if field.pattern:
            strategy = st.from_regex(field.pattern, fullmatch=True)
            low, high = bounds.min_length or 0, bounds.max_length
            return strategy.filter(lambda s: len(s) >= low and (high is None or len(s) <= high))
        low = bounds.min_length or (0 if in_item else 1)  # the page leaves an empty box out, except in a list
        return st.text(
            alphabet=st.characters(blacklist_categories=("Cs",)),
            min_size=low,
            max_size=bounds.max_length or max(low, 12),
        )
    if field.type in ("DATE", "DATE_TIME", "TIME"):
        return st.dates().map(lambda d: d.isoformat())
    if field.type == "INTEGER":
        low = None if bounds.min_value is None else math.ceil(bounds.min_value)
        high = None if bounds.max_value is None else math.floor(bounds.max_value)
        return st.integers(min_value=low, max_value=high)
    if field.type == "NUMBER":
        return st.floats(min_value=bounds.min_value, max_value=bounds.max_value, allow_nan=False, allow_infinity=False)
    if field.type == "BOOLEAN":
        return st.booleans()
    if field.type == "ARRAY" and field.item is not None:
        low = bounds.min_items or (1 if field.required else 0)
        high = bounds.max_items if bounds.max_items is not None else low + 2
        return st.lists(value_of(field.item, in_item=True), min_size=low, max_size=high)
    if field.type == "OBJECT":
        return _object(field.fields, in_item=False)  # only a list's own boxes send "" when empty
    return st.none()
