"""Which platform a connection talks to, and which endpoints each platform serves.

The two platforms share paths but not endpoints: the international one (api.z.ai) documents no
embeddings, no model list, no batches and no async chat, and of the video models only
CogVideoX-3 (and the legacy Vidu ones); `zhipu-api-endpoints.md` has the sources. An action
whose endpoint the connection's platform does not serve is refused here, before anything is
sent, with an error that names the platform and what to do — never a 404 from the server.

A base URL of neither platform (a proxy, the emulator) is not judged: nothing is known of what
it serves, so the request goes, and a 404 it answers is explained the same way
(`explain_not_served`).

Imported by the plugin at start-up: it imports neither httpx nor the client (the base-URL rules
are imported when a check first runs).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from zhipu_connector.host.errors import ConnectorError, InputValidationError, PluginError, Problem
from zhipu_connector.host.registry import ActionHandler

MAINLAND = "mainland"
INTERNATIONAL = "international"
PLATFORM_HOSTS = {"open.bigmodel.cn": MAINLAND, "api.z.ai": INTERNATIONAL}
PLATFORM_NAMES = {
    MAINLAND: "the mainland platform (open.bigmodel.cn)",
    INTERNATIONAL: "the international platform (api.z.ai)",
}

#: Route name → the platforms that serve it; a route not listed here is served by both.
SERVED_BY: dict[str, frozenset[str]] = {
    "embeddings": frozenset({MAINLAND}),
    "models": frozenset({MAINLAND}),
}

#: Models one platform does not serve, per route: route name → model id → the platforms that do.
MODELS_SERVED_BY: dict[str, dict[str, frozenset[str]]] = {
    "videos": {"cogvideox-2": frozenset({MAINLAND}), "cogvideox-flash": frozenset({MAINLAND})},
}


def platform_of(connection: Mapping[str, Any] | Any) -> str | None:
    """`mainland`, `international`, or None for a base URL of neither platform (a proxy, the emulator)."""
    from zhipu_connector.zhipu.config import resolve_base_url

    base_url = connection.get("baseUrl") if connection is not None else None
    try:
        host = urlsplit(resolve_base_url(base_url)).hostname or ""
    except Exception:  # a base URL the client will refuse itself, with its own message
        return None
    return PLATFORM_HOSTS.get(host.lower())


def check_served(route: str, action: str, platform: str | None, model: str | None = None) -> None:
    """Refuse, naming the platform, an endpoint (or a model on it) that `platform` does not serve."""
    if platform is None:
        return
    served = SERVED_BY.get(route)
    if served is not None and platform not in served:
        raise InputValidationError(
            [
                Problem(
                    "connection.baseUrl",
                    f"{PLATFORM_NAMES[platform]} does not offer this action (its API has no such endpoint); "
                    f"it is served by {_names(served)}: use a connection to that platform",
                )
            ],
            subject=action,
        )
    if model is None:
        return
    model_served = MODELS_SERVED_BY.get(route, {}).get(model.strip().lower())
    if model_served is not None and platform not in model_served:
        raise InputValidationError(
            [
                Problem(
                    "model",
                    f"{model!r} is not served by {PLATFORM_NAMES[platform]}; it is served by {_names(model_served)}. "
                    "Choose another model, or use a connection to that platform",
                )
            ],
            subject=action,
        )


def explain_not_served(error: ConnectorError, route: str, action: str) -> ConnectorError:
    """A 404 (code 1222, "API does not exist") on `route` from a server of unknown platform, explained."""
    status = getattr(error, "status", None)
    if status != 404:
        return error
    from zhipu_connector.zhipu.errors import InvalidRequestError  # imported here: it (and http) cost a start ~1.5 ms

    served = SERVED_BY.get(route)
    hint = f" (only {_names(served)} offers it)" if served else ""
    return InvalidRequestError(
        f"{action}: the server at this base URL does not offer this endpoint{hint}: "
        f"{getattr(error, 'message', str(error))}",
        status=404,
        code=getattr(error, "code", None),
        request_id=getattr(error, "request_id", None),
    )


def _names(platforms: frozenset[str]) -> str:
    return " and ".join(PLATFORM_NAMES[p] for p in sorted(platforms))


def platform_checked(handler: ActionHandler, route: str) -> ActionHandler:
    """`handler` (a one-request action's) behind the platform rule of `route`.

    The check runs before the handler, so nothing is sent to a platform that does not serve
    the route; a 404 from a server of unknown platform comes back explained.
    """
    inner_run, inner_arun = handler.run, handler.arun
    if inner_run is None or inner_arun is None:
        raise PluginError("platform_checked needs a handler with both run and arun")

    def check(inputs: Mapping[str, Any], connection: Any, context: Any) -> str:
        action = f"{context.component}.{context.action}"
        model = inputs.get("model")
        check_served(route, action, platform_of(connection), model if isinstance(model, str) else None)
        return action

    def run(inputs: Mapping[str, Any], connection: Any, context: Any) -> Any:
        action = check(inputs, connection, context)
        try:
            return inner_run(inputs, connection, context)
        except ConnectorError as error:
            explained = explain_not_served(error, route, action)
            if explained is error:
                raise
            raise explained from None

    async def arun(inputs: Mapping[str, Any], connection: Any, context: Any) -> Any:
        action = check(inputs, connection, context)
        try:
            return await inner_arun(inputs, connection, context)
        except ConnectorError as error:
            explained = explain_not_served(error, route, action)
            if explained is error:
                raise
            raise explained from None

    run.__qualname__ = getattr(inner_run, "__qualname__", "run")
    arun.__qualname__ = getattr(inner_arun, "__qualname__", "arun")
    return ActionHandler(run=run, arun=arun)
