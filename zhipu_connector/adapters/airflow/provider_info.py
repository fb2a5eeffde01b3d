"""`get_provider_info()`: what Airflow learns about the provider, built from the registered components.

Airflow calls it through the `apache_airflow_provider` entry point when it discovers providers,
and validates the result against the `provider_info.schema.json` it ships. Every component the
host has registered (zhipu, core, any installed connector plugin) is an integration; each one
with a connection is a connection type whose form is generated (see `connection_form`). This
module imports no Airflow, so discovery costs only the host's own start.
"""

from __future__ import annotations

from importlib import metadata
from typing import Any

from zhipu_connector import __version__
from zhipu_connector.adapters.airflow import connection_form, names
from zhipu_connector.definition.models import Component
from zhipu_connector.host.host import default_host

DISTRIBUTION = "zhipu-connector"


def get_provider_info(components: tuple[Component, ...] | None = None) -> dict[str, Any]:
    """The provider info for `components`, by default every component of the process's host."""
    if components is None:
        components = default_host().components
    integrations = [integration_name(component) for component in components]
    info: dict[str, Any] = {
        "package-name": DISTRIBUTION,
        "name": "Zhipu connector",
        "description": (
            "Operators, hooks, triggers and connection types for every component the zhipu-connector host "
            "has registered: " + ", ".join(integrations) + "."
        ),
        "versions": [_version()],
        "integrations": [
            {
                "integration-name": integration_name(component),
                "external-doc-url": "https://open.bigmodel.cn/dev/api" if component.name == "zhipu" else None,
                "tags": list(component.categories) or ["software"],
            }
            for component in components
        ],
        "operators": [
            {"integration-name": name, "python-modules": [names.OPERATORS_MODULE, names.BULK_MODULE]}
            for name in integrations
        ],
        "hooks": [{"integration-name": name, "python-modules": [names.HOOKS_MODULE]} for name in integrations],
        "triggers": [
            {"integration-name": name, "python-modules": [names.TRIGGERS_MODULE, names.BULK_MODULE]}
            for name in integrations
        ],
        "connection-types": [connection_type(component) for component in components if component.connection],
    }
    for integration in info["integrations"]:
        if integration["external-doc-url"] is None:
            del integration["external-doc-url"]
    return info


def integration_name(component: Component) -> str:
    """What Airflow's provider pages call a component: its title (`ZhiPu AI`)."""
    return component.title


def connection_type(component: Component) -> dict[str, Any]:
    """One `connection-types` entry: the hook that serves it and its generated form."""
    return {
        "connection-type": names.connection_type(component),
        "hook-class-name": f"{names.HOOKS_MODULE}.{names.hook_class_name(component)}",
        "hook-name": component.title,
        "conn-fields": connection_form.conn_fields(component),
        "ui-field-behaviour": connection_form.ui_field_behaviour(component),
    }


def _version() -> str:
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:  # a source tree on sys.path, not installed
        return __version__
