"""The checked-in reference page is what the definition generates, and differs from the
original platform page only where docs/compatibility.md names a deliberate fix."""

from __future__ import annotations

from pathlib import Path

from zhipu_connector.docgen import reference_page

ROOT = Path(__file__).resolve().parents[1]
ORIGINAL = ROOT.parent / "shared" / "reference" / "zhipu-component-reference.md"
CHECKED_IN = ROOT / "docs" / "reference" / "zhipu.md"
COMPATIBILITY = ROOT / "docs" / "compatibility.md"


def test_the_checked_in_reference_page_is_up_to_date(zhipu_component):
    assert CHECKED_IN.read_text(encoding="utf-8") == reference_page(zhipu_component), (
        "docs/reference/zhipu.md is out of date: run `make docs`"
    )


def table_rows(text: str) -> list[str]:
    return [
        line
        for line in text.splitlines()
        if line.startswith("| ") and not line.startswith("|      Name") and not line.startswith("|     Type")
    ]


def test_every_original_row_is_kept_or_its_change_is_documented(zhipu_component):
    if not ORIGINAL.exists():  # the platform page travels beside the repository, not inside it
        import pytest

        pytest.skip("the original reference page is not beside this checkout")
    generated = set(table_rows(reference_page(zhipu_component)))
    compatibility = COMPATIBILITY.read_text(encoding="utf-8")
    for row in table_rows(ORIGINAL.read_text(encoding="utf-8")):
        assert row in generated or row in compatibility, f"row changed without a note in docs/compatibility.md: {row}"


def test_the_page_layout_matches_the_platform(zhipu_component):
    page = reference_page(zhipu_component)
    for heading in (
        "## Reference",
        "## Connections",
        "## Actions",
        "### Ask",
        "### Create image",
        "### Output",
        "Type: STRING",
        "Type: OBJECT",
    ):
        assert heading in page
    assert (
        "| Messages | [{STRING\\(content), STRING\\(role), [{STRING\\(type), STRING\\(text), STRING\\(url)}]\\(parts), STRING\\(toolCallId),"
        in page
    )


BYTECHEF = ROOT.parent / "shared" / "reference" / "bytechef-zhipu_v1.json"
_FIELDS = {
    "label",
    "description",
    "type",
    "controlType",
    "required",
    "defaultValue",
    "exampleValue",
    "placeholder",
    "advancedOption",
    "hidden",
    "options",
    "minValue",
    "maxValue",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "items",
    "properties",
    "displayCondition",
}


def _from_bytechef_property(prop: dict) -> dict:
    """One ByteChef property in this project's format (nulls dropped, lists keyed by name)."""
    result = {key: value for key, value in prop.items() if key in _FIELDS and value is not None}
    if "items" in result:
        result["items"] = _from_bytechef_property(result["items"][0])
    if "properties" in result:
        result["properties"] = {p["name"]: _from_bytechef_property(p) for p in result["properties"]}
    if "options" in result:
        result["options"] = [{k: v for k, v in option.items() if v is not None} for option in result["options"]]
    return result


def test_the_generator_reproduces_the_platform_page_from_the_platform_definition():
    """Same input as the platform's generator, same page, byte for byte."""
    import json

    import pytest

    from zhipu_connector.definition.loader import parse_component

    if not (BYTECHEF.exists() and ORIGINAL.exists()):
        pytest.skip("the platform's files are not beside this checkout")
    source = json.loads(BYTECHEF.read_text(encoding="utf-8"))
    document = {
        "name": source["name"],
        "title": source["title"],
        "description": source["description"],
        "categories": [c["key"] for c in source["categories"]],
        "version": source["version"],
        "connection": {
            "version": source["connection"]["version"],
            "authorizations": {
                auth["name"]: {
                    "title": auth["title"],
                    "type": auth["type"],
                    "properties": {p["name"]: _from_bytechef_property(p) for p in auth["properties"]},
                }
                for auth in source["connection"]["authorizations"]
            },
        },
        "actions": {
            action["name"]: {
                "title": action["title"],
                "description": action["description"],
                "properties": {p["name"]: _from_bytechef_property(p) for p in action["properties"]},
                "output": _from_bytechef_property(action["outputResponse"]["outputSchema"]),
            }
            for action in source["actions"]
        },
    }
    page = reference_page(parse_component(json.dumps(document)))
    assert page == ORIGINAL.read_text(encoding="utf-8")


def test_definition_text_reaches_the_page_as_text_not_html():
    """A third-party definition's `<script>` must not run where the page is published."""
    import json

    from zhipu_connector.definition.loader import parse_component

    document = {
        "name": "hostile",
        "title": "Hostile <b>title</b>",
        "description": 'Says "<script>alert(1)</script>" & more',
        "version": 1,
        "actions": {
            "act": {
                "title": "Act",
                "description": "Run `<script>` | pipe",
                "properties": {
                    "field": {
                        "label": "Field <img src=x onerror=alert(1)>",
                        "description": "a | b",
                        "type": "STRING",
                        "controlType": "TEXT",
                    }
                },
                "output": {"type": "STRING", "controlType": "TEXT"},
            }
        },
    }
    page = reference_page(parse_component(json.dumps(document)))
    assert "<script>alert" not in page and "<img" not in page and "<b>" not in page
    assert 'Says "&lt;script&gt;alert(1)&lt;/script&gt;" &amp; more' in page
    assert 'description: "Says \\"&lt;script&gt;' in page  # the front matter stays valid YAML
    assert "Run `<script>` \\| pipe" in page  # a code span is shown literally by Markdown itself
    assert "| Field &lt;img src=x onerror=alert(1)&gt; | STRING | TEXT  |  a \\| b  |" in page


def test_definition_text_reaches_the_form_page_as_text_not_html():
    """The form page escapes the same hostile text the reference page does."""
    import json

    from zhipu_connector.definition.loader import parse_component
    from zhipu_connector.forms.html import page

    document = {
        "name": "hostile",
        "title": "Hostile <b>title</b>",
        "description": "<script>alert(1)</script>",
        "version": 1,
        "actions": {
            "act": {
                "title": "Act <img src=x onerror=alert(1)>",
                "description": "</p><script>alert(2)</script>",
                "properties": {
                    "field": {
                        "label": '"><script>alert(3)</script>',
                        "description": "<iframe src=javascript:alert(4)>",
                        "placeholder": '" autofocus onfocus="alert(5)',
                        "type": "STRING",
                        "controlType": "TEXT",
                    }
                },
                "output": {"type": "STRING", "controlType": "TEXT"},
            }
        },
    }
    html = page([parse_component(json.dumps(document))], api="/api")
    for hostile in ("<script>alert", "<img src=x", "<iframe", "<b>title", 'onfocus="alert'):
        assert hostile not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
