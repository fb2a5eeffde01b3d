"""An action that is one request, described once; its sync and async handlers derived from it.

Most of the API's actions are one request: inputs become a body, the body goes to a route, the
answer becomes the output — and, where the route streams and the caller asked for it
(`context.on_partial`), the chunks are assembled into what the answer would have been. A
`OneRequest` names those parts; `one_request_handler` gives the host both handlers from it,
so nothing about an action is written twice (docs/adding-an-action.md).

The request id is the action context's (`context.request_id`), unless the body already carries
one (a user's `requestId`): it is what goes on the wire where the route takes one, and what
errors and the client's log lines quote.

This module is imported at every start, by the plugin: it imports neither httpx nor the client,
nor the action modules, which are imported when an action first runs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from contextlib import aclosing, closing
from typing import TYPE_CHECKING, Any, Protocol

from zhipu_connector.host.errors import PluginError
from zhipu_connector.host.registry import ActionHandler

if TYPE_CHECKING:
    from zhipu_connector.host.connection import Connection
    from zhipu_connector.host.context import ActionContext
    from zhipu_connector.zhipu.routes import Route

#: inputs, request id, whether the call streams → the request body.
BodyBuilder = Callable[[Mapping[str, Any], str, bool], dict[str, Any]]
#: answer (or assembled stream), request id, context → the action's output.
#: (The inputs come last: an output whose shape the inputs choose, such as Ask's, reads them.)
OutputReader = Callable[[Mapping[str, Any], str, "ActionContext", Mapping[str, Any]], Any]


class StreamAssembler(Protocol):
    """Gathers a streamed answer's chunks into the answer the same call without streaming gives."""

    def add(self, chunk: Mapping[str, Any]) -> None: ...

    def completion(self) -> dict[str, Any]: ...


class OneRequest:
    """The one description of an action that is one request.

    `route`: where the body goes (a row of `routes.ROUTES`). `body(inputs, request_id, streams)`:
    the request body (`streams` says the call streams: a body may ask for more then, such as
    Ask's `tool_stream`). `output(answer, request_id, context, inputs)`: the action's result from
    the checked answer (the inputs may choose its shape). `stream(context)`: for a route that
    streams, a `StreamAssembler` that passes each piece of text to `context.on_partial` (and
    what else it streams to the context's other callbacks); without it the action never streams.
    """

    __slots__ = ("route", "body", "output", "stream")

    def __init__(
        self,
        route: Route,
        body: BodyBuilder,
        output: OutputReader,
        *,
        stream: Callable[[ActionContext], StreamAssembler] | None = None,
    ) -> None:
        if stream is not None and not route.streams:
            raise PluginError(f"{route.method} {route.path} does not stream, so an action on it cannot")
        self.route = route
        self.body = body
        self.output = output
        self.stream = stream

    def __repr__(self) -> str:
        return f"OneRequest({self.route.method} {self.route.path})"


def one_request_handler(target: str) -> ActionHandler:
    """The sync and async handlers of the `OneRequest` named `"module:NAME"`.

    The module is imported when the action first runs, not now: registering a plugin at
    start-up must not import the action's code, httpx or the client.
    """
    module_name, _, name = target.partition(":")
    if not module_name or not name:
        raise PluginError(f"action description {target!r} is not of the form 'module:NAME'")
    resolved: list[OneRequest] = []

    def described() -> OneRequest:
        if not resolved:
            try:
                description = getattr(importlib.import_module(module_name), name)
            except (ImportError, AttributeError) as error:
                raise PluginError(f"action description {target!r} cannot be loaded: {error}") from error
            if not isinstance(description, OneRequest):
                raise PluginError(f"{target!r} is not a OneRequest")
            resolved.append(description)
        return resolved[0]

    def run(inputs: Mapping[str, Any], connection: Connection, context: ActionContext) -> Any:
        return run_one_request(described(), inputs, connection, context)

    async def arun(inputs: Mapping[str, Any], connection: Connection, context: ActionContext) -> Any:
        return await arun_one_request(described(), inputs, connection, context)

    run.__qualname__ = arun.__qualname__ = target
    return ActionHandler(run=run, arun=arun)


# --- the two drivers: the same steps, their I/O awaited or not ---------------------------------


def run_one_request(
    action: OneRequest, inputs: Mapping[str, Any], connection: Connection, context: ActionContext
) -> Any:
    """The sync handler: `call`, or `stream` when the caller set `context.on_partial`."""
    from zhipu_connector.zhipu.connections import sync_client

    body, request_id = _begin(action, inputs, context)
    with sync_client(connection) as client:
        if not _streams(action, context):
            answer = client.call(action.route, body, request_id=request_id)
        else:
            assembler = _assembler(action, context)
            with closing(client.stream(action.route, body, request_id=request_id)) as chunks:
                for chunk in chunks:
                    _add(assembler, chunk, context)
            answer = assembler.completion()
    return action.output(answer, request_id, context, inputs)


async def arun_one_request(
    action: OneRequest, inputs: Mapping[str, Any], connection: Connection, context: ActionContext
) -> Any:
    """The async handler: the same steps as `run_one_request`, on the loop's shared async client."""
    from zhipu_connector.zhipu.connections import async_client

    body, request_id = _begin(action, inputs, context)
    async with async_client(connection) as client:
        if not _streams(action, context):
            answer = await client.call(action.route, body, request_id=request_id)
        else:
            assembler = _assembler(action, context)
            async with aclosing(client.stream(action.route, body, request_id=request_id)) as chunks:
                async for chunk in chunks:
                    _add(assembler, chunk, context)
            answer = assembler.completion()
    return action.output(answer, request_id, context, inputs)


def _begin(action: OneRequest, inputs: Mapping[str, Any], context: ActionContext) -> tuple[dict[str, Any], str]:
    """The body and the call's request id; refuses bad inputs and honours cancellation before sending."""
    body = action.body(inputs, context.request_id, _streams(action, context))
    given = body.get("request_id")
    request_id = given if isinstance(given, str) and given else context.request_id
    context.check_cancelled()
    return body, request_id


def _streams(action: OneRequest, context: ActionContext) -> bool:
    return context.on_partial is not None and action.stream is not None


def _assembler(action: OneRequest, context: ActionContext) -> StreamAssembler:
    assert action.stream is not None and context.on_partial is not None
    return action.stream(context)


def _add(assembler: StreamAssembler, chunk: Mapping[str, Any], context: ActionContext) -> None:
    context.check_cancelled()
    assembler.add(chunk)
