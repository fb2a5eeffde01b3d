"""`zhipu-connector connection test`: does this connection work, and if not, precisely why not.

The component's own connection test runs (its definition declares it, its plugin checks it);
the connection comes from the variables that component declares and the usual options. The
result is one line, or JSON with `--json`; the token is never printed.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from zhipu_connector.cli import EXIT_FAILED, add_connection_arguments, configure_logging, connection_values, print_json
from zhipu_connector.errors import UnknownActionError
from zhipu_connector.host.host import default_host

if TYPE_CHECKING:
    from zhipu_connector.host.host import Host


def connection_arguments(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="connection_command", metavar="SUBCOMMAND", required=True)
    test = commands.add_parser(
        "test",
        help="check that a connection works, cheaply",
        description=(
            "Run a component's connection test: exit 0 when the connection works, 1 with the precise "
            "reason when it does not (a refused key, a wrong base URL, an unreachable server, ...)."
        ),
    )
    test.add_argument(
        "component", nargs="?", help="the component (default: the only one that declares a connection test)"
    )
    test.add_argument("--authorization", metavar="NAME", help="which authorization (default: the first)")
    test.add_argument("--json", action="store_true", help="print the result as JSON")
    add_connection_arguments(test)


def connection_command(args: argparse.Namespace) -> int:
    configure_logging()
    host = default_host()
    component = host.component(_component_name(host, args.component))
    values = connection_values(args, component)
    result = host.test_connection(component.name, values, args.authorization)
    if args.json:
        print_json(result.to_dict())
    elif result.ok:
        print(f"ok: {result.message}")
    else:
        print(f"failed: {result.message}", file=sys.stderr)
    return 0 if result.ok else EXIT_FAILED


def _component_name(host: Host, given: str | None) -> str:
    testable = sorted(c.name for c in host.components if host.has_connection_test(c.name))
    if given is not None:
        if given not in testable:
            known = ", ".join(testable) or "none"
            raise UnknownActionError(f"{given} declares no connection test (components that do: {known})")
        return given
    if len(testable) == 1:
        return testable[0]
    if not testable:
        raise UnknownActionError("no component declares a connection test")
    raise UnknownActionError(f"several components declare a connection test ({', '.join(testable)}): name one")
