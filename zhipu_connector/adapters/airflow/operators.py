"""One Airflow operator per registered action, generated: `ZhipuAskOperator`, `ZhipuCreateImageOperator`, ...

Each operator's keyword arguments are its action's properties, with the same names and
defaults (its signature says so, which is also what `.partial().expand()` checks names
against); every input is a template field, so Jinja and `ti.xcom_pull` chain actions; the
action's output is the task's return value, which Airflow pushes to XCom. Literal inputs are
checked against the action's input schema when the DAG is parsed, so a typo fails the import
naming the task and the field instead of failing a run at 3 a.m.; templated inputs are
checked after rendering, by the host's dispatch, before anything is sent.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, ClassVar

from airflow.sdk import BaseOperator
from airflow.sdk.definitions.mappedoperator import OperatorPartial, validate_mapping_kwargs
from airflow.sdk.exceptions import AirflowFailException

from zhipu_connector.adapters.airflow import names
from zhipu_connector.adapters.airflow.connection_form import parse_text
from zhipu_connector.adapters.airflow.errors import airflow_error
from zhipu_connector.adapters.airflow.hooks import ConnectorHook, hook_for
from zhipu_connector.adapters.airflow.triggers import DONE, ActionPollTrigger, field_value, matches
from zhipu_connector.definition.models import Action, Component, Property
from zhipu_connector.host.context import ActionContext
from zhipu_connector.host.errors import ConnectorError, InputValidationError, Problem
from zhipu_connector.host.host import default_host
from zhipu_connector.host.registry import BoundAction

_TEXT_TYPES = frozenset({"STRING", "DATE", "DATE_TIME", "TIME"})
_RESERVED = frozenset(set(dir(BaseOperator)) | set(inspect.signature(BaseOperator.__init__).parameters))
"""Names an input's attribute may not take: BaseOperator's own attributes and arguments."""


class TaskInputsError(InputValidationError):
    """A task's literal inputs break its action's property table; found when the DAG is parsed."""


def attribute_name(name: str) -> str:
    """The operator attribute (and template field) holding input `name`: the name itself,
    or `<name>_value` where BaseOperator already uses the name (Ask's `output`)."""
    return f"{name}_value" if name in _RESERVED else name


def is_literal(value: Any) -> bool:
    """Whether `value` is known when the DAG is parsed: no Jinja, no XCom reference inside."""
    if isinstance(value, str):
        return "{{" not in value and "{%" not in value
    if value is None or isinstance(value, (bool, int, float)):
        return True
    if isinstance(value, (list, tuple)):
        return all(is_literal(item) for item in value)
    if isinstance(value, Mapping):
        return all(isinstance(key, str) and is_literal(item) for key, item in value.items())
    return False  # an XComArg, a template object, anything Airflow resolves later


def typed_input(prop: Property, value: Any) -> Any:
    """A rendered value as the property's type: Jinja renders to text, so `"512"` is read as 512
    for an INTEGER, and a rendered list or object is read back from its JSON or Python form."""
    if prop.type in _TEXT_TYPES or not isinstance(value, str):
        return value
    return parse_text(value)


def _top_level(location: str) -> str:
    return re.split(r"[.\[]", location, maxsplit=1)[0]


class ActionOperator(BaseOperator):
    """Runs one action of one component through the host; generated subclasses fix which."""

    component_name: ClassVar[str]
    action_name: ClassVar[str]
    input_names: ClassVar[tuple[str, ...]] = ()
    template_fields: Sequence[str] = ()
    ui_color = "#e8f0fe"

    def __init__(
        self,
        *,
        conn_id: str | None = None,
        deferrable: bool = False,
        poll_while: Mapping[str, Sequence[Any]] | None = None,
        poll_interval: float = 10.0,
        poll_timeout: timedelta | float | None = None,
        fail_when: Mapping[str, Sequence[Any]] | None = None,
        **kwargs: Any,
    ) -> None:
        given = {name: kwargs.pop(name) for name in self.input_names if name in kwargs}
        super().__init__(**kwargs)
        self.conn_id = conn_id if conn_id is not None else self._hook_class().default_conn_name
        if deferrable and not poll_while:
            raise TypeError(
                f"task {self.task_id!r}: deferrable=True needs poll_while, the output fields and values that "
                "mean 'still working' (for example {'task_status': ['PROCESSING']})"
            )
        if poll_interval <= 0:
            raise TypeError(f"task {self.task_id!r}: poll_interval must be a positive number of seconds")
        self.deferrable = deferrable
        self.poll_while = {key: list(values) for key, values in (poll_while or {}).items()}
        self.poll_interval = poll_interval
        self.poll_timeout = poll_timeout
        self.fail_when = {key: list(values) for key, values in (fail_when or {}).items()}
        for name in self.input_names:
            setattr(self, attribute_name(name), given.get(name))
        if not getattr(self, "_BaseOperator__from_mapped", False):
            check_literal_inputs(self.task_id, self.bound(), given)

    @classmethod
    def partial(cls, **kwargs: Any) -> OperatorPartial:
        """`Operator.partial(...)`, its literal inputs checked now, and the `.expand()` it returns checks its own.

        A mapped task is never instantiated while the DAG is parsed (Airflow builds one per map
        index at run time), so `__init__`'s check would come too late; this is the same check,
        at `partial` for the inputs given there and at `expand` for the literal lists mapped.
        """
        made = super().partial(**kwargs)
        made._expand_called = True  # replaced by the checking copy below, which warns if never mapped
        given = {name: value for name, value in kwargs.items() if name in cls.input_names}
        check_literal_inputs(str(kwargs.get("task_id")), cls.bound(), given, complete=False)
        return CheckedPartial(operator_class=made.operator_class, kwargs=made.kwargs, params=made.params)

    @classmethod
    def bound(cls) -> BoundAction:
        return default_host().action(cls.component_name, cls.action_name)

    @classmethod
    def _hook_class(cls) -> type[ConnectorHook]:
        return hook_for(cls.component_name)

    def inputs(self) -> dict[str, Any]:
        """The action's inputs as rendered for this run; inputs left unset are not sent."""
        action = self.bound().action
        values: dict[str, Any] = {}
        for prop in action.properties:
            value = getattr(self, attribute_name(prop.name), None)
            if value is not None:
                values[prop.name] = typed_input(prop, value)
        return values

    def hook(self) -> ConnectorHook:
        return self._hook_class()(conn_id=self.conn_id)

    def execute(self, context: Any) -> Any:
        if self.deferrable:
            self._defer()
        key = f"{self.component_name}.{self.action_name}"
        action_context = ActionContext(self.component_name, self.action_name)
        self.log.info("%s: request id %s", key, action_context.request_id)
        try:
            result = self.hook().run(self.action_name, self.inputs(), context=action_context)
        except ConnectorError as error:
            raise airflow_error(error, task=self.task_id) from error
        for warning in action_context.warnings:
            self.log.warning("%s: %s", key, warning)
        return self._checked(result)

    def _checked(self, output: Any) -> Any:
        """The output, unless `fail_when` says it reports a failure: then a final one."""
        if self.fail_when and matches(output, self.fail_when):
            raise AirflowFailException(
                f"{self.task_id}: {self.component_name}.{self.action_name} reported a failure ({_shown(output, self.fail_when)}; "
                "final: not retried)"
            )
        return output

    def _defer(self) -> None:
        """Hand the wait to the triggerer: it polls this action until the answer stops saying "working"."""
        inputs = self.inputs()
        check_literal_inputs(self.task_id, self.bound(), inputs)
        trigger = ActionPollTrigger(
            component=self.component_name,
            action=self.action_name,
            inputs=inputs,
            conn_id=self.conn_id,
            poll_while=self.poll_while,
            poll_interval=self.poll_interval,
        )
        timeout = self.poll_timeout
        if isinstance(timeout, (int, float)):
            timeout = timedelta(seconds=timeout)
        self.defer(trigger=trigger, method_name="execute_complete", timeout=timeout)

    def execute_complete(self, context: Any, event: Mapping[str, Any]) -> Any:
        """Back from the triggerer: the final answer to XCom, or its failure in Airflow's terms."""
        if event.get("status") == DONE:
            self.log.info("%s.%s: done after %s poll(s)", self.component_name, self.action_name, event.get("polls"))
            return self._checked(event.get("output"))
        message = f"{self.task_id}: {event.get('error')}: {event.get('message')}"
        if event.get("retryable"):
            raise PollFailedError(message)

        raise AirflowFailException(f"{message} (final: not retried)")


class PollFailedError(ConnectorError):
    """A transient failure while the triggerer polled; raised so that the task's retries apply."""

    retryable = True


def _shown(output: Any, fields: Mapping[str, Sequence[Any]]) -> str:
    return ", ".join(f"{path} = {field_value(output, path)!r}" for path in fields)


def check_literal_inputs(
    task_id: str,
    bound: BoundAction,
    given: Mapping[str, Any],
    *,
    complete: bool = True,
    pending: frozenset[str] = frozenset(),
    item: str = "",
) -> None:
    """Refuse literal inputs the action's schema rejects; templated ones wait for the run.

    Every problem is reported at once; a problem about an input that is templated (or lies
    inside one), or named in `pending` (mapped from an XCom), is left for the check after
    rendering, which sees the real value. With `complete=False` (a `.partial()`, whose other
    inputs come from `.expand()`) only the inputs given are judged, so none is missing yet.
    `item` says which mapped value is judged (`item 2 of userPrompt`).
    """
    by_name = {prop.name: prop for prop in bound.action.properties}
    literal = {name: typed_input(by_name[name], value) for name, value in given.items() if is_literal(value)}
    literal = {name: value for name, value in literal.items() if value is not None}
    if bound.inputs.is_valid(literal):
        return
    waiting = (set(given) - set(literal)) | pending
    problems = [p for p in bound.inputs.problems(literal) if _top_level(p.location) not in waiting]
    if not complete:
        problems = [p for p in problems if _top_level(p.location) in literal]
    if problems:
        subject = f"task {task_id!r} ({bound.key}{', ' + item if item else ''})"
        raise TaskInputsError([Problem(p.location, p.message) for p in problems], subject=subject)


class CheckedPartial(OperatorPartial):
    """What a generated operator's `.partial()` returns: `.expand()` checks each literal mapped value.

    A plain subclass of Airflow's attrs class: its fields and `__init__` are inherited unchanged.
    """

    def expand(self, **mapped_kwargs: Any) -> Any:
        operator_class = self.operator_class
        assert issubclass(operator_class, ActionOperator)
        self._expand_called = True  # a refusal below fails the import; no "never mapped" warning on top
        validate_mapping_kwargs(operator_class, "expand", mapped_kwargs)  # Airflow's own check of the names first
        inputs = operator_class.input_names
        fixed = {name: value for name, value in self.kwargs.items() if name in inputs}
        mapped = {name: value for name, value in mapped_kwargs.items() if name in inputs}
        task_id = str(self.kwargs.get("task_id"))
        bound = operator_class.bound()
        lists = {name: value for name, value in mapped.items() if isinstance(value, (list, tuple))}
        later = frozenset(set(mapped) - set(lists))  # an XCom's list: judged when each task is built
        if not lists:
            check_literal_inputs(task_id, bound, fixed, pending=later)
        for name, values in lists.items():
            for index, value in enumerate(values):
                check_literal_inputs(
                    task_id,
                    bound,
                    {**fixed, name: value},
                    pending=frozenset(set(mapped) - {name}),
                    item=f"item {index} of {name}",
                )
        return super().expand(**mapped_kwargs)


def _signature(action: Action) -> inspect.Signature:
    """`__init__`'s signature: the action's properties as keyword-only arguments with their defaults."""
    parameters = [
        inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD),
        inspect.Parameter("conn_id", inspect.Parameter.KEYWORD_ONLY, default=None, annotation="str | None"),
    ]
    for prop in action.properties:
        if prop.hidden:
            continue
        parameters.append(
            inspect.Parameter(
                prop.name, inspect.Parameter.KEYWORD_ONLY, default=prop.default_value if prop.has_default else None
            )
        )
    parameters.append(inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD))
    return inspect.Signature(parameters)


