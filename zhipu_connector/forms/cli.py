"""`zhipu-connector form` and `zhipu-connector serve`.

`form` needs the definition alone: it prints an action's or a connection's form as
`{schema, uiSchema, tree}` JSON or as a self-contained HTML page. `serve` needs handlers too:
it serves the page for every component of the host and runs actions through it.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Mapping
from contextlib import ExitStack
from typing import Any

from zhipu_connector.cli import (
    EXIT_USAGE,
    add_connection_arguments,
    add_definition_argument,
    configure_logging,
    connections_by_component,
    definition_action,
    load_definition,
    print_json,
)
from zhipu_connector.host.host import default_host

DEFAULT_PORT = 8700


# ---------------------------------------------------------------- form


def form_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", nargs="?", help="action key (ask, createImage) or COMPONENT.ACTION")
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
    if args.connection:
        form = connection_form(load_definition(args.definition), args.authorization)
    else:
        component, action = definition_action(args.action, args.definition)
        form = action_form(component, action.name)
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
        help="also start the emulators plugins offer (Zhipu's, with a demo key) as their components' default connections",
    )
    add_connection_arguments(parser, several_components=True)


def serve_command(args: argparse.Namespace) -> int:
    from zhipu_connector.forms.server import FormServer, loopback_hosts
    from zhipu_connector.forms.serving import ServeError, base_url, is_loopback, listen, serve_forever

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
        emulators = _start_emulators(host, stack) if args.emulator else {}
        with_connection = [c for c in host.components if c.connection]
        presets = connections_by_component(args, with_connection, given=emulators)
        listener = listen(args.host, args.port)
        port = listener.getsockname()[1]
        app = FormServer(
            host, connection_defaults=presets, allowed_hosts=None if args.allow_remote else loopback_hosts(port)
        )
        print(f"Forms at {base_url(listener)}/ (Ctrl+C to stop)", flush=True)
        serve_forever(app, listener)
    return 0


def _start_emulators(host: Any, stack: ExitStack) -> dict[str, Mapping[str, Any]]:
    """Each plugin's emulator, running for this server's lifetime: {component: connection values}.

    A plugin's answer is kept only for components that plugin registered itself, so an
    emulator's demo key reaches no other connector.
    """
    presets: dict[str, Mapping[str, Any]] = {}
    for plugin, answer in host.call_per_plugin("start_emulators", stack=stack):
        own = host.components_of(plugin)
        presets.update({name: values for name, values in (answer or {}).items() if name in own})
    return presets


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
