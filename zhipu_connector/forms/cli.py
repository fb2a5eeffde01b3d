"""`zhipu-connector form` and `zhipu-connector serve`.

`form` needs the definition alone: it prints an action's or a connection's form as
`{schema, uiSchema, tree}` JSON or as a self-contained HTML page. `serve` needs handlers too:
it serves the page for every component of the host and runs actions through it.
"""

from __future__ import annotations

import argparse
import logging
import secrets
import sys
from contextlib import ExitStack
from typing import Any

from zhipu_connector.cli import (
    EXIT_USAGE,
    add_connection_arguments,
    add_definition_argument,
    connection_values,
    load_definition,
    print_json,
    split_action,
)

DEFAULT_PORT = 8700


# ---------------------------------------------------------------- form


def form_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", nargs="?", help="action key, e.g. ask or createImage")
    parser.add_argument("--connection", action="store_true", help="the connection's form instead of an action's")
    parser.add_argument(
        "--authorization", metavar="NAME", help="with --connection: which authorization (default: the first)"
    )
    parser.add_argument(
        "--format",
        choices=("json", "html"),
        default="json",
        help="json: {schema, uiSchema, tree} (react-jsonschema-form); html: a self-contained page",
    )
    add_definition_argument(parser)


def form_command(args: argparse.Namespace) -> int:
    from zhipu_connector.forms.html import standalone_page
    from zhipu_connector.forms.rjsf import render_rjsf
    from zhipu_connector.forms.tree import action_form, connection_form

    if bool(args.action) == bool(args.connection):
        print("error: name an action, or pass --connection (not both)", file=sys.stderr)
        return EXIT_USAGE
    if args.authorization and not args.connection:
        print("error: --authorization goes with --connection", file=sys.stderr)
        return EXIT_USAGE
    component = load_definition(args.definition)
    if args.connection:
        form = connection_form(component, args.authorization)
    else:
        form = action_form(component, split_action(args.action)[1])
    if args.format == "html":
        sys.stdout.write(standalone_page(form))
    else:
        print_json({**render_rjsf(form), "tree": form.to_json()})
    return 0


# ---------------------------------------------------------------- serve


def serve_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this machine only)"
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT}; 0 picks a free one)"
    )
    parser.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow an address other machines can reach; anyone who reaches the page can run actions with its connection",
    )
    parser.add_argument(
        "--emulator",
        action="store_true",
        help="also start the embedded Zhipu emulator and use it, with a demo key, as the default connection",
    )
    add_connection_arguments(parser)


def serve_command(args: argparse.Namespace) -> int:
    from zhipu_connector.cli import configure_logging
    from zhipu_connector.forms.server import FormServer, loopback_hosts
    from zhipu_connector.forms.serving import ServeError, base_url, is_loopback, listen, serve_forever
    from zhipu_connector.host.host import default_host

    if not is_loopback(args.host) and not args.allow_remote:
        raise ServeError(
            f"refusing to listen on {args.host}, which other machines can reach: pass --allow-remote to do it anyway"
        )
    if not 0 <= args.port <= 65535:
        raise ServeError(f"--port {args.port} is not a port number (0–65535)")
    configure_logging(logging.INFO)
    _log_uvicorn()
    host = default_host()
    with ExitStack() as stack:
        emulator = _start_emulator(stack) if args.emulator else {}
        presets = {
            c.name: {**connection_values(args, c), **_applicable(c, emulator)} for c in host.components if c.connection
        }
        listener = listen(args.host, args.port)
        port = listener.getsockname()[1]
        app = FormServer(
            host, connection_defaults=presets, allowed_hosts=None if args.allow_remote else loopback_hosts(port)
        )
        print(f"Forms at {base_url(listener)}/ (Ctrl+C to stop)", flush=True)
        serve_forever(app, listener)
    return 0


def _start_emulator(stack: ExitStack) -> dict[str, Any]:
    """Start the emulator for this server's lifetime, accepting one fresh demo key only."""
    from zhipu_connector.emulator import EmulatorConfig, running_emulator

    demo_key = f"demo{secrets.token_hex(4)}.{secrets.token_urlsafe(24)}"
    url = stack.enter_context(running_emulator(EmulatorConfig(api_keys=frozenset({demo_key}))))
    print(f"Emulator at {url} (its demo key is the page's default connection)", flush=True)
    return {"baseUrl": url, "key": demo_key}


def _applicable(component: Any, emulator: dict[str, Any]) -> dict[str, Any]:
    """The emulator's URL and demo key, for a connection that has a `baseUrl` and a secret."""
    properties = {p.name: p for p in component.connection.authorizations[0].properties}
    secret = next((name for name, prop in properties.items() if prop.secret), None)
    if not emulator or "baseUrl" not in properties or secret is None:
        return {}
    return {"baseUrl": emulator["baseUrl"], secret: emulator["key"]}


def _log_uvicorn() -> None:
    """uvicorn's own lines (a port in use, a crash) through the same scrubbing handler."""
    root = logging.getLogger("zhipu_connector")
    for name in ("uvicorn.error",):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.propagate = False
        for handler in root.handlers:
            if handler not in logger.handlers:
                logger.addHandler(handler)
