"""Definition models from stored JSON, every field type-checked, without pydantic's validators.

The start-up cache keeps a checked component as JSON. Turning it back through
`Component.model_validate` would build pydantic's validators for the models first, ~20 ms,
nearly the whole start's budget; so this walks the models' own field annotations instead,
checks each stored value against its field's type and builds the models as
`model_construct` does. Anything of the wrong shape raises `EntryError`, and the cache then
rebuilds the entry from the definition file.
"""

from __future__ import annotations

import types
from collections.abc import Callable
from typing import Any, Literal, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel

from zhipu_connector.cache import EntryError, json_data

M = TypeVar("M", bound=BaseModel)


def dump_model(model: BaseModel) -> dict[str, Any]:
    """A model as JSON data keyed by field name, defaults left out (they come back by themselves)."""
    return model.model_dump(mode="json", exclude_defaults=True)


def rebuild(model: type[M], data: Any) -> M:
    """`model` from what `dump_model` wrote; `EntryError` for anything else."""
    if not isinstance(data, dict):
        raise EntryError(f"{model.__name__}: an object is expected")
    fields = _fields(model)
    values = {}
    for key, value in data.items():
        entry = fields.get(key)
        if entry is None:
            raise EntryError(f"{model.__name__}: unknown field {key!r}")
        values[key] = entry[0](value)
    for name, (_, required) in fields.items():
        if required and name not in values:
            raise EntryError(f"{model.__name__}: {name} is missing")
    return _constructed(model, values)


Check = Callable[[Any], Any]
_FIELDS: dict[type[BaseModel], dict[str, tuple[Check, bool]]] = {}
_CHECKS: dict[Any, Check] = {}


def _fields(model: type[BaseModel]) -> dict[str, tuple[Check, bool]]:
    """Each field's check and whether it is required, worked out once per model."""
    fields = _FIELDS.get(model)
    if fields is None:
        fields = _FIELDS[model] = {
            name: (_check(info.annotation), info.is_required()) for name, info in model.model_fields.items()
        }
    return fields


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
        choices = get_args(annotation)

        def literal(value: Any) -> Any:
            if not any(value == choice and type(value) is type(choice) for choice in choices):
                raise EntryError(f"{value!r} is not one of {choices}")
            return value

        return literal
    if origin in (Union, types.UnionType):
        optional = type(None) in get_args(annotation)
        options = [_check(choice) for choice in get_args(annotation) if choice is not type(None)]

        def union(value: Any) -> Any:
            if value is None and optional:
                return None
            for option in options:
                try:
                    return option(value)
                except EntryError:
                    continue
            raise EntryError(f"{value!r} is none of {annotation}")

        return union
    if origin is tuple:
        item = _check(get_args(annotation)[0])

        def array(value: Any) -> Any:
            if not isinstance(value, list):
                raise EntryError("an array is expected")
            return tuple(item(member) for member in value)

        return array
    if origin is dict:
        key_check, value_check = (_check(arg) for arg in get_args(annotation))

        def mapping(value: Any) -> Any:
            if not isinstance(value, dict):
                raise EntryError("an object is expected")
            return {key_check(key): value_check(member) for key, member in value.items()}

        return mapping
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return lambda value: rebuild(annotation, value)
    if annotation in (bool, int, float, str):
        return _SCALARS[annotation]
    raise EntryError(f"no rule for fields of type {annotation!r}")  # pragma: no cover - a new kind of field


def _scalar(kind: type, accepted: tuple[type, ...], refused: tuple[type, ...] = ()) -> Check:
    def scalar(value: Any) -> Any:
        if not isinstance(value, accepted) or isinstance(value, refused):
            raise EntryError(f"{value!r} is not a {kind.__name__}")
        return json_data(value) if kind is float else value

    return scalar


_SCALARS: dict[type, Check] = {
    bool: _scalar(bool, (bool,)),
    int: _scalar(int, (int,), (bool,)),
    float: _scalar(float, (float,)),
    str: _scalar(str, (str,)),
}


def _constructed(model: type[M], values: dict[str, Any]) -> M:
    """What `model_construct` makes, without its per-field default lookups (a tenth of the start).

    Every default of the definition models is immutable (None, False, "", (), a number), so
    one dict of them per class is shared by all instances.
    """
    defaults = _DEFAULTS.get(model)
    if defaults is None:
        defaults = _DEFAULTS[model] = {
            name: info.get_default(call_default_factory=True) for name, info in model.model_fields.items()
        }
    instance = model.__new__(model)
    object.__setattr__(instance, "__dict__", {**defaults, **values})  # in field order: `values` holds fields only
    object.__setattr__(instance, "__pydantic_fields_set__", set(values))
    object.__setattr__(instance, "__pydantic_extra__", None)
    private = {name: attr.get_default() for name, attr in model.__private_attributes__.items()}
    object.__setattr__(instance, "__pydantic_private__", private or None)
    return instance


_DEFAULTS: dict[type[BaseModel], dict[str, Any]] = {}
