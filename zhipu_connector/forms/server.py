"""The local form server: one small ASGI app that serves the page and runs actions through the host.

Routes:
    GET  /                                   the page: each component's connection form and action forms
    GET  /static/forms.js, /static/forms.css the page's only assets (shipped in the package)
    GET  /api/forms                          every form as {schema, uiSchema, tree}
    POST /api/validate/<component>/<action>  {inputs, connection?, authorization?} -> problems, nothing run
    POST /api/run/<component>/<action>       the same, then the action runs -> {output, warnings, media}
    POST /api/test-connection/<component>    {connection?, authorization?} -> the component's connection
                                             test: {ok, message, error, details} (200 whatever its outcome)
    POST /api/options/<component>            {connection?, authorization?} -> the live options of every
                                             property with an `optionsSource`: {actions: {action: {property:
                                             {source: live|static, options, reason?}}}} (200; a failed
                                             source gives the static options)

A rejected request answers `{"errors": [{type, message, scope, problems?}]}`; `problems` are the
host's own (`InputValidationError.problems`, `ConnectionValidationError.problems`), so the page
shows exactly what the command line prints, each next to the field its location names.

Security, for a page that holds an API key:
- it listens on loopback unless told otherwise (the command refuses other addresses without
  `--allow-remote`) and answers only to the Host names it was started for, which defeats DNS
  rebinding; a POST must be `application/json` and, when the browser says where it comes from,
  come from the page's own origin, so another site cannot make the browser run an action;
- request bodies are capped (1 MiB by default, 413 beyond);
- a secret the server was started with stays on the server: the page shows only that one is
  set, and an empty secret field means "use it"; every response is passed through `scrub()`, and
  the log records method, path, status and time, never a body;
- a strict Content Security Policy allows the page's own script and style only.
"""

from __future__ import annotations

import json
import logging
import time
import traceback
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping, Sequence
from typing import Any
from urllib.parse import unquote, urlsplit

from zhipu_connector.definition.models import Component
from zhipu_connector.definition.plain_json import JsonValueError, read_json
from zhipu_connector.errors import (
    ActionFailedError,
    ConnectionValidationError,
    ConnectorError,
    InputValidationError,
    OutputValidationError,
    Problem,
    UnknownActionError,
)
from zhipu_connector.forms.html import page, static_text
from zhipu_connector.forms.output import media_links
from zhipu_connector.forms.rjsf import render_rjsf
from zhipu_connector.forms.tree import Form, action_form, connection_form, with_defaults
from zhipu_connector.host.context import ActionContext
from zhipu_connector.host.host import Host
from zhipu_connector.host.registry import BoundAction
from zhipu_connector.host.secrets import scrub, scrub_value

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]

MAX_BODY_BYTES = 1 << 20
SERVER_SECRET_PLACEHOLDER = "set on the server"
BODY_KEYS = ("inputs", "connection", "authorization")
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' http: https: data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
STATIC_TYPES = {"forms.js": "text/javascript; charset=utf-8", "forms.css": "text/css; charset=utf-8"}

log = logging.getLogger("zhipu_connector.forms.server")


