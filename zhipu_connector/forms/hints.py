"""One sentence per field saying what it accepts, shown under the input before anything is sent.

Both renderers use it (`ui:help` and the page's help line), so a person reads the same rule
the server will enforce, in the same words.
"""

from __future__ import annotations

from zhipu_connector.forms.tree import Field


def field_hint(field: Field) -> str | None:
    """What `field` accepts (ranges, lengths, item counts, pattern), or None when anything goes."""
    bounds = field.bounds
    parts = [
        _range(bounds.min_value, bounds.max_value, "", "From {low} to {high}", "At least {low}", "At most {high}"),
        _range(
            bounds.min_length,
            bounds.max_length,
            "character",
            "{low} to {high} {unit}s",
            "At least {low} {unit}",
            "At most {high} {unit}",
        ),
        _range(
            bounds.min_items,
            bounds.max_items,
            "item",
            "{low} to {high} {unit}s",
            "At least {low} {unit}",
            "At most {high} {unit}",
        ),
    ]
    if field.pattern:
        parts.append(f"Must match {field.pattern}")
    if field.open_options:
        parts.append("Pick a suggestion or type your own")
    text = ". ".join(part for part in parts if part)
    return f"{text}." if text else None


def _range(
    low: int | float | None, high: int | float | None, unit: str, both: str, only_low: str, only_high: str
) -> str:
    if low is None and high is None:
        return ""
    shown = {"low": "" if low is None else low, "high": "" if high is None else high, "unit": unit}
    if low is not None and high is not None:
        return both.format(**shown)
    text = (only_low if low is not None else only_high).format(**shown)
    count = low if low is not None else high
    return text + "s" if unit and count != 1 else text
