"""The host's placeholder grammar: `${name}` / `{name}`, and `$${name}` / `{{name}}` for the text itself.

`core.textTemplate` fills placeholders by this grammar, and a property declared `template: true`
is read by it. A workflow that inserts text into such a property through `${...}` references
must insert it literally: a model's answer containing `{secret}` must not be filled in from the
template's values. `escape_placeholders` turns any text into a template that renders to exactly
that text, which the runner applies to every reference it inserts into a template.
"""

from __future__ import annotations

import re

PATH = r"[A-Za-z_][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+|\[[0-9]+\])*"
PLACEHOLDER = re.compile(
    rf"\$\$\{{(?P<dollar_literal>{PATH})\}}"
    rf"|\{{\{{(?P<brace_literal>{PATH})\}}\}}"
    rf"|\$\{{(?P<dollar>{PATH})\}}"
    rf"|\{{(?P<brace>{PATH})\}}"
)
"""One match per placeholder or literal form, leftmost first, as the renderer reads them."""


def escape_placeholders(text: str) -> str:
    """`text` written so that rendering it, with any values, gives `text` back unchanged.

    Each form the renderer would read is written one level more literal: `{p}` → `{{p}}`,
    `{{p}}` → `{{{p}}}`, `${p}` → `$${p}`, `$${p}` → `$$$${p}`. A property test proves
    `render(escape(t)) == t` for arbitrary text.
    """
    return PLACEHOLDER.sub(_escaped, text)


def _escaped(match: re.Match[str]) -> str:
    whole = match.group(0)
    if match.group("dollar_literal") is not None:
        return "$$" + whole
    if match.group("dollar") is not None:
        return "$" + whole
    return "{" + whole + "}"
