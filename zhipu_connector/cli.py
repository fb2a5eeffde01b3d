"""The `zhipu-connector` command line.

Commands are listed in `COMMANDS` by the module that implements them and imported only when
chosen, so `zhipu-connector docs` never pays for the HTTP server or the form renderer. A
command module offers `<name>_arguments(parser)` and `<name>_command(args) -> int`. Plugins add
their own commands through the `register_commands` hook (the Zhipu plugin adds `emulator` and
`demo`); the plugins are asked only when the chosen command is not a built-in one.

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

from zhipu_connector import __version__
from zhipu_connector.definition.loader import load_component
from zhipu_connector.definition.plain_json import JsonSyntaxError, JsonValueError, read_json
from zhipu_connector.definition.sources import MAX_BYTES
from zhipu_connector.docgen import reference_page
from zhipu_connector.errors import (
    ConnectionValidationError,
    ConnectorError,
    InputValidationError,
    PluginError,
    Problem,
    UnknownActionError,
)
from zhipu_connector.host.context import ActionContext
from zhipu_connector.host.environment import authorization_of, environment_values, typed_text
from zhipu_connector.host.host import default_host, resolve_action_name
from zhipu_connector.host.secrets import StreamScrubber, scrub, scrub_value
from zhipu_connector.resources import data_path

COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("zhipu_connector.cli", "check a component definition file and print every problem"),
    "describe": ("zhipu_connector.cli", "summarise the component: connection and actions"),
    "docs": ("zhipu_connector.cli", "write the component's reference page"),
    "schema": ("zhipu_connector.cli", "print the JSON Schema of an action's inputs or output"),
    "run": ("zhipu_connector.cli", "run one action and print its result as JSON"),
    "connection": ("zhipu_connector.connection_cli", "test a component's connection"),
    "form": ("zhipu_connector.forms.cli", "print an action's or the connection's form"),
    "serve": ("zhipu_connector.forms.cli", "serve a local page to configure and run actions"),
    "workflow": ("zhipu_connector.workflow.cli", "check or run a workflow file"),
    "batch": ("zhipu_connector.workflow.cli", "run one action over every row of a JSONL file"),
}

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args_list = list(sys.argv[1:] if argv is None else argv)

    try:
        chosen = _chosen_command(args_list)
        commands = COMMANDS if chosen in COMMANDS else {**COMMANDS, **plugin_commands()}
        parser = _parser(commands, chosen)
    except ConnectorError as error:  # a plugin that cannot be loaded
        report_error(error)
        return EXIT_FAILED
    args = parser.parse_args(args_list)
    if not getattr(args, "command", None):
        parser.print_help()
        return EXIT_USAGE
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
            return word
    return None


def plugin_commands() -> dict[str, tuple[str, str]]:
    """The commands plugins add through `register_commands`: name → (module, summary)."""

    added: dict[str, tuple[str, str]] = {}

    def register(name: str, module: str, summary: str) -> None:
        if name in COMMANDS or name in added:
            raise PluginError(f"a plugin registers the command {name!r}, which is already taken")
        added[name] = (module, summary)

    default_host().plugins.hook.register_commands(register=register)
    return added


def _parser(commands: Mapping[str, tuple[str, str]], chosen: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="zhipu-connector", description="A Zhipu AI connector for low-code workflow engines."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, summary) in commands.items():
        sub = subparsers.add_parser(name, help=summary, description=summary[:1].upper() + summary[1:] + ".")
        if name == chosen:  # only the chosen command's module is imported
            module = importlib.import_module(module_name)
            prefix = name.replace("-", "_")
            getattr(module, f"{prefix}_arguments")(sub)
            sub.set_defaults(handler=getattr(module, f"{prefix}_command"))
    return parser


# ---------------------------------------------------------------- helpers for every command


def report_error(error: BaseException) -> None:
    """One clear message on stderr, secrets masked, never a traceback."""
    print(f"error: {scrub(str(error))}", file=sys.stderr)


def print_json(value: Any, *, stream: Any = None) -> None:
    """`value` as indented JSON, with every registered secret masked (an answer may quote the key)."""
    json.dump(scrub_value(value), stream or sys.stdout, indent=2, ensure_ascii=False)
    (stream or sys.stdout).write("\n")


def add_definition_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--definition", metavar="PATH", help="component definition file (default: the shipped connector.yaml)"
    )


def load_definition(path: str | None) -> Any:
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
    inputs: dict[str, Any] = {}
    if args.input_file:
        text = read_input_text(args.input_file, "--input-file")
        inputs.update(_parse_object(text, "--input-file", allow_yaml=True))
    if args.input:
        inputs.update(_parse_object(args.input, "--input"))
    for pair in args.pairs:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise InputValidationError([Problem("-i", f"{pair!r} is not KEY=VALUE")])
        inputs[key] = _json_or_text(raw)
    return inputs


def read_input_text(path: str, option: str) -> str:
    """The text of an input file (`-` for stdin), refused past the size limit of definitions.

    Read with a bound, so `--input-file /dev/zero` or an endless pipe stops at the limit
    instead of reading until memory runs out.
    """
    limit = MAX_BYTES
    try:
        if path == "-":
            raw = sys.stdin.buffer.read(limit + 1)
        else:
            with open(path, "rb") as file:
                raw = file.read(limit + 1)
    except OSError as error:
        raise InputValidationError([Problem(option, f"cannot read {path}: {error.strerror or error}")]) from None
    if len(raw) > limit:
        raise InputValidationError([Problem(option, f"{path} is over the limit of {limit} bytes")])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise InputValidationError([Problem(option, f"{path} is not UTF-8 text (byte {error.start})")]) from None


def check_output_file(path: str, option: str) -> Path:
    """Refuse, before any work (and any billed call), an output file that cannot be written."""
    target = Path(path)
    if target.is_dir():
        raise InputValidationError([Problem(option, f"{path} is a directory; name a file")])
    if not target.parent.is_dir():
        raise InputValidationError(
            [Problem(option, f"cannot write {path}: the directory {target.parent} does not exist")]
        )
    if not os.access(target if target.exists() else target.parent, os.W_OK):
        raise InputValidationError([Problem(option, f"cannot write {path}: permission denied")])
    return target


def _parse_object(text: str, option: str, *, allow_yaml: bool = False) -> dict[str, Any]:
    try:
        value = read_json(text)
    except JsonSyntaxError as error:
        if not allow_yaml:
            raise InputValidationError([Problem(option, p.message) for p in error.problems]) from None
        from zhipu_connector.definition.yaml_source import YamlError, read_yaml

        try:
            value = read_yaml(text).data
        except YamlError as yaml_error:
            raise InputValidationError([Problem(option, f"neither JSON nor YAML: {yaml_error}")]) from None
    except JsonValueError as error:
        raise InputValidationError([Problem(p.location or option, p.message) for p in error.problems]) from None
    if not isinstance(value, dict):
        raise InputValidationError([Problem(option, f"must be a JSON object, not {type(value).__name__}")])
    return value


def _json_or_text(raw: str) -> Any:
    try:
        return read_json(raw)
    except JsonSyntaxError:
        return raw
    except JsonValueError as error:
        raise InputValidationError([Problem("-i", p.message) for p in error.problems]) from None


def add_connection_arguments(parser: argparse.ArgumentParser, *, several_components: bool = False) -> None:
    """`-c KEY=VALUE` (and `COMPONENT.KEY=VALUE`); for a single action also `--token`, `--base-url`, `--jwt`.

    A component's connection is filled from the environment variables its definition names
    for its properties (`environment:`), then from these options. No other variable is read,
    and a value given for one component never reaches another.
    """
    if not several_components:
        parser.add_argument("--token", help="the component's `token` property (an API key); never printed")
        parser.add_argument("--base-url", help="the component's `baseUrl` property")
        parser.add_argument("--jwt", action="store_true", help="set the component's `authentication` property to JWT")
        parser.add_argument(
            "--timeout",
            type=_seconds,
            metavar="SECONDS",
            help="the component's `timeout` property: the most one call may take, retries included",
        )
    parser.add_argument(
        "-c",
        dest="connection_pairs",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help=(
            "a connection property by key; COMPONENT.KEY=VALUE names the component"
            + (" (needed when several components of the workflow declare KEY)" if several_components else "")
        ),
    )


def _seconds(text: str) -> float:
    """`--timeout`'s value: a positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text!r}")
    return value


