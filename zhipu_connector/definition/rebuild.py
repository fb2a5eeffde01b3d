"""Definition models from stored JSON, every field type-checked, without pydantic's validators.

The start-up cache keeps a checked component as JSON. Turning it back through
`Component.model_validate` would build pydantic's validators for the models first, ~20 ms,
nearly the whole start's budget; so this walks the models' own field annotations instead,
checks each stored value against its field's type and builds the models as
`model_construct` does. Anything of the wrong shape raises `EntryError`, and the cache then
rebuilds the entry from the definition file.

A start rebuilds some 400 models, so each model's fields are turned once into a plan of
small checks, one per annotation, and a value is checked by its exact type: stored JSON
decodes to exact `str`, `int`, `float`, `bool`, `list` and `dict`, never to subclasses.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel

from zhipu_connector.cache import EntryError, json_data

M = TypeVar("M", bound=BaseModel)
Check = Callable[[Any], Any]
_set_attribute = object.__setattr__  # the models are frozen: their own __setattr__ refuses


def dump_model(model: BaseModel) -> dict[str, Any]:
    """A model as JSON data keyed by field name, defaults left out (they come back by themselves)."""
    return model.model_dump(mode="json", exclude_defaults=True)


def rebuild(model: type[M], data: Any) -> M:
    """`model` from what `dump_model` wrote; `EntryError` for anything else."""
    plan = _PLANS.get(model) or _plan(model)
    if type(data) is not dict:
        raise EntryError(f"{model.__name__}: an object is expected")
    checks = plan.checks
    if not data.keys() <= checks.keys():
        raise EntryError(f"{model.__name__}: unknown fields {sorted(data.keys() - checks.keys())}")
    if not plan.required <= data.keys():
        raise EntryError(f"{model.__name__}: {', '.join(sorted(plan.required - data.keys()))} missing")
    # What `model_construct` makes, without its per-field default lookups. Every default of the
    # definition models is immutable (None, False, "", (), a number), so one dict of them per
    # class serves all instances; it holds every field in order, and the stored values replace
    # their defaults in place, so that order is kept.
    fields = plan.defaults.copy()
    for key, value in data.items():
        fields[key] = checks[key](value)
    instance = model.__new__(model)
    _set_attribute(instance, "__dict__", fields)
    _set_attribute(instance, "__pydantic_fields_set__", set(data))
    _set_attribute(instance, "__pydantic_extra__", None)
    _set_attribute(instance, "__pydantic_private__", plan.private.copy() if plan.private else None)
    return instance


class _Plan:
    """How one model is rebuilt: a check per field, the required ones, the defaults."""

    __slots__ = ("checks", "required", "defaults", "private")

    def __init__(self, model: type[BaseModel]) -> None:
        fields = model.model_fields
        self.checks: dict[str, Check] = {name: _check(info.annotation) for name, info in fields.items()}
        self.required = frozenset(name for name, info in fields.items() if info.is_required())
        # Every field, in field order (a required one's placeholder is always overwritten).
        self.defaults: dict[str, Any] = {
            name: info.get_default(call_default_factory=True) for name, info in fields.items()
        }
        self.private = {name: attribute.get_default() for name, attribute in model.__private_attributes__.items()}


_PLANS: dict[type[BaseModel], _Plan] = {}
_CHECKS: dict[Any, Check] = {}


def _plan(model: type[BaseModel]) -> _Plan:
    plan = _PLANS[model] = _Plan(model)
    return plan


def _check(annotation: Any) -> Check:
    """A function that returns a value as a field of type `annotation` holds it, or raises `EntryError`."""
    check = _CHECKS.get(annotation)
    if check is None:
        check = _CHECKS[annotation] = _make_check(annotation)
    return check


def _make_check(annotation: Any) -> Check:
    origin = get_origin(annotation)
    if annotation is Any:
        return json_data
    if origin is Literal:
        return _literal(get_args(annotation))
    if origin in (Union, types.UnionType):
        return _union(annotation)
    if origin is tuple:
        return _array(_check(get_args(annotation)[0]))
    if origin is dict:
        return _mapping(*(_check(arg) for arg in get_args(annotation)))
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return lambda value: rebuild(annotation, value)
    if annotation in _SCALARS:
        return _SCALARS[annotation]
    raise EntryError(f"no rule for fields of type {annotation!r}")  # pragma: no cover - a new kind of field


def _literal(choices: tuple[Any, ...]) -> Check:
    allowed = frozenset((type(choice), choice) for choice in choices)  # `True` is not `1`, nor `1.0`

    def literal(value: Any) -> Any:
        if type(value) not in _HASHABLE or (type(value), value) not in allowed:
            raise EntryError(f"{value!r} is not one of {choices}")
        return value

    return literal


def _union(annotation: Any) -> Check:
    members = [member for member in get_args(annotation) if member is not type(None)]
    # Exact scalar types (and None, when optional) are accepted by a set lookup; the rest
    # (a float, which must be finite; a model; an array) are tried in the annotation's order.
    exact = {member for member in members if member in (bool, int, str)}
    if len(members) < len(get_args(annotation)):
        exact.add(type(None))
    others = [_check(member) for member in members if member not in exact]

    def union(value: Any) -> Any:
        if type(value) in exact:
            return value
        for option in others:
            try:
                return option(value)
            except EntryError:
                continue
        raise EntryError(f"{value!r} is none of {annotation}")

    return union


def _array(item: Check) -> Check:
    def array(value: Any) -> Any:
        if type(value) is not list:
            raise EntryError("an array is expected")
        return tuple([item(member) for member in value])

    return array


def _mapping(key_check: Check, value_check: Check) -> Check:
    def mapping(value: Any) -> Any:
        if type(value) is not dict:
            raise EntryError("an object is expected")
        return {key_check(key): value_check(member) for key, member in value.items()}

    return mapping


def _scalar(kind: type) -> Check:
    def scalar(value: Any) -> Any:
        if type(value) is not kind:
            raise EntryError(f"{value!r} is not a {kind.__name__}")
        return value

    return scalar


def _finite_float(value: Any) -> Any:
    if type(value) is not float:
        raise EntryError(f"{value!r} is not a float")
    return json_data(value)  # refuses NaN and the infinities


_HASHABLE = frozenset((str, int, float, bool, type(None)))
_SCALARS: dict[type, Check] = {bool: _scalar(bool), int: _scalar(int), str: _scalar(str), float: _finite_float}
