"""A form tree as HTML: the markup is complete on the server, the script only adds behaviour.

Every field is drawn here, from the widget table's `element` and `input_type`; an array's item
is drawn once, inside a `<template>` the script clones. The script (`static/forms.js`) reads
values back from the markup, shows and hides fields by their display condition (carried as a
JSON tree in `data-condition`), adds and removes array items, sends the form, and puts each
validation message next to the field its location names. The stylesheet is `static/forms.css`.

`page()` builds the served page (assets linked from `/static/`, allowed by a strict Content
Security Policy); `standalone_page()` inlines them, for `zhipu-connector form --format html`.
Every text from the definition is escaped; a secret field never has a value in the markup.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from html import escape
from importlib import resources
from typing import Any

from zhipu_connector.definition.models import Component
from zhipu_connector.forms.hints import field_hint
from zhipu_connector.forms.tree import Field, Form, component_forms
from zhipu_connector.forms.visibility import condition_ast

STATIC_FILES = ("forms.css", "forms.js")
_FIELD_CLASS = {"array": "zc-array", "object": "zc-object", "checkboxes": "zc-checkboxes"}  # the script keys on these


def static_text(name: str) -> str:
    """One of the shipped static assets, read from the installed package."""
    if name not in STATIC_FILES:
        raise KeyError(name)
    return resources.files("zhipu_connector.forms").joinpath("static", name).read_text(encoding="utf-8")


def form_html(
    form: Form, *, secret_placeholders: dict[str, str] | None = None, runnable: bool = False, testable: bool = False
) -> str:
    """One form; `secret_placeholders` says, per secret key, that the server holds a value.

    `testable`: a connection form gets a **Test connection** button (its component declares a
    connection test, and the server runs it).
    """
    renderer = _Renderer(f"{form.component}-{form.kind}-{form.name}", secret_placeholders or {})
    attributes = {
        "class": "zc-form",
        "id": renderer.prefix,
        "data-kind": form.kind,
        "data-component": form.component,
        "data-name": form.name,
        "data-defaults": json.dumps(form.defaults, ensure_ascii=False),
        "novalidate": True,
    }
    heading = "Connection: " + form.title if form.kind == "connection" else form.title
    parts = [f"<form{_attributes(attributes)}>", f'<h2 class="zc-title">{escape(heading)}</h2>']
    if form.description:
        parts.append(f'<p class="zc-form-description">{escape(form.description)}</p>')
    parts.append('<div class="zc-form-errors" role="alert" hidden></div>')
    parts.append(renderer.fields(form.fields, path=()))
    if form.kind == "action" and runnable:
        parts.append('<div class="zc-buttons">')
        parts.append('<button type="button" class="zc-check">Check</button>')
        parts.append('<button type="submit" class="zc-run">Run</button>')
        parts.append('<span class="zc-status" aria-live="polite"></span></div>')
        parts.append(
            '<section class="zc-output" aria-live="polite" hidden><h3>Output</h3><div class="zc-output-body"></div></section>'
        )
    if form.kind == "connection" and testable:
        parts.append('<div class="zc-buttons">')
        parts.append('<button type="button" class="zc-test-connection">Test connection</button>')
        parts.append('<span class="zc-status" aria-live="polite"></span></div>')
    parts.append("</form>")
    return "\n".join(part for part in parts if part)


def component_html(
    component: Component,
    *,
    connection: Form | None = None,
    secret_placeholders: dict[str, str] | None = None,
    runnable: bool = False,
    testable: bool = False,
) -> str:
    """A component's connection form (by default the definition's) and each action's form, each in its own card."""
    default_connection, actions = component_forms(component)
    connection = connection or default_connection
    parts = [f'<section class="zc-component" data-component="{escape(component.name)}">']
    parts.append(f'<header class="zc-component-header"><h1>{escape(component.title)}</h1>')
    if component.description:
        parts.append(f"<p>{escape(component.description)}</p>")
    parts.append("</header>")
    forms: list[Form] = ([connection] if connection else []) + list(actions)
    parts.append('<nav class="zc-nav" aria-label="Forms">')
    parts += [f'<a href="#{escape(_card_id(form))}">{escape(form.title)}</a>' for form in forms]
    parts.append("</nav>")
    for form in forms:
        parts.append(f'<article class="zc-card" id="{escape(_card_id(form))}">')
        parts.append(
            form_html(
                form,
                secret_placeholders=secret_placeholders if form.kind == "connection" else None,
                runnable=runnable,
                testable=testable,
            )
        )
        parts.append("</article>")
    parts.append("</section>")
    return "\n".join(parts)