class RequestError(Exception):
    """A request the server refuses before it reaches the host; the message is shown as is."""

    def __init__(
        self, status: int, message: str, *, kind: str = "BadRequest", headers: Sequence[tuple[bytes, bytes]] = ()
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.kind, self.headers = status, message, kind, tuple(headers)


def loopback_hosts(port: int) -> frozenset[str]:
    """The Host header values a browser sends to a loopback server on `port`."""
    return frozenset(f"{name}:{port}" for name in ("127.0.0.1", "localhost", "[::1]"))


class FormServer:
    """The page and its JSON API for some of a host's components, as one ASGI callable.

    `connection_defaults` maps a component to connection values the server holds (an emulator's
    URL and demo key, say): the page offers the non-secret ones as defaults and only says that a
    secret is set, and a request's own values override them. `allowed_hosts` lists the Host
    header values to answer (None answers any, for `--allow-remote`).
    """

    def __init__(
        self,
        host: Host,
        *,
        components: Iterable[str] | None = None,
        connection_defaults: Mapping[str, Mapping[str, Any]] | None = None,
        allowed_hosts: Iterable[str] | None = None,
        max_body: int = MAX_BODY_BYTES,
    ) -> None:
        self.host = host
        self.components: tuple[Component, ...] = (
            tuple(host.component(name) for name in components) if components is not None else host.components
        )
        self.connection_defaults = {name: dict(values) for name, values in (connection_defaults or {}).items()}
        self.allowed_hosts = frozenset(h.lower() for h in allowed_hosts) if allowed_hosts is not None else None
        self.max_body = max_body
        connections = {c.name: form for c in self.components if (form := self.connection_form(c)) is not None}
        self._page = page(
            self.components,
            api="/api",
            connections=connections,
            secret_placeholders=self._secret_placeholders(),
            testable=[c.name for c in self.components if host.has_connection_test(c.name)],
        ).encode()
        self._forms = json.dumps(self._forms_document(), ensure_ascii=False).encode()
        self._static = {name: static_text(name).encode() for name in STATIC_TYPES}

    # ------------------------------------------------------------ what the page is made of

    def connection_form(self, component: Component) -> Form | None:
        if component.connection is None:
            return None
        return with_defaults(connection_form(component), self.connection_defaults.get(component.name, {}))

    def _secret_placeholders(self) -> dict[str, dict[str, str]]:
        placeholders: dict[str, dict[str, str]] = {}
        for component in self.components:
            form = self.connection_form(component)
            preset = self.connection_defaults.get(component.name, {})
            if form is not None:
                placeholders[component.name] = {
                    f.key: SERVER_SECRET_PLACEHOLDER for f in form.fields if f.secret and preset.get(f.key)
                }
        return placeholders

    def _forms_document(self) -> dict[str, Any]:
        def described(form: Form) -> dict[str, Any]:
            return {**render_rjsf(form), "tree": form.to_json()}

        components = []
        for component in self.components:
            connection = self.connection_form(component)
            components.append(
                {
                    "name": component.name,
                    "title": component.title,
                    "connection": described(connection) if connection else None,
                    "actions": {action.name: described(action_form(component, action)) for action in component.actions},
                }
            )
        return {"components": components}

    # ------------------------------------------------------------ ASGI

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        method, path = scope["method"], scope["path"]
        status = 500
        try:
            status, headers, body = await self._respond(scope, receive, method, path)
        except RequestError as error:
            status, headers, body = (
                error.status,
                list(error.headers),
                _errors_body([{"type": error.kind, "message": error.message}]),
            )
            headers.append((b"content-type", b"application/json"))
        except Exception:  # a bug: say so without details, log it without secrets
            log.error("%s %s failed:\n%s", method, path, scrub(traceback.format_exc()))
            status, headers = 500, [(b"content-type", b"application/json")]
            body = _errors_body([{"type": "InternalError", "message": "the server failed; see its log"}])
        await _send(send, status, headers, body if method != "HEAD" else b"")
        log.info("%s %s -> %d (%.0f ms)", method, path, status, (time.perf_counter() - started) * 1000)

    async def _respond(
        self, scope: Scope, receive: Receive, method: str, path: str
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        headers = _headers(scope)
        self._check_host(headers)
        if path == "/":
            _allow(method, "GET", "HEAD")
            return 200, [(b"content-type", b"text/html; charset=utf-8")], self._page
        if path.startswith("/static/") and path[len("/static/") :] in self._static:
            _allow(method, "GET", "HEAD")
            name = path[len("/static/") :]
            return 200, [(b"content-type", STATIC_TYPES[name].encode())], self._static[name]
        if path == "/favicon.ico":  # asked for by every browser; there is none
            _allow(method, "GET", "HEAD")
            return 204, [], b""
        if path == "/api/forms":
            _allow(method, "GET", "HEAD")
            return 200, [(b"content-type", b"application/json")], self._forms
        parts = path.split("/")
        if len(parts) == 4 and parts[:3] == ["", "api", "test-connection"]:
            _allow(method, "POST")
            self._check_post(headers)
            body = _parse_body(await _read_body(receive, headers, self.max_body))
            status, payload = await self._test_connection(unquote(parts[3]), body)
            return (
                status,
                [(b"content-type", b"application/json")],
                json.dumps(scrub_value(payload), ensure_ascii=False).encode(),
            )
        if len(parts) == 4 and parts[:3] == ["", "api", "options"]:
            _allow(method, "POST")
            self._check_post(headers)
            body = _parse_body(await _read_body(receive, headers, self.max_body))
            payload = await self._live_options(unquote(parts[3]), body)
            return (
                200,
                [(b"content-type", b"application/json")],
                json.dumps(scrub_value(payload), ensure_ascii=False).encode(),
            )
        if len(parts) == 5 and parts[:2] == ["", "api"] and parts[2] in ("run", "validate"):
            _allow(method, "POST")
            self._check_post(headers)
            body = _parse_body(await _read_body(receive, headers, self.max_body))
            status, payload = await self._action(parts[2], unquote(parts[3]), unquote(parts[4]), body)
            return (
                status,
                [(b"content-type", b"application/json")],
                json.dumps(scrub_value(payload), ensure_ascii=False).encode(),
            )
        raise RequestError(404, f"nothing at {path}", kind="NotFound")

    def _check_host(self, headers: Mapping[str, str]) -> None:
        if self.allowed_hosts is None:
            return
        if headers.get("host", "").lower() not in self.allowed_hosts:
            raise RequestError(
                421, "this server answers only to the address it was started on", kind="MisdirectedRequest"
            )

    def _check_post(self, headers: Mapping[str, str]) -> None:
        media_type = headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != "application/json":
            raise RequestError(415, "send the body as application/json", kind="UnsupportedMediaType")
        origin = headers.get("origin")
        if origin is not None and urlsplit(origin).netloc.lower() != headers.get("host", "").lower():
            raise RequestError(403, "requests from another site are refused", kind="Forbidden")

    # ------------------------------------------------------------ running

    async def _test_connection(self, component: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """The component's connection test with the request's values over the server's presets."""
        if component not in {c.name for c in self.components}:
            raise RequestError(404, f"unknown component {component!r}", kind="UnknownActionError")
        if not self.host.has_connection_test(component):
            raise RequestError(404, f"{component} declares no connection test", kind="UnknownActionError")
        values = {**self.connection_defaults.get(component, {}), **_given(body.get("connection"))}
        result = await self.host.atest_connection(component, values, body.get("authorization"))
        return 200, result.to_dict()

    async def _live_options(self, component: str, body: dict[str, Any]) -> dict[str, Any]:
        """Each `optionsSource` property's options with the request's connection over the server's presets."""
        found = [c for c in self.components if c.name == component]
        if not found:
            raise RequestError(404, f"unknown component {component!r}", kind="UnknownActionError")
        values = {**self.connection_defaults.get(component, {}), **_given(body.get("connection"))}
        authorization = body.get("authorization")
        actions: dict[str, dict[str, Any]] = {}
        for action in found[0].actions:
            for prop in action.properties:
                if prop.options_source is not None:
                    result = await self.host.aproperty_options(component, action.name, prop.name, values, authorization)
                    actions.setdefault(action.name, {})[prop.name] = result.to_dict()
        return {"actions": actions}

    async def _action(self, mode: str, component: str, action: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if component not in {c.name for c in self.components}:
            raise RequestError(404, f"unknown component {component!r}", kind="UnknownActionError")
        try:
            bound = self.host.action(component, action)
        except UnknownActionError as error:
            raise RequestError(404, str(error), kind="UnknownActionError") from None
        inputs = body.get("inputs", {})
        errors: list[dict[str, Any]] = []
        connection = None
        if bound.connections.required:
            values = {**self.connection_defaults.get(component, {}), **_given(body.get("connection"))}
            try:
                connection = self.host.connection(component, values, body.get("authorization"))
            except ConnectionValidationError as error:
                errors.append(_described(error, "connection"))
        if mode == "validate" or errors:
            invalid = _input_error(bound, inputs)
            if invalid is not None:
                errors.append(_described(invalid, "inputs"))
            return (422, {"errors": errors}) if errors else (200, {"ok": True})
        context = ActionContext(component, action)
        try:
            output = await self.host.arun_action(component, action, inputs, connection, context=context)
        except InputValidationError as error:
            return 422, {"errors": [_described(error, "inputs")]}
        except (ActionFailedError, OutputValidationError) as error:
            return 502, {"errors": [_described(error, "action")]}
        except ConnectorError as error:
            return 400, {"errors": [_described(error, "action")]}
        return 200, {
            "output": output,
            "warnings": list(context.warnings),
            "media": media_links(bound.action.output, output),
        }


def _input_error(bound: BoundAction, inputs: Any) -> InputValidationError | None:
    """The error dispatch would raise for `inputs`, without running anything."""
    if not isinstance(inputs, Mapping):
        return InputValidationError(
            [Problem("", f"inputs must be an object, not {type(inputs).__name__}")], subject=bound.key
        )
    if bound.inputs.is_valid(dict(inputs)):
        return None
    return InputValidationError(bound.inputs.problems(dict(inputs)), subject=bound.key)


def _given(values: Any) -> dict[str, Any]:
    """The connection values a request sets; empty ones fall back to what the server holds."""
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise RequestError(400, f"'connection' must be an object, not {type(values).__name__}")
    return {key: value for key, value in values.items() if value not in ("", None)}


def _described(error: ConnectorError, scope: str) -> dict[str, Any]:
    return {**error.to_dict(), "scope": scope}


def _errors_body(errors: list[dict[str, Any]]) -> bytes:
    return json.dumps({"errors": scrub_value(errors)}, ensure_ascii=False).encode()


def _parse_body(raw: bytes) -> dict[str, Any]:
    try:
        body = read_json(raw.decode("utf-8")) if raw else {}
    except UnicodeDecodeError:
        raise RequestError(400, "the body is not UTF-8 text") from None
    except JsonValueError as error:
        raise RequestError(400, f"the body is not accepted: {'; '.join(map(str, error.problems))}") from None
    if not isinstance(body, dict):
        raise RequestError(
            400, f"the body must be a JSON object with {', '.join(BODY_KEYS)}, not {type(body).__name__}"
        )
    unknown = sorted(set(body) - set(BODY_KEYS))
    if unknown:
        raise RequestError(
            400,
            f"unknown key{'s' if len(unknown) > 1 else ''} in the body: {', '.join(map(repr, unknown))} (known: {', '.join(BODY_KEYS)})",
        )
    if body.get("authorization") is not None and not isinstance(body["authorization"], str):
        raise RequestError(400, "'authorization' must be a string")
    return body


async def _read_body(receive: Receive, headers: Mapping[str, str], limit: int) -> bytes:
    too_large = RequestError(413, f"the body is over the limit of {limit} bytes", kind="PayloadTooLarge")
    declared = headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise RequestError(400, "the client went away")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _allow(method: str, *allowed: str) -> None:
    if method not in allowed:
        raise RequestError(
            405,
            f"{method} is not allowed here (allowed: {', '.join(allowed)})",
            kind="MethodNotAllowed",
            headers=[(b"allow", ", ".join(allowed).encode())],
        )


def _headers(scope: Scope) -> dict[str, str]:
    return {key.decode("latin-1").lower(): value.decode("latin-1") for key, value in scope.get("headers", [])}


async def _send(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
    common = [
        (b"content-length", str(len(body)).encode()),
        (b"cache-control", b"no-store"),
        (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"x-frame-options", b"DENY"),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers + common})
    await send({"type": "http.response.body", "body": body})


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
