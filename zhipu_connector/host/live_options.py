"""A property's options fetched live with the current connection (`optionsSource`), never a broken form.

A definition names an options source beside a property's static options; the component's
plugin registers the function (`register(..., options_sources={name: source})`),
`source(connection, static, context) -> [{label, value, description?}, ...]` (sync or async, or an
`ActionHandler`), where `static` is the property's own options as dicts and `context` an
`ActionContext` (its request id, its logger). The host calls it
with the caller's connection, bounded by the source's `timeout`, and keeps the answer for
`cacheSeconds` per connection.

Whatever goes wrong — invalid connection values, the platform has no such list, a timeout, an
answer that is not a list of options — the caller gets the static options, marked `static`
with the reason, and nothing is raised: a form always has its list. A failure is remembered
for a short while (`FAILURE_SECONDS`, at most `cacheSeconds`), so a page that asks again does
not hammer a server that just failed.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from zhipu_connector.definition.models import Option, Property
from zhipu_connector.errors import ConnectorError
from zhipu_connector.host.connection import Connection
from zhipu_connector.host.context import ActionContext
from zhipu_connector.host.registry import ActionHandler
from zhipu_connector.host.secrets import scrub

LOGGER = "zhipu_connector.host.options"

FAILURE_SECONDS = 30.0
MAX_CACHED = 256
MAX_OPTIONS = 2000


class OptionsResult(NamedTuple):
    """The options to show: `live` from the source, or `static` (the definition's) with the `reason`.

    A named tuple rather than a dataclass: this module is imported at every start, and a
    dataclass's generated methods cost it most of a millisecond.
    """

    options: tuple[dict[str, Any], ...]
    source: str
    reason: str | None = None
    fetched_at: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        result: dict[str, Any] = {"source": self.source, "options": list(self.options)}
        if self.reason:
            result["reason"] = self.reason
        return result


def static_options(prop: Property) -> tuple[dict[str, Any], ...]:
    """The property's own options, as the dicts a source returns."""
    return tuple(_as_dict(option) for option in prop.options or ())


def _as_dict(option: Option) -> dict[str, Any]:
    item: dict[str, Any] = {"label": option.label, "value": option.value}
    if option.description:
        item["description"] = option.description
    return item


class LiveOptions:
    """The registered sources of every component, and their answers cached per connection."""

    def __init__(
        self, sources: Mapping[str, Mapping[str, ActionHandler]], clock: Callable[[], float] = time.monotonic
    ) -> None:
        """`sources`: each component's checked sources by name (`registry.checked_sources`)."""
        self._sources: dict[tuple[str, str], ActionHandler] = {
            (component, name): source for component, named in sources.items() for name, source in named.items()
        }
        self._cache: OrderedDict[tuple[str, str, Connection | None], OptionsResult] = OrderedDict()
        self._lock = threading.Lock()
        self.clock = clock

    def forget(self) -> None:
        """Drop every cached answer (a test, or a user who just changed a key)."""
        with self._lock:
            self._cache.clear()

    def resolve(
        self, component: str, prop: Property, connection: Connection | None, build: Callable[[], Any]
    ) -> OptionsResult:
        """The options of `prop` for `connection` (`build()` makes it when `connection` is None), from sync code."""
        cached, source, connection, static = self._begin(component, prop, connection, build)
        if cached is not None:
            return cached
        assert source is not None and prop.options_source is not None
        timeout = prop.options_source.timeout
        try:
            if source.run is not None:
                answer = _bounded_thread(source.run, connection, static, _context(component, prop), timeout)
            else:
                import asyncio

                arun = source.arun
                assert arun is not None  # an ActionHandler has run, arun or both
                answer = asyncio.run(asyncio.wait_for(arun(connection, static, _context(component, prop)), timeout))
        except BaseException as error:  # a failed source is a quiet fallback
            if isinstance(error, (KeyboardInterrupt, SystemExit)):
                raise
            return self._failed(component, prop, connection, static, error)
        return self._answered(component, prop, connection, static, answer)

    async def aresolve(
        self, component: str, prop: Property, connection: Connection | None, build: Callable[[], Any]
    ) -> OptionsResult:
        """`resolve` for async callers (the form server); a sync source runs in a worker thread."""
        import asyncio

        cached, source, connection, static = self._begin(component, prop, connection, build)
        if cached is not None:
            return cached
        assert source is not None and prop.options_source is not None
        timeout = prop.options_source.timeout
        try:
            if source.arun is not None:
                answer = await asyncio.wait_for(source.arun(connection, static, _context(component, prop)), timeout)
            else:
                answer = await asyncio.wait_for(
                    asyncio.to_thread(source.run, connection, static, _context(component, prop)),  # type: ignore[arg-type]
                    timeout,
                )
        except asyncio.CancelledError:
            raise
        except Exception as error:  # a failed source is a quiet fallback
            return self._failed(component, prop, connection, static, error)
        return self._answered(component, prop, connection, static, answer)

    # --- the shared steps ---------------------------------------------------------------------

    def _begin(
        self, component: str, prop: Property, connection: Connection | None, build: Callable[[], Any]
    ) -> tuple[OptionsResult | None, ActionHandler | None, Connection | None, tuple[dict[str, Any], ...]]:
        static = static_options(prop)
        if prop.options_source is None:
            return OptionsResult(static, "static", "the property has no live options"), None, connection, static
        source = self._sources.get((component, prop.options_source.name))
        if source is None:
            return OptionsResult(static, "static", "no options source is registered"), None, connection, static
        if connection is None:
            try:
                connection = build()
            except ConnectorError as error:
                return OptionsResult(static, "static", f"the connection is not usable: {error}"), None, None, static
        key = (component, prop.options_source.name, connection)
        now = self.clock()
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None:
                keep = prop.options_source.cache_seconds if cached.source == "live" else FAILURE_SECONDS
                if now - cached.fetched_at < min(keep, prop.options_source.cache_seconds):
                    self._cache.move_to_end(key)
                    return cached, source, connection, static
                del self._cache[key]
        return None, source, connection, static

    def _answered(
        self,
        component: str,
        prop: Property,
        connection: Connection | None,
        static: tuple[dict[str, Any], ...],
        answer: Any,
    ) -> OptionsResult:
        options = _checked(answer)
        if options is None:
            return self._failed(
                component, prop, connection, static, ValueError("the source's answer is not a list of options")
            )
        if not options:
            return self._failed(component, prop, connection, static, ValueError("the source listed no options"))
        return self._keep(component, prop, connection, OptionsResult(options, "live", fetched_at=self.clock()))

    def _failed(
        self,
        component: str,
        prop: Property,
        connection: Connection | None,
        static: tuple[dict[str, Any], ...],
        error: BaseException,
    ) -> OptionsResult:
        if isinstance(error, TimeoutError):
            reason = f"the options source did not answer within {prop.options_source.timeout:g} s"  # type: ignore[union-attr]
        else:
            reason = scrub(str(error)) or type(error).__name__
        import logging

        logging.getLogger(LOGGER).info(
            "%s.%s: live options unavailable, showing the static list: %s", component, prop.name, reason
        )
        return self._keep(component, prop, connection, OptionsResult(static, "static", reason, fetched_at=self.clock()))

    def _keep(
        self, component: str, prop: Property, connection: Connection | None, result: OptionsResult
    ) -> OptionsResult:
        assert prop.options_source is not None
        if prop.options_source.cache_seconds > 0:
            with self._lock:
                self._cache[(component, prop.options_source.name, connection)] = result
                while len(self._cache) > MAX_CACHED:
                    self._cache.popitem(last=False)
        return result


def _checked(answer: Any) -> tuple[dict[str, Any], ...] | None:
    """The answer as option dicts (`label` a string, `value` a scalar), or None when it is not one."""
    if not isinstance(answer, (list, tuple)) or len(answer) > MAX_OPTIONS:
        return None
    options = []
    for item in answer:
        if not isinstance(item, Mapping):
            return None
        label, value = item.get("label"), item.get("value")
        if not isinstance(label, str) or not isinstance(value, (str, int, float, bool)):
            return None
        option: dict[str, Any] = {"label": label, "value": value}
        description = item.get("description")
        if isinstance(description, str) and description:
            option["description"] = description
        options.append(option)
    return tuple(options)


def _context(component: str, prop: Property) -> ActionContext:
    name = prop.options_source.name if prop.options_source is not None else prop.name
    return ActionContext(component, f"options.{name}")


def _bounded_thread(function: Callable[..., Any], connection: Any, static: Any, context: Any, timeout: float) -> Any:
    """Run a sync source in a daemon thread, waiting at most `timeout` for it."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = function(connection, static, context)
        except BaseException as error:  # handed to the caller
            outcome["error"] = error

    thread = threading.Thread(target=target, name="options-source", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
