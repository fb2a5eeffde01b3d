"""Display conditions: the small expression language that decides whether a property is shown.

A property's `displayCondition` (`format == 'SIMPLE'`) is read by the hand-written tokenizer and
recursive-descent parser below into an immutable tree. Python's own expression machinery is
never involved: a definition file is data, and data must not run code. The grammar, the
evaluation rules and the JSON Schema translation are documented in `docs/display-conditions.md`.
"""

from __future__ import annotations

import functools
import math
import operator
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, ClassVar

from zhipu_connector.errors import ConnectorError

MAX_LENGTH = 1000
MAX_DEPTH = 32


class ConditionSyntaxError(ConnectorError, ValueError):
    """A condition that does not parse.

    `str()` stands alone (what is wrong, the 0-based column, the condition, how to fix it), so
    the definition loader only has to prefix the property's location.
    """

    def __init__(self, message: str, source: str, column: int, hint: str = "") -> None:
        self.message, self.source, self.column, self.hint = message, source, column, hint
        text = f"{message} at column {column} {_excerpt(source, column)}"
        super().__init__(f"{text}: {hint}" if hint else text)


def _excerpt(source: str, column: int) -> str:
    """The whole condition when short, else the 80 characters around the column."""
    if len(source) <= 100:
        return f"in condition {source!r}"
    start, end = max(0, column - 40), min(len(source), column + 40)
    text = ("…" if start else "") + source[start:end] + ("…" if end < len(source) else "")
    return f"in condition near {text!r}"


# ---------------------------------------------------------------- values: JSON semantics


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _truthy(value: Any) -> bool:
    """null, false, 0, "" and empty arrays/objects are false; everything else is true."""
    if value is None or isinstance(value, bool):
        return value is True
    if _is_number(value):
        return value != 0
    if isinstance(value, (str, list, tuple, Mapping)):
        return len(value) > 0
    return True


def _json_equal(left: Any, right: Any) -> bool:
    """JSON equality, as JSON Schema's `const` sees it: `true` is not `1`, `1` is `1.0`."""
    if left is None or right is None:
        return left is right
    if _is_number(left) or _is_number(right):
        return _is_number(left) and _is_number(right) and left == right
    if isinstance(left, str) or isinstance(right, str):
        return isinstance(left, str) and isinstance(right, str) and left == right
    if isinstance(left, Mapping) and isinstance(right, Mapping):
        return left.keys() == right.keys() and all(_json_equal(v, right[k]) for k, v in left.items())
    if isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
        return len(left) == len(right) and all(map(_json_equal, left, right))
    return left is right or (type(left) is type(right) and (left == right) is True)


def _ordering(compare: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    """Order two numbers or two strings; any other pair is simply not ordered (false)."""

    def check(left: Any, right: Any) -> bool:
        if (_is_number(left) and _is_number(right)) or (isinstance(left, str) and isinstance(right, str)):
            return compare(left, right)
        return False

    return check


_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "==": _json_equal,
    "!=": lambda left, right: not _json_equal(left, right),
    "<": _ordering(operator.lt),
    "<=": _ordering(operator.le),
    ">": _ordering(operator.gt),
    ">=": _ordering(operator.ge),
}
_FALSY: list[Any] = [None, False, 0, "", [], {}]


# ---------------------------------------------------------------- the tree


class _ItemIndex:
    """The `[index]` step: the position of the array item the condition is evaluated for."""

    def __repr__(self) -> str:
        return "ITEM_INDEX"


ITEM_INDEX = _ItemIndex()
Step = str | int | _ItemIndex


@dataclass(frozen=True, slots=True)
class Expression:
    """A node: `evaluate` computes its value, `schema` translates it to JSON Schema (None if it can't)."""

    precedence: ClassVar[int] = 5

    def evaluate(self, values: Mapping[str, Any], index: int | None) -> Any:
        raise NotImplementedError(f"{type(self).__name__} must define evaluate")

    def children(self) -> tuple[Expression, ...]:
        return ()

    def schema(self, defaults: Mapping[str, Any]) -> dict[str, Any] | None:
        return None


