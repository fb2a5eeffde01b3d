"""How a component and its actions are called in Airflow: connection type, ids, class names.

One place decides every name, so the provider info, the generated classes and the docs agree.
"""

from __future__ import annotations

import re

from zhipu_connector.definition.models import Action, Component

MODULE = "zhipu_connector.adapters.airflow"
HOOKS_MODULE = f"{MODULE}.hooks"
OPERATORS_MODULE = f"{MODULE}.operators"
TRIGGERS_MODULE = f"{MODULE}.triggers"
BULK_MODULE = f"{MODULE}.bulk"


def pascal(key: str) -> str:
    """`createImage` → `CreateImage`, `text_template` → `TextTemplate`."""
    parts = [part for part in re.split(r"[_\-]+", key) if part]
    return "".join(part[:1].upper() + part[1:] for part in parts)


def connection_type(component: Component) -> str:
    """The connection type of a component: its name (`zhipu`)."""
    return component.name


def default_conn_id(component: Component) -> str:
    """The connection id a hook and its operators use unless told otherwise (`zhipu_default`)."""
    return f"{component.name}_default"


def hook_class_name(component: Component) -> str:
    return f"{pascal(component.name)}Hook"


def operator_class_name(component: Component, action: Action) -> str:
    """`ZhipuAskOperator`, `ZhipuCreateImageOperator`, `CoreLoggerOperator`."""
    return f"{pascal(component.name)}{pascal(action.name)}Operator"


def task_type(component: Component, action: Action) -> str:
    """The key of an action as the workflow files write it (`zhipu.ask`)."""
    return f"{component.name}.{action.name}"


def bulk_operator_class_name(component: Component, action: str, runner: str) -> str:
    """`ZhipuAskViaBatchApiOperator`: an action run over many rows through the bulk runner `runner`."""
    return f"{pascal(component.name)}{pascal(action)}Via{pascal(runner)}Operator"
