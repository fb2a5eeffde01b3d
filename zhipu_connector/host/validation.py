"""Validating values against derived JSON Schemas: fast when valid, thorough when not.

Dispatch sits on a hot path (a batch makes thousands of calls), and a `jsonschema` check costs
more than the HTTP call it guards. So each schema is compiled once into Python code by
`fastjsonschema` and valid values pass through that alone; only a value it rejects is handed
to `jsonschema`, which reports every problem with its location. Both read `pattern` alike
(`definition.schema_errors`), and the tests prove that both accept and reject exactly the same
values. Beyond the schema, a value must be plain JSON: no NaN or infinity, no integer too long
to print, no nesting past `plain_json.MAX_DEPTH`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from zhipu_connector.definition.plain_json import value_problems
from zhipu_connector.definition.schema_errors import describe_all, validator_class
from zhipu_connector.errors import Problem

_DRAFT7 = "http://json-schema.org/draft-07/schema#"


class CompiledSchema:
    """One JSON Schema, compiled for `is_valid` and able to explain a rejection."""

    def __init__(self, schema: dict[str, Any]) -> None:
        self.schema = schema
        self._fast: Callable[[Any], Any] | None = None  # compiled on first use, once
        self._full: Any = None

    def is_valid(self, value: Any) -> bool:
        """Whether `value` is valid: the schema holds and it is plain JSON (`plain_json.value_problems`)."""
        fast = self._fast
        if fast is None:  # a start registers every action; only those that run pay for this
            fast = self._fast = _compile(self.schema)
        try:
            fast(value)
        except Exception:  # fastjsonschema's own JsonSchemaValueException, or a type error it hit
            return False
        return not value_problems(value)

    def problems(self, value: Any) -> list[Problem]:
        """Every problem with `value`, each at its location and naming the field's label; never none."""
        found = value_problems(value)
        if found:  # what JSON cannot hold is the whole story (and jsonschema would recurse as deep)
            return found
        if self._full is None:
            self._full = validator_class()(self.schema)
        problems = describe_all(self._full.iter_errors(value), self.schema)
        if not problems:  # the two validators disagree: say so rather than report nothing
            problems = [Problem("", "refused by the compiled validator although no rule is broken (a bug: report it)")]
        return problems


def _compile(schema: dict[str, Any]) -> Callable[[Any], Any]:
    """fastjsonschema's generated checker, compiled in this process (generated code is never stored).

    fastjsonschema speaks draft 7, and the derived schemas use only keywords draft 7 shares.
    Formats stay annotations, as in draft 2020-12 (jsonschema does not assert them either).
    """
    import fastjsonschema

    return fastjsonschema.compile({**schema, "$schema": _DRAFT7}, use_formats=False, use_default=False)
