"""An action's input schema as DAG `params`, so Airflow's "Trigger DAG" form is the action's form.

Each visible property becomes one `Param` whose JSON Schema is the property's derived schema
(label as title, description, options with their labels as `values_display`, ranges,
default), advanced properties grouped under their own section. `param_inputs` gives the
operator arguments that read those params back, so a DAG is two lines:

    with DAG("ask_form", params=dag_params("zhipu", "ask"), render_template_as_native_obj=True):
        ZhipuAskOperator(task_id="ask", **param_inputs("zhipu", "ask"))
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import Param

from zhipu_connector.adapters.airflow.connection_form import option_labels
from zhipu_connector.definition.models import Property
from zhipu_connector.host.host import default_host

ADVANCED_SECTION = "Advanced options"


def param_schema(prop: Property, schema: dict[str, Any]) -> dict[str, Any]:
    """A property's derived schema as a `Param`'s: nullable unless always required, options labelled."""
    schema = dict(schema)
    schema.pop("default", None)  # the Param's value, given separately
    nullable = not (prop.required and not prop.display_condition)
    if nullable:
        schema["type"] = [schema["type"], "null"]
        if "enum" in schema:
            schema["enum"] = [*schema["enum"], None]
    if prop.options:
        schema["values_display"] = option_labels(prop, nullable=nullable)
    if prop.advanced_option:
        schema["section"] = ADVANCED_SECTION
    return schema


def _start_value(prop: Property) -> Any:
    """What the form shows first: the default, else the example of an always-required property."""
    if prop.has_default:
        return prop.default_value
    if prop.required and not prop.display_condition:
        return prop.example_value
    return None


def dag_params(component: str, action: str) -> dict[str, Param]:
    """One `Param` per visible input of `component.action`, in the definition's order."""
    bound = default_host().action(component, action)
    schemas = bound.input_schema["properties"]
    return {
        prop.name: Param(_start_value(prop), **param_schema(prop, schemas[prop.name]))
        for prop in bound.action.properties
        if not prop.hidden
    }


def param_inputs(component: str, action: str) -> dict[str, str]:
    """Operator keyword arguments that take every input from the params of the same name."""
    bound = default_host().action(component, action)
    return {prop.name: f"{{{{ params[{prop.name!r}] }}}}" for prop in bound.action.properties if not prop.hidden}
