"""The component's reference page, in the exact layout of the platform's generated docs.

The page is derived from the definition alone; `docs/reference/zhipu.md` is its checked-in
copy, and a test fails when the two drift apart. The blank-line rhythm below is the
platform's own and is kept on purpose, so pages from both sources diff cleanly.
"""

from __future__ import annotations

import html
import json
import re

from zhipu_connector.definition.models import Action, Component, Property

_TABLE_HEAD = (
    "|      Name      |     Type     |     Control Type     |     Description     |\n"
    "|:--------------:|:------------:|:--------------------:|:-------------------:|\n"
)
_OUTPUT_TABLE_HEAD = "|     Type     |     Control Type     |\n|:------------:|:--------------------:|\n"


def reference_page(component: Component) -> str:
    """The whole Markdown page for `component`."""
    parts = [_front_matter(component), _reference(component)]
    if component.connection:
        parts.append(_connections(component))
    parts.append(_actions(component))
    return "".join(parts)


_CODE_SPAN = re.compile(r"(`+)(.+?)\1", re.DOTALL)


def text(value: str | None) -> str:
    """Definition text made safe for the page: no raw HTML, no table-breaking `|`.

    A definition may come from a third-party plugin, and a reference page is often published;
    `<script>` written in a description must show as text, not run. Code spans are kept as
    written, since Markdown shows their content literally anyway.
    """
    if not value:
        return ""
    pieces, end = [], 0
    for span in _CODE_SPAN.finditer(value):
        pieces.append(_escaped(value[end : span.start()]))
        pieces.append(span.group(0).replace("|", "\\|"))
        end = span.end()
    pieces.append(_escaped(value[end:]))
    return "".join(pieces)


def _escaped(plain: str) -> str:
    return html.escape(plain, quote=False).replace("|", "\\|")


def type_notation(prop: Property) -> str:
    """`STRING`, `[STRING]`, `{STRING\\(a), NUMBER\\(b)}`, `[{STRING\\(content), STRING\\(role)}]`."""
    if prop.type == "ARRAY" and prop.items is not None:
        return f"[{type_notation(prop.items)}]"
    if prop.type == "OBJECT" and prop.properties:
        return "{" + ", ".join(f"{type_notation(child)}\\({child.name})" for child in prop.properties) + "}"
    return prop.type


def _front_matter(component: Component) -> str:
    title, description = (
        json.dumps(text(component.title), ensure_ascii=False),
        json.dumps(text(component.description), ensure_ascii=False),
    )
    return f"---\ntitle: {title}\ndescription: {description}\n---\n"


def _reference(component: Component) -> str:
    categories = ", ".join(text(category) for category in component.categories)
    return (
        f"## Reference\n<hr />\n\n{text(component.description)}\n\n\n"
        f"Categories: [{categories}]\n\n\nVersion: {component.version}\n\n<hr />\n\n\n\n"
    )


def _connections(component: Component) -> str:
    assert component.connection is not None
    page = f"## Connections\n\nVersion: {component.connection.version}\n\n\n"
    for auth in component.connection.authorizations:
        page += f"### {text(auth.title)}\n\n#### Properties\n\n{_TABLE_HEAD}{_rows(auth.properties)}"
    return page + "\n\n\n\n\n<hr />\n\n\n\n\n\n"


def _actions(component: Component) -> str:
    return "## Actions\n\n\n" + "".join(_action(action) for action in component.actions)


def _action(action: Action) -> str:
    page = f"### {text(action.title)}\n{text(action.description)}\n\n"
    if action.properties:
        page += f"#### Properties\n\n{_TABLE_HEAD}{_rows(action.properties)}"
    page += "\n\n" + _output("Output", action.output)
    for case in action.output_when:  # outputs chosen by the inputs: the default one is above
        page += _output(f"Output when {text('`' + case.condition + '`')}", case.output)
    return page


def _output(heading: str, output: Property) -> str:
    page = f"### {heading}\n\n\n\nType: {output.type}\n"
    if output.type == "OBJECT" and output.properties:
        rows = "".join(f"| {type_notation(p)} | {p.control}  |\n" for p in output.properties)
        return page + f"\n\n#### Properties\n\n{_OUTPUT_TABLE_HEAD}{rows}\n\n\n\n\n\n"
    return page + "\n\n\n\n\n\n\n"


def _rows(properties: tuple[Property, ...]) -> str:
    return "".join(_row(prop) for prop in properties if not prop.hidden)


def _row(prop: Property) -> str:
    description = f"  {text(prop.description)}  " if prop.description else "  "
    return f"| {text(prop.title)} | {type_notation(prop)} | {prop.control}  |{description}|\n"