def page(
    components: Sequence[Component],
    *,
    api: str,
    connections: Mapping[str, Form] | None = None,
    secret_placeholders: Mapping[str, dict[str, str]] | None = None,
    static: str = "/static",
    testable: Iterable[str] = (),
) -> str:
    """The served page: every component's forms, wired to the server's API at `api`.

    `connections` replaces a component's connection form (one with the server's defaults);
    `secret_placeholders` says which secrets the server holds, per component; `testable` names
    the components whose connection form gets a **Test connection** button.
    """
    can_test = frozenset(testable)
    placeholders = secret_placeholders or {}
    chosen = connections or {}
    body = "\n".join(
        component_html(
            c,
            connection=chosen.get(c.name),
            secret_placeholders=placeholders.get(c.name),
            runnable=True,
            testable=c.name in can_test,
        )
        for c in components
    )
    head = (
        f'<link rel="stylesheet" href="{escape(static)}/forms.css">\n'
        f'<script src="{escape(static)}/forms.js" defer></script>'
    )
    return _document(_title(components), head, body, api=api)


def standalone_page(form: Form) -> str:
    """One form as a self-contained page (assets inlined): it shows fields and conditions, runs nothing."""
    script = static_text("forms.js").replace("</", "<\\/")  # nothing in it may close the element early
    style = static_text("forms.css").replace("</", "<\\/")
    head = f"<style>\n{style}\n</style>\n<script>\n{script}\n</script>"
    return _document(form.title, head, f'<article class="zc-card">{form_html(form)}</article>', api=None)


def _document(title: str, head: str, body: str, *, api: str | None) -> str:
    main = _attributes({"class": "zc-main", "data-api": api})
    return (
        '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{escape(title)}</title>\n{head}\n</head>\n<body>\n<main{main}>\n{body}\n</main>\n</body>\n</html>\n"
    )


def _title(components: Sequence[Component]) -> str:
    return " · ".join(c.title for c in components) or "Forms"


def _card_id(form: Form) -> str:
    return f"card-{form.component}-{form.kind}-{form.name}"


