"""The one table from a property's control type (and its mark) to the widget that edits it.

Every renderer reads its own column of this table: the form tree names the widget, the
react-jsonschema-form renderer takes `rjsf` (its `ui:widget`), the HTML renderer takes
`element` and `input_type`. A new control type is one row here, never a branch in a renderer.

A property's *mark* refines its control: `secret` (a credential: always a password box) and
`open` (a SELECT whose options are only suggestions, `allowCustomValue`: a text box offering
them). A mark changes the widget only where the table has a row for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from zhipu_connector.definition.models import ControlType, Property

Mark = Literal["plain", "secret", "open"]
Element = Literal["input", "textarea", "select", "checkboxes", "array", "object", "none"]


@dataclass(frozen=True, slots=True)
class Widget:
    """How one kind of value is edited, in each renderer's vocabulary."""

    name: str
    """The renderer-neutral name the form tree carries."""
    rjsf: str | None
    """react-jsonschema-form's `ui:widget`; None leaves its default for the schema (arrays, objects)."""
    element: Element
    """What the HTML page draws."""
    input_type: str | None = None
    """`<input type=…>` when `element` is `input`."""
    rjsf_options: tuple[tuple[str, Any], ...] = ()
    """Extra `ui:options` for react-jsonschema-form."""


TEXT = Widget("text", "text", "input", "text")
PASSWORD = Widget("password", "password", "input", "password")
TEXTAREA = Widget("textarea", "textarea", "textarea")
COMBOBOX = Widget("combobox", "text", "input", "text")  # suggestions come from the schema's `examples`

WIDGETS: dict[tuple[ControlType | None, Mark], Widget] = {
    ("TEXT", "plain"): TEXT,
    ("TEXT", "secret"): PASSWORD,
    ("TEXT_AREA", "plain"): TEXTAREA,
    ("TEXT_AREA", "secret"): PASSWORD,
    ("PASSWORD", "plain"): PASSWORD,
    ("EMAIL", "plain"): Widget("email", "email", "input", "email"),
    ("EMAIL", "secret"): PASSWORD,
    ("URL", "plain"): Widget("url", "uri", "input", "url"),
    ("URL", "secret"): PASSWORD,
    ("PHONE", "plain"): Widget("phone", "text", "input", "tel", (("inputType", "tel"),)),
    ("PHONE", "secret"): PASSWORD,
    ("SELECT", "plain"): Widget("select", "select", "select"),
    ("SELECT", "open"): COMBOBOX,
    ("MULTI_SELECT", "plain"): Widget("multiselect", "checkboxes", "checkboxes"),
    ("INTEGER", "plain"): Widget("integer", "updown", "input", "number"),
    ("NUMBER", "plain"): Widget("number", "updown", "input", "number"),
    ("ARRAY_BUILDER", "plain"): Widget("array", None, "array"),
    ("OBJECT_BUILDER", "plain"): Widget("object", None, "object"),
    ("CODE_EDITOR", "plain"): Widget("code", "textarea", "textarea", None, (("rows", 12),)),
    ("CODE_EDITOR", "secret"): PASSWORD,
    ("DATE", "plain"): Widget("date", "date", "input", "date"),
    ("DATE_TIME", "plain"): Widget("datetime", "datetime", "input", "datetime-local"),
    ("TIME", "plain"): Widget("time", "time", "input", "time"),
    (None, "plain"): Widget("null", "hidden", "none"),  # a NULL property: its only value is null
}


def mark_of(prop: Property) -> Mark:
    """The mark that may refine the property's control: a secret wins over open options."""
    if prop.secret:
        return "secret"
    if prop.allow_custom_value and prop.options:
        return "open"
    return "plain"


def widget_for(prop: Property) -> Widget:
    """The widget that edits `prop`: the row for its control and mark, else its control's plain row."""
    control = prop.control
    return WIDGETS.get((control, mark_of(prop))) or WIDGETS[(control, "plain")]
