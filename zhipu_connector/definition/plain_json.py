"""What a JSON value read from outside may be, and the one strict JSON reader.

Python's `json` reads `NaN` and `Infinity`, turns `1e999` into infinity, builds integers of
any length (whose printing then fails past 4,300 digits) and recurses once per level of
nesting. Each of those reached a traceback somewhere downstream (a request body that cannot
be serialised, a validator's `RecursionError`, a bound that compares false with NaN). So
every value that comes in — a definition, a workflow file, inputs, connection values, a form
server body — is held to what JSON can exchange: finite numbers, integers of at most
`MAX_INTEGER_DIGITS` digits, at most `MAX_DEPTH` levels of nesting. Each breach is a
`Problem` at its location (`messages[0].content`).
"""

from __future__ import annotations

import math
from typing import Any

from zhipu_connector.definition.locations import location
from zhipu_connector.errors import Problem

MAX_DEPTH = 64
"""Levels of objects and arrays; the deepest input the connector's actions take is under ten."""
MAX_INTEGER_DIGITS = 4300
"""Python's own limit for turning an integer into text (`sys.get_int_max_str_digits`)."""
_MAX_INTEGER = 10**MAX_INTEGER_DIGITS


class JsonValueError(ValueError):
    """Text that is not JSON this project accepts; carries one `Problem` per finding."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(map(str, problems)))


class JsonSyntaxError(JsonValueError):
    """Text that is not JSON at all (as opposed to JSON holding what JSON should not)."""


def value_problems(value: Any, *, max_depth: int = MAX_DEPTH) -> list[Problem]:
    """Where `value` holds what JSON cannot carry: NaN or infinity, a huge integer, deep nesting.

    Walked without recursion, so a value nested 100,000 levels deep is reported, not crashed on.
    Dispatch asks this of every call's inputs and result, so a quick pass that only says yes or
    no comes first; places are worked out only for a value that has a problem.
    """
    if _plain(value, max_depth):
        return []
    problems: list[Problem] = []
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        item, path = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                problems.append(Problem(location(path), f"{item} is not a finite number"))
        elif isinstance(item, int) and not isinstance(item, bool):
            if abs(item) >= _MAX_INTEGER:
                problems.append(Problem(location(path), f"an integer of more than {MAX_INTEGER_DIGITS} digits"))
        elif isinstance(item, (dict, list)):
            if len(path) >= max_depth:
                problems.append(Problem(location(path), f"nested deeper than {max_depth} levels"))
                continue
            children = item.items() if isinstance(item, dict) else enumerate(item)
            stack.extend((child, (*path, key)) for key, child in reversed(list(children)))
    return problems


def _plain(value: Any, max_depth: int) -> bool:
    """Whether `value` is plain JSON, without keeping track of where anything is."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        item, depth = pop()
        kind = type(item)
        if kind is str or kind is bool or item is None:
            continue
        if kind is dict or kind is list:
            if depth >= max_depth:
                return False
            for child in item.values() if kind is dict else item:
                push((child, depth + 1))
        elif kind is float:
            if not math.isfinite(item):
                return False
        elif kind is int:
            if item.bit_length() > 14_000 and abs(item) >= _MAX_INTEGER:  # 10**4300 needs 14,285 bits
                return False
        elif isinstance(item, (dict, list, float, int)):  # a subclass: the careful walk decides
            return False
    return True


def read_json(text: str | bytes, **options: Any) -> Any:
    """`json.loads` held to `value_problems`' rules; `JsonValueError` names what is wrong and where."""
    import json  # imported here: `json` is not imported at start (`value_problems` is)

    try:
        value = json.loads(text, parse_constant=_constant, parse_int=_integer, parse_float=_float, **options)
    except JsonValueError:
        raise
    except json.JSONDecodeError as error:
        raise JsonSyntaxError(
            [Problem("", f"not valid JSON: {error.msg} at line {error.lineno}, column {error.colno}")]
        ) from None
    except RecursionError:
        raise JsonValueError([Problem("", f"nested deeper than {MAX_DEPTH} levels")]) from None
    problems = value_problems(value)
    if problems:
        raise JsonValueError(problems)
    return value


def _constant(name: str) -> Any:
    raise JsonValueError([Problem("", f"{name} is not a number JSON allows")])


def _integer(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise JsonValueError([Problem("", f"an integer of more than {MAX_INTEGER_DIGITS} digits")])
    return int(digits)


def _float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise JsonValueError([Problem("", f"{text[:20]} is out of the range of a number")])
    return number
