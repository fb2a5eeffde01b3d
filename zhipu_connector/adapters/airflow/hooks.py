"""One Airflow hook per registered component, generated: `ZhipuHook`, `CoreHook`, ...

A hook turns an Airflow connection of the component's type into the host's checked
`Connection` (the secret from the password field, the rest from the generated form's extra
fields) and runs the component's actions through the host, sync or async. Airflow's secrets
masker learns the secret the moment the hook reads it, and the project's own scrubbing filter
guards the package's log records, so a token reaches no task log by either path.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any, ClassVar

from airflow.sdk import BaseHook
from airflow.sdk.log import mask_secret

from zhipu_connector.adapters.airflow import connection_form, names
from zhipu_connector.definition.models import Component
from zhipu_connector.host.connection import Connection
from zhipu_connector.host.context import ActionContext
from zhipu_connector.host.errors import ConnectorError
from zhipu_connector.host.host import Host, default_host
from zhipu_connector.host.secrets import scrub


def _guard_package_logs() -> None:
    """Mask registered secrets in every record of the package's loggers, once per process."""
    from zhipu_connector.host.log_filter import ScrubbingFilter

    logger = logging.getLogger("zhipu_connector")
    if not any(isinstance(f, ScrubbingFilter) for f in logger.filters):
        logger.addFilter(ScrubbingFilter())


class ConnectorHook(BaseHook):
    """The hook of one component; subclasses name the component (see `hook_class`)."""

    component_name: ClassVar[str]
    conn_name_attr = "conn_id"
    default_conn_name: ClassVar[str]
    conn_type: ClassVar[str]
    hook_name: ClassVar[str]

    def __init__(self, conn_id: str | None = None, *, host: Host | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.host = host or default_host()
        self.component: Component = self.host.component(self.component_name)
        self.conn_id = conn_id if conn_id is not None else self.default_conn_name
        self._connection: Connection | None = None
        _guard_package_logs()

    # -- the connection --------------------------------------------------------------------

    def get_conn(self) -> Connection | None:
        """The checked connection (`None` for a component without one), read once per hook."""
        if self._connection is None and self.component.connection is not None:
            self._connection = self._build(self.get_connection(self.conn_id))
        return self._connection

    async def aget_conn(self) -> Connection | None:
        """`get_conn` for async callers (triggers): Airflow's async connection lookup."""
        if self._connection is None and self.component.connection is not None:
            self._connection = self._build(await self.aget_connection(self.conn_id))
        return self._connection

    def connection_values(self, airflow_connection: Any) -> tuple[dict[str, Any], str | None]:
        """The values and authorization an Airflow connection holds; its secret masked in Airflow's logs."""
        password = airflow_connection.password or None
        if password:
            _mask(password)
        values, authorization = connection_form.connection_values(
            self.component, password=password, extra=_extra_of(airflow_connection)
        )
        for name in connection_form.secret_fields(self.component):  # a second secret, kept in extra
            if isinstance(values.get(name), str) and values[name]:
                _mask(values[name])
        return values, authorization

    def _build(self, airflow_connection: Any) -> Connection | None:
        values, authorization = self.connection_values(airflow_connection)
        return self.host.connection(self.component_name, values, authorization)

    # -- actions -----------------------------------------------------------------------------

    def run(self, action: str, inputs: Mapping[str, Any], *, context: ActionContext | None = None) -> Any:
        """Run one of the component's actions with `inputs`; the host validates both ends."""
        return self.host.run_action(self.component_name, action, inputs, self.get_conn(), context=context)

    async def arun(self, action: str, inputs: Mapping[str, Any], *, context: ActionContext | None = None) -> Any:
        """`run` for async callers, on the action's async handler."""
        connection = await self.aget_conn()
        return await self.host.arun_action(self.component_name, action, inputs, connection, context=context)

    # -- `airflow connections test` and the UI's Test button ---------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """The definition's connection test, run by the host with this connection's values.

        The message says precisely what failed (which field, the service's answer, a
        timeout) and never contains the secret: the host's result is scrubbed, and so is
        anything said here.
        """
        if not self.host.has_connection_test(self.component_name):
            return False, f"{self.component.title} declares no connection test"
        try:
            values, authorization = self.connection_values(self.get_connection(self.conn_id))
        except ConnectorError as error:
            return False, scrub(str(error))
        result = self.host.test_connection(self.component_name, values, authorization)
        return result.ok, scrub(result.message)


def _extra_of(airflow_connection: Any) -> dict[str, Any]:
    extra = airflow_connection.extra_dejson
    return extra if isinstance(extra, dict) else {}


def _mask(secret: str) -> None:
    mask_secret(secret)


def hook_class(component: Component) -> type[ConnectorHook]:
    """The generated hook class of `component`, importable from this module by its name."""
    return type(
        names.hook_class_name(component),
        (ConnectorHook,),
        {
            "__module__": names.HOOKS_MODULE,
            "__doc__": f"Runs {component.title} actions through the zhipu-connector host.\n\n"
            + (component.description or ""),
            "component_name": component.name,
            "default_conn_name": names.default_conn_id(component),
            "conn_type": names.connection_type(component),
            "hook_name": component.title,
        },
    )


def _generate() -> dict[str, type[ConnectorHook]]:
    return {names.hook_class_name(c): hook_class(c) for c in default_host().components}


HOOKS: dict[str, type[ConnectorHook]] = _generate()
"""Every generated hook class by name; each is also a module attribute (`hooks.ZhipuHook`)."""
globals().update(HOOKS)


def hook_for(component: str) -> type[ConnectorHook]:
    """The hook class of the component named `component`."""
    for cls in HOOKS.values():
        if cls.component_name == component:
            return cls
    raise KeyError(component)


def __getattr__(name: str) -> Any:  # for type checkers: generated names are Any
    raise AttributeError(f"module {__name__!r} has no attribute {name!r} (generated hooks: {', '.join(HOOKS)})")