def connection_values(
    args: argparse.Namespace, component: Any, environ: Mapping[str, str] = os.environ
) -> dict[str, Any]:
    """The connection of `component` (the one an action belongs to): its declared variables, then the options.

    `--token`, `--base-url`, `--timeout` and `--jwt` set the properties `token`, `baseUrl`,
    `timeout` and `authentication` (JWT) and are refused for a component that declares no such
    property.
    """

    auth = authorization_of(component)
    properties = {prop.name: prop for prop in auth.properties} if auth else {}
    values = environment_values(component, environ)
    problems: list[Problem] = []
    for option, attribute, key in (
        ("--token", "token", "token"),
        ("--base-url", "base_url", "baseUrl"),
        ("--timeout", "timeout", "timeout"),
    ):
        given = getattr(args, attribute, None)
        if given is None:
            continue
        if key in properties:
            values[key] = given
        else:
            problems.append(Problem(option, _undeclared(component, key, properties)))
    if getattr(args, "jwt", False):
        if "authentication" in properties:
            values["authentication"] = "JWT"
        else:
            problems.append(Problem("--jwt", _undeclared(component, "authentication", properties)))
    for target, key, raw, pair in _connection_pairs(args, problems):
        if target is not None and target != component.name:
            problems.append(Problem("-c", f"{pair!r} names {target}, but the action belongs to {component.name}"))
        elif key in properties:
            values[key] = _typed(properties[key], raw)
        else:
            values[key] = raw  # reported by the connection's validation as an unknown key
    if problems:
        raise ConnectionValidationError(problems, subject=component.name)
    return values


