"""The `zhipu-connector` command line.

Commands are listed in `COMMANDS` by the module that implements them and imported only when
chosen, so `zhipu-connector docs` never pays for the emulator, the HTTP server or the form
renderer. A command module offers `<name>_arguments(parser)` and `<name>_command(args) -> int`.

Every failure the program expects is a `ConnectorError`: it is printed as one message on
stderr (secrets masked) with exit status 1. Usage errors exit with 2, an interrupt with 130.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("zhipu_connector.cli", "check a component definition file and print every problem"),
    "describe": ("zhipu_connector.cli", "summarise the component: connection and actions"),
    "docs": ("zhipu_connector.cli", "write the component's reference page"),
    "schema": ("zhipu_connector.cli", "print the JSON Schema of an action's inputs or output"),
    "run": ("zhipu_connector.cli", "run one action and print its result as JSON"),
    "emulator": ("zhipu_connector.emulator.cli", "serve the Zhipu-compatible emulator on loopback"),
    "form": ("zhipu_connector.forms.cli", "print an action's or the connection's form"),
    "serve": ("zhipu_connector.forms.cli", "serve a local page to configure and run actions"),
    "workflow": ("zhipu_connector.workflow.cli", "check or run a workflow file"),
    "batch": ("zhipu_connector.workflow.cli", "run one action over every row of a JSONL file"),
    "demo": ("zhipu_connector.workflow.cli", "run the example workflows against the embedded emulator"),
}

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = _parser(_chosen_command(args_list))
    args = parser.parse_args(args_list)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
    from zhipu_connector.host.errors import ConnectorError

    try:
        return int(args.handler(args) or 0)
    except ConnectorError as error:
        report_error(error)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # e.g. piped into `head`
        return 0


def _chosen_command(argv: list[str]) -> str | None:
    for word in argv:
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def _parser(chosen: str | None) -> argparse.ArgumentParser:
    from zhipu_connector import __version__

    parser = argparse.ArgumentParser(
        prog="zhipu-connector", description="A Zhipu AI connector for low-code workflow engines."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, summary) in COMMANDS.items():
        sub = commands.add_parser(name, help=summary, description=summary[:1].upper() + summary[1:] + ".")
        if name == chosen:  # only the chosen command's module is imported
            module = importlib.import_module(module_name)
            getattr(module, f"{name}_arguments")(sub)
            sub.set_defaults(handler=getattr(module, f"{name}_command"))
    return parser


# ---------------------------------------------------------------- helpers for every command


def report_error(error: BaseException) -> None:
    """One clear message on stderr, secrets masked, never a traceback."""
    from zhipu_connector.host.secrets import scrub

    print(f"error: {scrub(str(error))}", file=sys.stderr)


def print_json(value: Any, *, stream: Any = None) -> None:
    json.dump(value, stream or sys.stdout, indent=2, ensure_ascii=False)
    (stream or sys.stdout).write("\n")


def add_definition_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--definition", metavar="PATH", help="component definition file (default: the shipped connector.yaml)"
    )


def load_definition(path: str | None) -> Any:
    from zhipu_connector.definition.loader import load_component
    from zhipu_connector.resources import data_path

    return load_component(path or data_path("connector.yaml"))


def add_input_arguments(parser: argparse.ArgumentParser) -> None:
    """`--input JSON`, `--input-file FILE` and repeated `-i key=value`, merged in that order."""
    parser.add_argument("--input", metavar="JSON", help="inputs as one JSON object")
    parser.add_argument("--input-file", metavar="FILE", help="inputs from a JSON (or YAML) file; - for stdin")
    parser.add_argument(
        "-i",
        dest="pairs",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="one input; VALUE is parsed as JSON when it can be (numbers, true, lists), else taken as text",
    )


def collect_inputs(args: argparse.Namespace) -> dict[str, Any]:
    from zhipu_connector.host.errors import InputValidationError, Problem

    inputs: dict[str, Any] = {}
    if args.input_file:
        text = sys.stdin.read() if args.input_file == "-" else _read_text(args.input_file, "--input-file")
        inputs.update(_parse_object(text, "--input-file", allow_yaml=True))
    if args.input:
        inputs.update(_parse_object(args.input, "--input"))
    for pair in args.pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise InputValidationError([Problem("-i", f"{pair!r} is not KEY=VALUE")])
        inputs[key] = _json_or_text(raw)
    return inputs


def _read_text(path: str, option: str) -> str:
    from zhipu_connector.host.errors import InputValidationError, Problem

    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise InputValidationError(
            [Problem(option, f"cannot read {path}: {getattr(error, 'strerror', None) or error}")]
        ) from None


def _parse_object(text: str, option: str, *, allow_yaml: bool = False) -> dict[str, Any]:
    from zhipu_connector.host.errors import InputValidationError, Problem

    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        if not allow_yaml:
            raise InputValidationError(
                [Problem(option, f"not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}")]
            ) from None
        from zhipu_connector.definition.yaml_source import YamlError, read_yaml

        try:
            value = read_yaml(text).data
        except YamlError as yaml_error:
            raise InputValidationError([Problem(option, f"neither JSON nor YAML: {yaml_error}")]) from None
    if not isinstance(value, dict):
        raise InputValidationError([Problem(option, f"must be a JSON object, not {type(value).__name__}")])
    return value


def _json_or_text(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def add_connection_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--token", help="API key (default: $ZHIPUAI_API_KEY); never printed")
    parser.add_argument("--base-url", help="API base URL (default: $ZHIPUAI_BASE_URL, else the mainland platform)")
    parser.add_argument("--jwt", action="store_true", help="authenticate with a signed JWT instead of the raw key")
    parser.add_argument(
        "-c",
        dest="connection_pairs",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="any other connection property, by its key",
    )


def connection_values(
    args: argparse.Namespace, component: Any, environ: Mapping[str, str] = os.environ
) -> dict[str, Any]:
    """The connection as `component` declares it, from options and environment.

    `--token` fills the connection's secret property (Zhipu's `token`), `--base-url` its
    `baseUrl`, `--jwt` its `authentication`; `-c key=value` sets any property by key.
    """
    from zhipu_connector.host.errors import ConnectionValidationError, Problem

    auths = component.connection.authorizations if component.connection else ()
    properties = {prop.name: prop for prop in auths[0].properties} if auths else {}
    values: dict[str, Any] = {}
    token = args.token or environ.get("ZHIPUAI_API_KEY")
    secret_key = next((name for name, prop in properties.items() if prop.secret), None)
    if token and secret_key:
        values[secret_key] = token
    base_url = args.base_url or environ.get("ZHIPUAI_BASE_URL")
    if base_url and "baseUrl" in properties:
        values["baseUrl"] = base_url
    if getattr(args, "jwt", False) and "authentication" in properties:
        values["authentication"] = "JWT"
    for pair in getattr(args, "connection_pairs", []):
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ConnectionValidationError([Problem("-c", f"{pair!r} is not KEY=VALUE")])
        values[key] = _json_or_text(raw)
    return values


def split_action(name: str) -> tuple[str, str]:
    """`ask` → (`zhipu`, `ask`); `core.logger` or `core/v1/logger` → (`core`, `logger`)."""
    if "/" in name:
        parts = name.split("/")
        return parts[0], parts[-1]
    if "." in name:
        component, _, action = name.partition(".")
        return component, action
    return "zhipu", name


# ---------------------------------------------------------------- validate


def validate_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", nargs="?", help="definition file (default: the shipped connector.yaml)")


def validate_command(args: argparse.Namespace) -> int:
    component = load_definition(args.path)
    print(f"ok: {component.name} v{component.version}, actions: {', '.join(component.action_names)}")
    return 0


# ---------------------------------------------------------------- describe


def describe_arguments(parser: argparse.ArgumentParser) -> None:
    add_definition_argument(parser)
    parser.add_argument("--json", action="store_true", help="print the loaded definition as JSON")


def describe_command(args: argparse.Namespace) -> int:
    component = load_definition(args.definition)
    if args.json:
        print_json(component.model_dump(mode="json", by_alias=True, exclude_defaults=True))
        return 0
    print(f"{component.title} ({component.name} v{component.version})")
    if component.description:
        print(f"  {component.description}")
    if component.categories:
        print(f"  categories: {', '.join(component.categories)}")
    if component.connection:
        for auth in component.connection.authorizations:
            print(f"connection {auth.name} ({auth.type}): {', '.join(_row(p) for p in auth.properties)}")
    for action in component.actions:
        print(f"action {action.name}: {action.title} — {action.description or ''}".rstrip(" —"))
        for prop in action.properties:
            print(f"  {_row(prop)}")
        print(f"  → output: {action.output.type}")
    return 0


def _row(prop: Any) -> str:
    marks = [prop.type]
    if prop.required:
        marks.append("required")
    if prop.has_default:
        marks.append(f"default {json.dumps(prop.default_value)}")
    if prop.secret:
        marks.append("secret")
    return f"{prop.name} ({', '.join(marks)})"


# ---------------------------------------------------------------- docs


def docs_arguments(parser: argparse.ArgumentParser) -> None:
    add_definition_argument(parser)
    parser.add_argument("--output", metavar="FILE", help="write to FILE instead of stdout")


def docs_command(args: argparse.Namespace) -> int:
    from zhipu_connector.docgen import reference_page

    page = reference_page(load_definition(args.definition))
    if args.output:
        Path(args.output).write_text(page, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(page)
    return 0


# ---------------------------------------------------------------- schema


def schema_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", help="action key, e.g. ask or createImage")
    parser.add_argument(
        "--output-schema", action="store_true", help="the schema of the action's output instead of its inputs"
    )
    add_definition_argument(parser)


def schema_command(args: argparse.Namespace) -> int:
    from zhipu_connector.definition.json_schema import input_schema, output_schema
    from zhipu_connector.host.errors import UnknownActionError

    component = load_definition(args.definition)
    _, action_name = split_action(args.action)
    try:
        action = component.action(action_name)
    except KeyError:
        raise UnknownActionError(
            f"{component.name} has no action {action_name!r} (known: {', '.join(component.action_names)})"
        ) from None
    derive = output_schema if args.output_schema else input_schema
    print_json(derive(action, component=component.name))
    return 0


# ---------------------------------------------------------------- run


def run_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", help="action key: ask, createImage, or COMPONENT.ACTION")
    add_input_arguments(parser)
    add_connection_arguments(parser)
    parser.add_argument(
        "--stream", action="store_true", help="print text as it arrives (actions that stream, such as ask)"
    )


def run_command(args: argparse.Namespace) -> int:
    from zhipu_connector.host.context import ActionContext
    from zhipu_connector.host.host import default_host

    configure_logging()
    component, action = split_action(args.action)
    host = default_host()
    bound = host.action(component, action)
    inputs = collect_inputs(args)
    connection = (
        host.connection(component, connection_values(args, bound.component)) if bound.connections.required else None
    )
    context = ActionContext(component, action)
    streamed = False
    if args.stream:

        def on_partial(text: str) -> None:
            nonlocal streamed
            streamed = True
            sys.stderr.write(text)
            sys.stderr.flush()

        context.on_partial = on_partial
    result = host.run_action(component, action, inputs, connection, context=context)
    if streamed:
        sys.stderr.write("\n")
    print_json(result)
    return 0


def configure_logging(level: int | None = None) -> None:
    """Warnings (secrets masked) on stderr for every command that runs actions."""
    import logging

    from zhipu_connector.host.log_filter import ScrubbingFilter

    class CurrentStderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
        """Writes to whatever `sys.stderr` is at the time, not the stream of the first call."""

        @property  # type: ignore[override]
        def stream(self) -> Any:
            return sys.stderr

        @stream.setter
        def stream(self, value: Any) -> None:
            pass

    logger = logging.getLogger("zhipu_connector")
    if not any(getattr(h, "zhipu_connector_cli", False) for h in logger.handlers):
        handler = CurrentStderrHandler()
        handler.zhipu_connector_cli = True  # type: ignore[attr-defined]
        handler.addFilter(ScrubbingFilter())
        handler.setFormatter(logging.Formatter("%(levelname)s: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level or logging.WARNING)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
