"""A plugin that adds a command, and the command's module: the `register_commands` hook in a test."""

from __future__ import annotations

import argparse
from typing import Any

from zhipu_connector import hookimpl


@hookimpl
def register_commands(register: Any) -> None:
    register("say-hello", "connectors.hello_command", "greet someone")


def say_hello_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--name", default="world")


def say_hello_command(args: argparse.Namespace) -> int:
    print(f"hello, {args.name}")
    return 0


class TakesRun:
    """A plugin that wants a built-in name."""

    @hookimpl
    def register_commands(self, register: Any) -> None:
        register("run", "connectors.hello_command", "run something else")
