"""The widget table: every control type has a widget, and the marks refine it."""

from __future__ import annotations

from typing import get_args

import pytest

from zhipu_connector.definition.loader import parse_component
from zhipu_connector.definition.models import ControlType, Property
from zhipu_connector.forms.widgets import WIDGETS, mark_of, widget_for

TEXT_LIKE = ("TEXT", "TEXT_AREA", "PASSWORD", "EMAIL", "URL", "PHONE", "CODE_EDITOR")


@pytest.mark.parametrize("control", get_args(ControlType))
def test_every_control_type_has_a_plain_widget_with_a_name_in_each_renderer(control):
    widget = WIDGETS[(control, "plain")]
    assert widget.name and widget.element
    assert widget.element != "input" or widget.input_type
    assert widget.rjsf is not None or widget.element in ("array", "object")


@pytest.mark.parametrize("control", TEXT_LIKE)
def test_a_secret_is_always_a_password_box(control):
    prop = Property(name="key", type="STRING", control_type=control, secret=True)
    widget = widget_for(prop)
    assert (widget.name, widget.rjsf, widget.input_type) == ("password", "password", "password")


def test_a_select_with_custom_values_is_a_text_box_offering_the_options():
    options = [{"label": "A", "value": "a"}]
    open_select = Property.model_validate(
        {"name": "m", "type": "STRING", "controlType": "SELECT", "options": options, "allowCustomValue": True}
    )
    closed_select = Property.model_validate(
        {"name": "m", "type": "STRING", "controlType": "SELECT", "options": options}
    )
    assert mark_of(open_select) == "open" and widget_for(open_select).name == "combobox"
    assert widget_for(closed_select).name == "select"


def test_a_mark_without_a_row_keeps_the_controls_plain_widget():
    url = Property.model_validate(
        {
            "name": "u",
            "type": "STRING",
            "controlType": "URL",
            "allowCustomValue": True,
            "options": [{"label": "A", "value": "https://a.example"}],
        }
    )
    assert mark_of(url) == "open"
    assert widget_for(url) is WIDGETS[("URL", "plain")]


def test_a_secret_mark_wins_over_open_options():
    prop = Property.model_validate(
        {
            "name": "k",
            "type": "STRING",
            "controlType": "TEXT",
            "secret": True,
            "allowCustomValue": True,
            "options": [{"label": "A", "value": "a"}],
        }
    )
    assert mark_of(prop) == "secret"


def test_the_default_control_of_each_type_has_a_widget():
    definition = """
name: kinds
title: Kinds
version: 1
actions:
  all:
    title: All
    properties:
      s: {type: STRING}
      i: {type: INTEGER}
      n: {type: NUMBER}
      b: {type: BOOLEAN}
      a: {type: ARRAY, items: {type: STRING}}
      o: {type: OBJECT}
      d: {type: DATE}
      dt: {type: DATE_TIME}
      t: {type: TIME}
      z: {type: "NULL"}
    output: {type: STRING}
"""
    action = parse_component(definition).action("all")
    names = {prop.name: widget_for(prop).name for prop in action.properties}
    assert names == {
        "s": "text",
        "i": "integer",
        "n": "number",
        "b": "select",
        "a": "array",
        "o": "object",
        "d": "date",
        "dt": "datetime",
        "t": "time",
        "z": "null",
    }