def _docstring(component: Component, action: Action) -> str:
    lines = [f"{component.title}: {action.title}. {action.description or ''}".strip(), ""]
    lines.append(f"Runs `{names.task_type(component, action)}` through the zhipu-connector host; returns its output.")
    lines.append("")
    lines.append(f":param conn_id: the {component.title} connection (default `{names.default_conn_id(component)}`)")
    for prop in action.properties:
        if prop.hidden:
            continue
        default = f" (default {prop.default_value!r})" if prop.has_default else ""
        required = " Required." if prop.required and not prop.display_condition else ""
        lines.append(f":param {prop.name}: {prop.title}{default}.{required} {prop.description or ''}".rstrip())
    return "\n".join(lines)


def operator_class(component: Component, action: Action) -> type[ActionOperator]:
    """The generated operator class of one action."""
    inputs = tuple(prop.name for prop in action.properties if not prop.hidden)

    def __init__(self: ActionOperator, *, conn_id: str | None = None, **kwargs: Any) -> None:
        ActionOperator.__init__(self, conn_id=conn_id, **kwargs)

    __init__.__signature__ = _signature(action)  # type: ignore[attr-defined]
    __init__.__doc__ = _docstring(component, action)
    renderers = {attribute_name(prop.name): "json" for prop in action.properties if prop.type in ("ARRAY", "OBJECT")}
    return type(
        names.operator_class_name(component, action),
        (ActionOperator,),
        {
            "__module__": names.OPERATORS_MODULE,
            "__doc__": _docstring(component, action),
            "__init__": __init__,
            "component_name": component.name,
            "action_name": action.name,
            "input_names": inputs,
            "template_fields": tuple(attribute_name(name) for name in inputs),
            "template_fields_renderers": renderers,
        },
    )


def _generate() -> dict[str, type[ActionOperator]]:
    return {
        names.operator_class_name(component, action): operator_class(component, action)
        for component in default_host().components
        for action in component.actions
    }


OPERATORS: dict[str, type[ActionOperator]] = _generate()
"""Every generated operator class by name; each is also a module attribute (`operators.ZhipuAskOperator`)."""
globals().update(OPERATORS)


def __getattr__(name: str) -> Any:  # for type checkers: generated names are Any
    raise AttributeError(f"module {__name__!r} has no attribute {name!r} (generated operators: {', '.join(OPERATORS)})")