def _wrap(node: Expression, minimum: int) -> str:
    return str(node) if node.precedence >= minimum else f"({node})"


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("'", "\\'")
    escaped = "".join(
        {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(c, f"\\u{ord(c):04x}") if ord(c) < 0x20 else c for c in escaped
    )
    return f"'{escaped}'"


def _render(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, int):
        return str(value)
    text = format(Decimal(repr(value)), "f")  # positional: the grammar has no exponents
    return text if "." in text else f"{text}.0"


@dataclass(frozen=True, slots=True)
class Literal(Expression):
    value: str | int | float | bool | None

    def evaluate(self, values: Mapping[str, Any], index: int | None) -> Any:
        return self.value

    def schema(self, defaults: Mapping[str, Any]) -> dict[str, Any]:
        return {} if _truthy(self.value) else {"not": {}}

    def __str__(self) -> str:
        return _render(self.value)


@dataclass(frozen=True, slots=True)
class ListLiteral(Expression):
    items: tuple[str | int | float | bool | None, ...]

    def evaluate(self, values: Mapping[str, Any], index: int | None) -> Any:
        return self.items

    def __str__(self) -> str:
        return "[" + ", ".join(map(_render, self.items)) + "]"


@dataclass(frozen=True, slots=True)
class Path(Expression):
    steps: tuple[Step, ...]

    def evaluate(self, values: Mapping[str, Any], index: int | None) -> Any:
        current: Any = values
        for step in self.steps:
            if isinstance(step, str):
                if not isinstance(current, Mapping):
                    return None
                current = current.get(step)
            else:
                position = step if isinstance(step, int) else index
                in_range = isinstance(current, (list, tuple)) and position is not None and 0 <= position < len(current)
                if not in_range:
                    return None
                current = current[position]
        return current

    def schema(self, defaults: Mapping[str, Any]) -> dict[str, Any] | None:
        return _atom_schema(self, self, {"not": {"enum": _FALSY}}, defaults)

    def __str__(self) -> str:
        text = str(self.steps[0])
        for step in self.steps[1:]:
            text += f".{step}" if isinstance(step, str) else f"[{'index' if step is ITEM_INDEX else step}]"
        return str(text)


def _atom_schema(
    atom: Expression, path: Path, leaf: dict[str, Any], defaults: Mapping[str, Any]
) -> dict[str, Any] | None:
    """Apply `leaf` (the atom's test of one value) at a path of names; None for other paths.

    A name on the path is `required` exactly when the atom is false without it: for the first
    name that means with its default (dispatch fills in absent top-level values before it
    evaluates), for the others with null (how a missing value evaluates). A value that must be
    walked through must also be an object, else the path would evaluate to null.
    """
    if not all(isinstance(step, str) for step in path.steps):
        return None
    first = str(path.steps[0])
    without_first: dict[str, Any] = {first: defaults[first]} if first in defaults else {}
    required_first = not _truthy(atom.evaluate(without_first, None))
    required_inner = not _truthy(atom.evaluate({}, None))
    schema = leaf
    for depth in range(len(path.steps) - 1, -1, -1):
        name = path.steps[depth]
        level: dict[str, Any] = {"properties": {name: schema}}
        if required_inner if depth else required_first:
            level["required"] = [name]
            if depth:
                level["type"] = "object"
        schema = level
    return schema


@dataclass(frozen=True, slots=True)
class Not(Expression):
    operand: Expression
    precedence: ClassVar[int] = 4

    def evaluate(self, values: Mapping[str, Any], index: int | None) -> bool:
        return not _truthy(self.operand.evaluate(values, index))

    def children(self) -> tuple[Expression, ...]:
        return (self.operand,)

    def schema(self, defaults: Mapping[str, Any]) -> dict[str, Any] | None:
        inner = self.operand.schema(defaults)
        return None if inner is None else {"not": inner}

    def __str__(self) -> str:
        return "!" + _wrap(self.operand, 4)


def _path_and_literal(left: Expression, right: Expression) -> tuple[Path, Any] | None:
    if isinstance(left, Path) and isinstance(right, Literal):
        return left, right.value
    if isinstance(right, Path) and isinstance(left, Literal):
        return right, left.value
    return None


@dataclass(frozen=True, slots=True)
class Compare(Expression):
    op: str
    left: Expression
    right: Expression
    precedence: ClassVar[int] = 3

    def evaluate(self, values: Mapping[str, Any], index: int | None) -> bool:
        return _COMPARISONS[self.op](self.left.evaluate(values, index), self.right.evaluate(values, index))

    def children(self) -> tuple[Expression, ...]:
        return (self.left, self.right)

    def schema(self, defaults: Mapping[str, Any]) -> dict[str, Any] | None:
        pair = _path_and_literal(self.left, self.right)
        if pair is None or self.op not in ("==", "!="):
            return None
        leaf = {"const": pair[1]} if self.op == "==" else {"not": {"const": pair[1]}}
        return _atom_schema(self, pair[0], leaf, defaults)

    def __str__(self) -> str:
        return f"{_wrap(self.left, 4)} {self.op} {_wrap(self.right, 4)}"


@dataclass(frozen=True, slots=True)
class Membership(Expression):
    element: Expression
    collection: ListLiteral | Path
    negated: bool
    precedence: ClassVar[int] = 3

    def evaluate(self, values: Mapping[str, Any], index: int | None) -> bool:
        element, collection = self.element.evaluate(values, index), self.collection.evaluate(values, index)
        found = isinstance(collection, (list, tuple)) and any(_json_equal(element, i) for i in collection)
        return found is not self.negated

    def children(self) -> tuple[Expression, ...]:
        return (self.element, self.collection)

    def schema(self, defaults: Mapping[str, Any]) -> dict[str, Any] | None:
        if not isinstance(self.element, Path) or not isinstance(self.collection, ListLiteral):
            return None
        leaf: dict[str, Any] = {"enum": list(self.collection.items)}
        return _atom_schema(self, self.element, {"not": leaf} if self.negated else leaf, defaults)

    def __str__(self) -> str:
        return f"{_wrap(self.element, 4)} {'not in' if self.negated else 'in'} {self.collection}"


@dataclass(frozen=True, slots=True)
class And(Expression):
    operands: tuple[Expression, ...]
    precedence: ClassVar[int] = 2

    def evaluate(self, values: Mapping[str, Any], index: int | None) -> bool:
        for operand in self.operands:
            if not _truthy(operand.evaluate(values, index)):
                return False
        return True

    def children(self) -> tuple[Expression, ...]:
        return self.operands

    def schema(self, defaults: Mapping[str, Any]) -> dict[str, Any] | None:
        parts = [operand.schema(defaults) for operand in self.operands]
        if any(part is None for part in parts):
            return None
        merged = _merge(parts)  # type: ignore[arg-type]
        return merged if merged is not None else {"allOf": parts}

    def __str__(self) -> str:
        return " && ".join(_wrap(operand, 3) for operand in self.operands)


def _merge(parts: list[dict[str, Any]]) -> dict[str, Any] | None:
    """One `properties`/`required` object when the parts constrain distinct names, else None."""
    properties: dict[str, Any] = {}
    required: list[str] = []
    for part in parts:
        if not set(part) <= {"properties", "required"} or set(part.get("properties", {})) & set(properties):
            return None
        properties.update(part.get("properties", {}))
        required += part.get("required", [])
    return ({"properties": properties} if properties else {}) | ({"required": required} if required else {})


@dataclass(frozen=True, slots=True)
class Or(Expression):
    operands: tuple[Expression, ...]
    precedence: ClassVar[int] = 1

    def evaluate(self, values: Mapping[str, Any], index: int | None) -> bool:
        for operand in self.operands:
            if _truthy(operand.evaluate(values, index)):
                return True
        return False

    def children(self) -> tuple[Expression, ...]:
        return self.operands

    def schema(self, defaults: Mapping[str, Any]) -> dict[str, Any] | None:
        parts = [operand.schema(defaults) for operand in self.operands]
        return None if any(part is None for part in parts) else {"anyOf": parts}

    def __str__(self) -> str:
        return " || ".join(_wrap(operand, 2) for operand in self.operands)


def _walk_paths(node: Expression) -> Iterator[Path]:
    if isinstance(node, Path):
        yield node
    for child in node.children():
        yield from _walk_paths(child)


@dataclass(frozen=True)
class Condition:
    """A parsed display condition; immutable and shared, since parsing is cached."""

    source: str
    root: Expression
    uses_index: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        uses = any(ITEM_INDEX in path.steps for path in _walk_paths(self.root))
        object.__setattr__(self, "uses_index", uses)

    def evaluate(self, values: Mapping[str, Any], *, index: int | None = None) -> bool:
        """Whether the property is shown, given its siblings' values (and its array item's index)."""
        if index is None and self.uses_index:
            message = f"condition {self.source!r} uses [index] but was evaluated outside an array item"
            raise ValueError(message)
        return _truthy(self.root.evaluate(values, index))

    def paths(self) -> frozenset[tuple[str, ...]]:
        """Every property path the condition reads, index steps dropped: ("messages", "role")."""
        return frozenset(tuple(s for s in p.steps if isinstance(s, str)) for p in _walk_paths(self.root))

    def to_json_schema(self, defaults: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
        """A JSON Schema fragment valid exactly when the condition holds, or None if there is none.

        The fragment judges values as given, before defaults; pass the top-level `defaults` so
        that it matches `evaluate` on the values completed with them (absent keys only), which
        is what decides visibility. Without defaults, a missing value counts as null.
        """
        return self.root.schema(defaults or {})

    def __str__(self) -> str:
        return str(self.root)


# ---------------------------------------------------------------- tokenizer


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # "name", "string", "number", "op" or "end"
    text: str
    value: Any
    column: int


_OPERATORS = ("==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "(", ")", "[", "]", ",", ".")
_MISTAKES = {"=": "use '==' to compare", "&": "use '&&'", "|": "use '||'"}  # single characters
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "/": "/", "n": "\n", "r": "\r", "t": "\t"}
_DIGITS = frozenset("0123456789")
_HEX = frozenset("0123456789abcdefABCDEF")
_NAME_START = frozenset("_abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
_NAME_CHARS = _NAME_START | _DIGITS


def _scan(source: str, start: int, allowed: frozenset[str]) -> int:
    end = start
    while end < len(source) and source[end] in allowed:
        end += 1
    return end


def _read_string(source: str, start: int) -> tuple[_Token, int]:
    quote, chars, pos = source[start], [], start + 1
    while pos < len(source) and source[pos] != quote:
        if source[pos] != "\\":
            chars.append(source[pos])
            pos += 1
            continue
        escape, digits = source[pos + 1 : pos + 2], source[pos + 2 : pos + 6]
        if not escape:
            break  # a backslash at the very end: the string is unterminated
        if escape == "u" and len(digits) == 4 and all(c in _HEX for c in digits):
            chars.append(chr(int(digits, 16)))
            pos += 6
        elif escape in _ESCAPES:
            chars.append(_ESCAPES[escape])
            pos += 2
        else:
            raise ConditionSyntaxError(f"unknown escape '\\{escape}'", source, pos)
    if pos >= len(source) or source[pos] != quote:
        raise ConditionSyntaxError("unterminated string", source, start)
    return _Token("string", source[start : pos + 1], "".join(chars), start), pos + 1


def _read_number(source: str, start: int) -> tuple[_Token, int]:
    end = _scan(source, start + (source[start] == "-"), _DIGITS)
    is_decimal = source[end : end + 1] == "." and source[end + 1 : end + 2] in _DIGITS
    if is_decimal:
        end = _scan(source, end + 1, _DIGITS)
    text = source[start:end]
    value: int | float = float(text) if is_decimal else int(text)
    if not math.isfinite(value):
        raise ConditionSyntaxError("number out of range", source, start)
    return _Token("number", text, value, start), end


def _tokenize(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(source):
        char = source[pos]
        if char in " \t\r\n":
            pos += 1
        elif char in "'\"":
            token, pos = _read_string(source, pos)
            tokens.append(token)
        elif char in _DIGITS or (char == "-" and source[pos + 1 : pos + 2] in _DIGITS):
            token, pos = _read_number(source, pos)
            tokens.append(token)
        elif char in _NAME_START:
            end = _scan(source, pos, _NAME_CHARS)
            tokens.append(_Token("name", source[pos:end], None, pos))
            pos = end
        else:
            op = next((op for op in _OPERATORS if source.startswith(op, pos)), None)
            if op is None:
                hint = _MISTAKES.get(char, "")
                raise ConditionSyntaxError(f"unexpected character {char!r}", source, pos, hint)
            tokens.append(_Token("op", op, None, pos))
            pos += len(op)
    tokens.append(_Token("end", "", None, len(source)))
    return tokens


# ---------------------------------------------------------------- parser

_LITERAL_WORDS = {"true": True, "false": False, "null": None}
_WORD_MISTAKES = {
    "and": "use '&&'",
    "or": "use '||'",
    "not": "use '!' to negate ('not' only appears in 'not in')",
}
_RESERVED = {"in", *_WORD_MISTAKES}  # cannot start a path; any name may follow a '.'
_LIST_ITEM = "a literal (string, number, true, false or null)"


class _Parser:
    """Recursive descent, one method per grammar rule, in the order of docs/display-conditions.md."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.tokens = _tokenize(source)
        self.position = 0
        self.depth = 0

    def peek(self) -> _Token:
        return self.tokens[self.position]

    def advance(self) -> _Token:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def at(self, kind: str, text: str) -> bool:
        token = self.peek()
        return token.kind == kind and token.text == text

    def fail(self, expected: str, token: _Token) -> ConditionSyntaxError:
        if token.kind == "name" and token.text in _WORD_MISTAKES:
            message = f"unexpected word {token.text!r}"
            return ConditionSyntaxError(message, self.source, token.column, _WORD_MISTAKES[token.text])
        found = "" if token.kind == "end" else f", found {token.text!r}"
        return ConditionSyntaxError(f"expected {expected}{found}", self.source, token.column)

    def expect(self, text: str, expected: str) -> None:
        if not self.at("op", text):
            raise self.fail(expected, self.peek())
        self.advance()

    def nest(self) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            hint = f"at most {MAX_DEPTH} levels of '(' and '!' are allowed"
            column = self.peek().column
            raise ConditionSyntaxError("condition is nested too deeply", self.source, column, hint)

    def condition(self) -> Expression:
        if self.peek().kind == "end":
            raise ConditionSyntaxError("condition is empty", self.source, 0)
        node = self.disjunction()
        if self.peek().kind != "end":
            raise self.fail("'&&', '||' or the end of the condition", self.peek())
        return node

    def disjunction(self) -> Expression:
        operands = [self.conjunction()]
        while self.at("op", "||"):
            self.advance()
            operands.append(self.conjunction())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def conjunction(self) -> Expression:
        operands = [self.comparison()]
        while self.at("op", "&&"):
            self.advance()
            operands.append(self.comparison())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def at_comparison(self) -> bool:
        token = self.peek()
        is_operator = token.kind == "op" and token.text in _COMPARISONS
        return is_operator or (token.kind == "name" and token.text in ("in", "not"))

    def comparison(self) -> Expression:
        left = self.unary()
        if not self.at_comparison():
            return left
        token = self.advance()
        node: Expression
        if token.kind == "op":
            node = Compare(token.text, left, self.unary())
        else:
            negated = token.text == "not"
            if negated:
                if not self.at("name", "in"):
                    raise ConditionSyntaxError("expected 'in' after 'not'", self.source, self.peek().column)
                self.advance()
            node = Membership(left, self.collection(), negated)
        if self.at_comparison():
            token = self.peek()
            hint = "comparisons cannot be chained; join them with '&&'"
            raise ConditionSyntaxError(f"unexpected {token.text!r}", self.source, token.column, hint)
        return node

    def unary(self) -> Expression:
        if not self.at("op", "!"):
            return self.primary()
        self.nest()
        self.advance()
        node = Not(self.unary())
        self.depth -= 1
        return node

    def primary(self) -> Expression:
        token = self.peek()
        if self.at("op", "("):
            self.nest()
            self.advance()
            node = self.disjunction()
            self.expect(")", "')'")
            self.depth -= 1
            return node
        if token.kind in ("string", "number"):
            self.advance()
            return Literal(token.value)
        if token.kind == "name" and token.text in _LITERAL_WORDS:
            self.advance()
            return Literal(_LITERAL_WORDS[token.text])
        if token.kind == "name" and token.text not in _RESERVED:
            return self.path()
        if self.at("op", "["):
            hint = "a list '[...]' is only allowed after 'in'"
            raise ConditionSyntaxError("unexpected '['", self.source, token.column, hint)
        raise self.fail("a value", token)

    def path(self) -> Path:
        steps: list[Step] = [self.advance().text]
        while self.at("op", ".") or self.at("op", "["):
            if self.advance().text == ".":
                if self.peek().kind != "name":
                    raise self.fail("a property name after '.'", self.peek())
                steps.append(self.advance().text)
                continue
            token = self.peek()
            if token.kind == "number" and isinstance(token.value, int) and token.text[0] != "-":
                steps.append(token.value)
            elif self.at("name", "index"):
                steps.append(ITEM_INDEX)
            else:
                raise self.fail("an array index (a whole number or 'index')", token)
            self.advance()
            self.expect("]", "']'")
        return Path(tuple(steps))

    def collection(self) -> ListLiteral | Path:
        token = self.peek()
        if token.kind == "name" and token.text not in _LITERAL_WORDS and token.text not in _RESERVED:
            return self.path()
        if not self.at("op", "["):
            raise self.fail("a list '[...]' or a path after 'in'", token)
        self.advance()
        items: list[Any] = []
        while not self.at("op", "]"):
            if items:
                self.expect(",", "',' or ']'")
            items.append(self.list_item())
        self.advance()
        return ListLiteral(tuple(items))

    def list_item(self) -> Any:
        token = self.peek()
        if token.kind in ("string", "number"):
            return self.advance().value
        if token.kind == "name" and token.text in _LITERAL_WORDS:
            return _LITERAL_WORDS[self.advance().text]
        raise self.fail(_LIST_ITEM, token)


def parse_condition(text: str) -> Condition:
    """Parse a display condition, raising `ConditionSyntaxError` (with its column) when it is invalid."""
    if not isinstance(text, str):
        raise TypeError(f"a display condition must be a string, not {type(text).__name__}")
    return _parse_cached(text)


@functools.lru_cache(maxsize=1024)
def _parse_cached(text: str) -> Condition:
    """Parsing is cached: the same few conditions are evaluated for every dispatched call."""
    if len(text) > MAX_LENGTH:
        message = f"condition is too long ({len(text)} characters)"
        raise ConditionSyntaxError(message, text, MAX_LENGTH, f"at most {MAX_LENGTH} are allowed")
    return Condition(text, _Parser(text).condition())