def connections_by_component(
    args: argparse.Namespace,
    components: Sequence[Any],
    environ: Mapping[str, str] = os.environ,
    given: Mapping[str, Mapping[str, Any]] | None = None,
) -> dict[str, dict[str, Any]]:
    """Connections of several components (a workflow's, a form server's), each from its own declarations.

    Each component gets the variables it declares, then its entry in `given` (a connections
    file); `-c COMPONENT.KEY=VALUE` goes to that
    component, and a bare `-c KEY=VALUE` to the one component that declares `KEY` — when
    several do, it is refused with their names rather than given to all of them.
    """

    declared: dict[str, dict[str, Any]] = {}
    values: dict[str, dict[str, Any]] = {}
    for component in components:
        auth = authorization_of(component)
        if auth is None:
            continue
        declared[component.name] = {prop.name: prop for prop in auth.properties}
        values[component.name] = {**environment_values(component, environ), **(given or {}).get(component.name, {})}
    problems: list[Problem] = []
    for target, key, raw, pair in _connection_pairs(args, problems):
        if target is None:
            owners = [name for name, properties in declared.items() if key in properties]
            if len(owners) != 1:
                problems.append(Problem("-c", _ambiguous_key(pair, key, owners, list(declared))))
                continue
            target = owners[0]
        if target not in declared:
            known = ", ".join(declared) or "none"
            problems.append(Problem("-c", f"{pair!r}: {target} is not a component here with a connection ({known})"))
            continue
        prop = declared[target].get(key)
        values[target][key] = _typed(prop, raw) if prop is not None else raw
    if problems:
        raise ConnectionValidationError(problems)
    return values


def _connection_pairs(args: argparse.Namespace, problems: list[Any]) -> list[tuple[str | None, str, str, str]]:
    """Each `-c` as (component or None, key, raw value, the pair as written); malformed ones go to `problems`."""
    pairs = []
    for pair in getattr(args, "connection_pairs", []):
        name, sep, raw = pair.partition("=")
        target, dot, key = name.rpartition(".")
        if not sep or not key or (dot and not target):
            problems.append(Problem("-c", f"{pair!r} is not KEY=VALUE or COMPONENT.KEY=VALUE"))
            continue
        pairs.append((target or None, key, raw, pair))
    return pairs


def _typed(prop: Any, raw: str) -> Any:
    return typed_text(prop, raw)


def _undeclared(component: Any, key: str, properties: Mapping[str, Any]) -> str:
    known = ", ".join(properties) or "none"
    return f"{component.name} declares no connection property {key!r} (its properties: {known}); use -c KEY=VALUE"


def _ambiguous_key(pair: str, key: str, owners: list[str], components: list[str]) -> str:
    if not owners:
        return f"{pair!r}: no component here declares a connection property {key!r} (components: {', '.join(components) or 'none'})"
    return (
        f"{pair!r}: {key!r} is a connection property of {', '.join(owners)}; "
        f"write COMPONENT.{key}=VALUE, e.g. -c {owners[0]}.{key}=..."
    )


