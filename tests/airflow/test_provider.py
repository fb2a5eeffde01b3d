"""The provider as Airflow discovers it: provider info, connection types, their generated forms."""

from __future__ import annotations

import json
from importlib import metadata, resources

import pytest
from airflow_support import SKIP_REASON

pytest.importorskip("airflow.sdk", reason=SKIP_REASON)

from zhipu_connector.host.host import default_host


@pytest.fixture(scope="module")
def providers():
    from airflow.providers_manager import ProvidersManager

    return ProvidersManager()


def connection_schema(component: str) -> dict:
    """The connection schema dispatch checks values against, derived from the definition."""
    definition = default_host().component(component)
    (auth,) = definition.connection.authorizations
    return definition.derived_schemas()["connections"][auth.name]


def test_the_entry_point_gives_provider_info_that_validates_against_airflows_schema():
    from jsonschema import Draft7Validator

    (entry,) = [e for e in metadata.entry_points(group="apache_airflow_provider") if e.value.startswith("zhipu_")]
    info = entry.load()()
    schema = json.loads((resources.files("airflow") / "provider_info.schema.json").read_text())
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in Draft7Validator(schema).iter_errors(info)]
    assert errors == []
    assert info["package-name"] == "zhipu-connector" == entry.dist.name
    registered = {component.title for component in default_host().components}
    assert {i["integration-name"] for i in info["integrations"]} == registered >= {"ZhiPu AI", "Core", "Waiter"}
    assert {c["connection-type"] for c in info["connection-types"]} == {"zhipu", "waiter"}  # core has no connection


@pytest.mark.filterwarnings(
    "ignore:ProvidersManager.hooks is deprecated"
)  # moving to the task SDK's manager; same data
def test_airflow_knows_each_connection_type_and_its_hook(providers):
    hooks = providers.hooks
    assert hooks["zhipu"].hook_class_name == "zhipu_connector.adapters.airflow.hooks.ZhipuHook"
    assert hooks["zhipu"].connection_id_attribute_name == "conn_id"
    assert hooks["zhipu"].hook_name == "ZhiPu AI"
    assert hooks["zhipu"].connection_testable  # the UI's Test button and `airflow connections test`
    assert hooks["waiter"].hook_class_name.endswith(".WaiterHook")


@pytest.mark.parametrize("component", ["zhipu", "waiter"])
def test_the_connection_form_fields_are_the_derived_connection_schema(providers, component):
    definition = default_host().component(component)
    derived = connection_schema(component)
    (auth,) = definition.connection.authorizations
    secret = next(p for p in auth.properties if p.secret)  # the first: Airflow's own password field
    widgets = {
        name.removeprefix(f"extra__{component}__"): widget
        for name, widget in providers.connection_form_widgets.items()
        if name.startswith(f"extra__{component}__")
    }
    assert set(widgets) == set(derived["properties"]) - {secret.name}
    for name, widget in widgets.items():
        prop = auth.properties[[p.name for p in auth.properties].index(name)]
        field, expected = widget.field["schema"], derived["properties"][name]
        nullable = name not in derived.get("required", ())
        for keyword, value in expected.items():
            if keyword == "type":
                assert field["type"] == ([value, "null"] if nullable else value), name
            elif keyword == "enum":
                assert field["enum"] == [*value, None] if nullable else value, name
            else:
                assert field[keyword] == value, (name, keyword)
        assert field["title"] == prop.label
        assert widget.field["description"] == prop.description
        assert widget.field["value"] == prop.default_value
        if prop.options:
            labels = {str(o.value): o.label for o in prop.options}
            assert field["values_display"] == ({**labels, "null": "(not set)"} if nullable else labels)
        assert widget.is_sensitive is prop.secret  # a second secret is masked like Airflow's password
    behaviour = providers.field_behaviours[component]
    assert behaviour["relabeling"] == {"password": secret.label}
    assert set(behaviour["hidden_fields"]) == {"host", "schema", "login", "port", "extra"}


def test_the_zhipu_token_field_shows_its_placeholder(providers):
    (auth,) = default_host().component("zhipu").connection.authorizations
    token = next(p for p in auth.properties if p.secret)
    assert providers.field_behaviours["zhipu"]["placeholders"] == {"password": token.placeholder}