class _Renderer:
    """Draws fields; ids are the form's prefix and the field's path, so labels and help connect."""

    def __init__(self, prefix: str, secret_placeholders: dict[str, str]) -> None:
        self.prefix = prefix
        self.secret_placeholders = secret_placeholders

    def fields(self, fields: Iterable[Field], path: tuple[str, ...]) -> str:
        """A container of fields: basic ones, then the advanced ones folded away."""
        fields = list(fields)
        basic = [self.field(f, (*path, f.key)) for f in fields if not f.advanced]
        advanced = [self.field(f, (*path, f.key)) for f in fields if f.advanced]
        parts = ['<div class="zc-fields">', *basic]
        if advanced:
            parts += ['<details class="zc-advanced"><summary>Advanced options</summary>', *advanced, "</details>"]
        parts.append("</div>")
        return "\n".join(parts)

    def field(self, field: Field, path: tuple[str, ...]) -> str:
        element = field.widget.element
        if element == "none":
            return ""
        ident = self._id(path)
        attributes: dict[str, Any] = {
            "class": "zc-field " + _FIELD_CLASS.get(element, "zc-scalar"),
            "data-key": field.key,
            "data-type": field.type,
            "data-widget": field.widget.name,
            "data-required": field.required,
            "data-default": json.dumps(field.default, ensure_ascii=False) if field.has_default else None,
            "data-condition": json.dumps(condition_ast(field.condition), ensure_ascii=False)
            if field.condition
            else None,
            "data-condition-source": field.condition,
        }
        if element in ("array", "object", "checkboxes"):
            return self._group(field, path, ident, attributes)
        control = self._control(field, ident)
        return "\n".join(
            [
                f"<div{_attributes(attributes)}>",
                f'<label class="zc-label" for="{ident}">{self._label(field)}</label>',
                control,
                self._notes(field, ident),
                "</div>",
            ]
        )

    def _group(self, field: Field, path: tuple[str, ...], ident: str, attributes: dict[str, Any]) -> str:
        element = field.widget.element
        parts = [
            f'<fieldset{_attributes(attributes)} id="{ident}">',
            f'<legend class="zc-label">{self._label(field)}</legend>',
        ]
        if element == "checkboxes":
            parts.append('<div class="zc-choices">')
            default = field.default if isinstance(field.default, list) else []
            for choice in field.options:
                checked = any(_same(choice.value, chosen) for chosen in default)
                box = _attributes({"type": "checkbox", "value": json.dumps(choice.value), "checked": checked})
                parts.append(f'<label class="zc-choice"><input{box}> {escape(choice.label)}</label>')
            parts.append("</div>")
        elif element == "object":
            parts.append(self.fields(field.fields, path))
        else:
            parts.append(self._array_body(field, path))
        parts.append(self._notes(field, ident))
        parts.append("</fieldset>")
        return "\n".join(parts)

    def _array_body(self, field: Field, path: tuple[str, ...]) -> str:
        item = field.item
        bounds = _attributes({"data-min-items": field.bounds.min_items, "data-max-items": field.bounds.max_items})
        template = self.field(item, (*path, "[]")) if item is not None else ""
        initial = json.dumps(field.default, ensure_ascii=False) if isinstance(field.default, list) else None
        return "\n".join(
            [
                f'<ol class="zc-items"{bounds}{_attributes({"data-initial": initial})}></ol>',
                '<template class="zc-item-template"><li class="zc-item">',
                f'<div class="zc-item-body">{template}</div>',
                '<button type="button" class="zc-remove" aria-label="Remove this item">Remove</button>',
                "</li></template>",
                '<button type="button" class="zc-add">Add item</button>',
            ]
        )

    def _control(self, field: Field, ident: str) -> str:
        widget = field.widget
        described = f"{ident}-notes"
        common: dict[str, Any] = {
            "id": ident,
            "class": "zc-input",
            "name": field.key or None,
            "aria-describedby": described,
        }
        if widget.element == "textarea":
            rows = dict(widget.rjsf_options).get("rows", 4)
            code = " zc-code" if widget.name == "code" else ""
            value = field.default if isinstance(field.default, str) else ""
            extra = {
                "rows": rows,
                "placeholder": self._placeholder(field),
                "minlength": field.bounds.min_length,
                "maxlength": field.bounds.max_length,
                "spellcheck": "false" if code else None,
            }
            return f"<textarea{_attributes({**common, 'class': 'zc-input' + code, **extra})}>{escape(value)}</textarea>"
        if widget.element == "select":
            return self._select(field, common)
        input_type = widget.input_type or "text"
        if field.open_options and field.type in ("INTEGER", "NUMBER"):
            input_type = "number"
        attributes: dict[str, Any] = {**common, "type": input_type, "placeholder": self._placeholder(field)}
        if input_type == "number":
            attributes.update(
                {
                    "step": "1" if field.type == "INTEGER" else "any",
                    "min": field.bounds.min_value,
                    "max": field.bounds.max_value,
                    "inputmode": "decimal",
                }
            )
        else:
            attributes.update({"minlength": field.bounds.min_length, "maxlength": field.bounds.max_length})
        if field.secret:
            attributes["autocomplete"] = "off"
        elif field.has_default and not isinstance(field.default, (dict, list)):
            attributes["value"] = _display(field.default)
        suggestions = ""
        if field.options:
            attributes["list"] = f"{ident}-options"
            choices = "".join(
                f"<option{_attributes({'value': _display(c.value), 'label': c.label})}></option>" for c in field.options
            )
            suggestions = f'<datalist id="{ident}-options">{choices}</datalist>'
        return f"<input{_attributes(attributes)}>{suggestions}"

    def _select(self, field: Field, common: dict[str, Any]) -> str:
        options = []
        if not field.has_default:
            prompt = "Choose…" if field.required else "(not set)"
            options.append(f'<option value="">{escape(prompt)}</option>')
        for choice in field.options:
            selected = field.has_default and _same(choice.value, field.default)
            attributes = {
                "value": json.dumps(choice.value, ensure_ascii=False),
                "selected": selected,
                "title": choice.description,
            }
            options.append(f"<option{_attributes(attributes)}>{escape(choice.label)}</option>")
        return f"<select{_attributes(common)}>{''.join(options)}</select>"

    def _placeholder(self, field: Field) -> str | None:
        if field.secret and field.key in self.secret_placeholders:
            return self.secret_placeholders[field.key]
        if field.placeholder:
            return field.placeholder
        return (
            _display(field.example)
            if field.example is not None and not isinstance(field.example, (dict, list))
            else None
        )

    def _label(self, field: Field) -> str:
        mark = ' <span class="zc-required" title="required">*</span>' if field.required else ""
        return f"{escape(field.label)}{mark}"

    def _notes(self, field: Field, ident: str) -> str:
        parts = [f'<div class="zc-notes" id="{ident}-notes">']
        if field.description:
            parts.append(f'<p class="zc-description">{escape(field.description)}</p>')
        hint = field_hint(field)
        if hint:
            parts.append(f'<p class="zc-hint">{escape(hint)}</p>')
        if field.secret and field.key in self.secret_placeholders:
            parts.append('<p class="zc-hint">Leave empty to use the value the server was started with.</p>')
        parts.append('<p class="zc-error" hidden></p></div>')
        return "".join(parts)

    def _id(self, path: tuple[str, ...]) -> str:
        return "-".join((self.prefix, *(p if p != "[]" else "item" for p in path if p)))


def _attributes(attributes: dict[str, Any]) -> str:
    """` key="value"` pairs, escaped; True gives a bare attribute, None and False none."""
    parts = []
    for key, value in attributes.items():
        if value is None or value is False:
            continue
        if value is True:
            parts.append(f" {key}")
        else:
            parts.append(f' {key}="{escape(str(value), quote=True)}"')
    return "".join(parts)


def _display(value: Any) -> str:
    """A default or example as an input shows it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)  # typed by the models: an INTEGER's default is an int, a NUMBER's as written


def _same(a: Any, b: Any) -> bool:
    return a == b and isinstance(a, bool) == isinstance(b, bool)