def definition_action(name: str, definition: str | None) -> tuple[Any, Any]:
    """(component, action) for commands that need only definitions (`schema`, `form`).

    With `--definition` the action is looked up in that file; without, among the components
    of every loaded plugin. A bare name must be offered by exactly one of them.
    """

    if definition:
        components: Sequence[Any] = (load_definition(definition),)
    else:
        components = default_host().components
    component_name, action_name = resolve_action_name(name, components)
    component = next((c for c in components if c.name == component_name), None)
    if component is None:
        known = ", ".join(c.name for c in components)
        raise UnknownActionError(f"unknown component {component_name!r} (known: {known})")
    try:
        return component, component.action(action_name)
    except KeyError:
        raise UnknownActionError(
            f"{component.name} has no action {action_name!r} (known: {', '.join(component.action_names)})"
        ) from None


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
    target = check_output_file(args.output, "--output") if args.output else None
    page = reference_page(load_definition(args.definition))
    if target is not None:
        target.write_text(page, encoding="utf-8")
        print(f"wrote {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(page)
    return 0


# ---------------------------------------------------------------- schema


def schema_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("action", help="action key (ask, createImage) or COMPONENT.ACTION")
    parser.add_argument(
        "--output-schema", action="store_true", help="the schema of the action's output instead of its inputs"
    )
    add_definition_argument(parser)


def schema_command(args: argparse.Namespace) -> int:
    from zhipu_connector.definition.json_schema import input_schema, output_schema

    component, action = definition_action(args.action, args.definition)
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
    configure_logging()
    host = default_host()
    component, action = host.resolve_action(args.action)
    bound = host.action(component, action)
    inputs = collect_inputs(args)
    connection = (
        host.connection(component, connection_values(args, bound.component)) if bound.connections.required else None
    )
    context = ActionContext(component, action)
    streamed = False
    if args.stream:
        masked = StreamScrubber()  # a key split across two pieces is still masked
        reasoning = _ReasoningOnStderr()

        def on_partial(text: str) -> None:
            nonlocal streamed
            streamed = True
            reasoning.end()
            shown = masked.feed(text)
            if shown:
                sys.stderr.write(shown)
            sys.stderr.flush()

        context.on_partial = on_partial
        context.on_reasoning = reasoning.write
    try:
        result = host.run_action(component, action, inputs, connection, context=context)
    finally:
        if args.stream:
            reasoning.end()
        if streamed:
            rest = masked.flush()
            if rest:
                sys.stderr.write(rest)
            sys.stderr.write("\n")
    print_json(result)
    return 0


class _ReasoningOnStderr:
    """A model's reasoning on stderr as it arrives, kept apart from the answer (stdout keeps only
    the result): dimmed on a terminal, after a `reasoning: ` label elsewhere, and a line break
    before the answer's text begins. Masked by a scrubber of its own, as the answer is."""

    DIM, PLAIN = "\x1b[2m", "\x1b[0m"

    def __init__(self) -> None:
        self._masked = StreamScrubber()
        self._open = False
        self._terminal = bool(getattr(sys.stderr, "isatty", lambda: False)())

    def write(self, text: str) -> None:
        shown = self._masked.feed(text)
        if not shown:
            return
        if not self._open:
            sys.stderr.write("" if self._terminal else "reasoning: ")
            self._open = True
        sys.stderr.write(f"{self.DIM}{shown}{self.PLAIN}" if self._terminal else shown)
        sys.stderr.flush()

    def end(self) -> None:
        """Before the answer's text: the rest of the reasoning (held back by the masking), then a line break."""
        rest = self._masked.flush()
        if rest and not self._open:
            sys.stderr.write("" if self._terminal else "reasoning: ")
            self._open = True
        if self._open:
            sys.stderr.write((f"{self.DIM}{rest}{self.PLAIN}" if self._terminal and rest else rest) + "\n")
            self._open = False


def configure_logging(level: int | None = None) -> None:
    """Warnings (secrets masked) on stderr for every command that runs actions."""
    import logging

    from zhipu_connector.host.log_filter import ScrubbingFilter

    class CurrentStderrHandler(logging.StreamHandler):
        """Writes to whatever `sys.stderr` is at the time, not the stream of the first call."""

        @property
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
