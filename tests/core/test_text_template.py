"""core.textTemplate: both placeholder spellings, paths, escapes, and errors that name what is missing."""

from __future__ import annotations

import pytest

from zhipu_connector.core.template import render_template
from zhipu_connector.host.errors import InputValidationError


@pytest.fixture(scope="module")
def core_host():
    from zhipu_connector.host.host import Host

    return Host(default_plugins=["zhipu_connector.core.plugin"], entry_points=False)


def test_both_placeholder_spellings_are_filled():
    assert render_template("Hi ${name}, {greeting}!", {"name": "Ada", "greeting": "welcome"}) == "Hi Ada, welcome!"


def test_paths_walk_objects_by_key_and_arrays_by_index():
    values = {"user": {"name": "Ada", "tags": ["x", "y"]}, "items": [{"id": 7}]}
    assert render_template("{user.name} {user.tags[1]} ${items[0].id}", values) == "Ada y 7"


def test_values_read_as_text_strings_as_they_are_null_as_nothing_the_rest_as_json():
    values = {"s": "text", "n": 3, "f": 1.5, "b": True, "none": None, "obj": {"a": [1, "é"]}}
    assert render_template("{s}|{n}|{f}|{b}|{none}|{obj}", values) == 'text|3|1.5|true||{"a":[1,"é"]}'


def test_doubled_spellings_stand_for_the_placeholder_text_itself():
    assert render_template("$${name} {{name}} {name}", {"name": "Ada"}) == "${name} {name} Ada"


def test_other_braces_are_ordinary_text_so_json_survives():
    template = '{"user": {name}, "list": [1, 2], "nested": {"a": {"b": 1}}}'
    assert render_template(template, {"name": '"Ada"'}) == '{"user": "Ada", "list": [1, 2], "nested": {"a": {"b": 1}}}'


def test_every_missing_value_is_reported_at_once():
    with pytest.raises(InputValidationError) as caught:
        render_template("{a} {b.c} {items[3]} {s.key}", {"b": {}, "items": [1], "s": "text"})
    messages = [p.message for p in caught.value.problems]
    assert messages == [
        "placeholder {a}: no value named 'a' (values: b, items, s)",
        "placeholder {b.c}: b has no key 'c'",
        "placeholder {items[3]}: items has 1 item(s), no index 3",
        "placeholder {s.key}: s is a string, not an object with key 'key'",
    ]
    assert all(p.location == "template" for p in caught.value.problems)


def test_python_attribute_syntax_reaches_nothing():
    """No str.format, no eval: a dunder is just a key that is not there."""
    with pytest.raises(InputValidationError, match="no key '__class__'"):
        render_template("{name.__class__}", {"name": {"x": 1}})
    assert render_template("{0} {name!r} {name:>9}", {"name": "Ada"}) == "{0} {name!r} {name:>9}"


def test_dispatched_through_the_host_with_the_default_values(core_host):
    assert core_host.run_action("core", "textTemplate", {"template": "plain"}) == "plain"
    assert core_host.run_action("core", "textTemplate", {"template": "{x}", "values": {"x": 2}}) == "2"
