"""Definition models from stored JSON, every field type-checked, without pydantic's validators.

The start-up cache keeps a checked component as JSON. Turning it back through
`Component.model_validate` would build pydantic's validators for the models first, ~20 ms,
nearly the whole start's budget; so this walks the models' own field annotations instead,
checks each stored value against its field's type and builds the models with
`model_construct`. Anything of the wrong shape raises `EntryError`, and the cache then
rebuilds the entry from the definition file.
"""

from __future__ import annotations

import types
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
    fields = model.model_fields
    unknown = set(data) - set(fields)
    if unknown:
        raise EntryError(f"{model.__name__}: unknown fields {sorted(unknown)}")
    values = {}
    for name, info in fields.items():
        if name in data:
            values[name] = _typed(info.annotation, data[name])
        elif info.is_required():
            raise EntryError(f"{model.__name__}: {name} is missing")
    return model.model_construct(**values)


def _typed(annotation: Any, value: Any) -> Any:
    """`value` as a field of type `annotation` holds it (a list as a tuple, a dict as a model)."""
    origin = get_origin(annotation)
    if annotation is Any:
        return json_data(value)
    if origin is Literal:
        if not any(value == choice and type(value) is type(choice) for choice in get_args(annotation)):
            raise EntryError(f"{value!r} is not one of {get_args(annotation)}")
        return value
    if origin in (Union, types.UnionType):
        if value is None and type(None) in get_args(annotation):
            return None
        for choice in get_args(annotation):
            if choice is type(None):
                continue
            try:
                return _typed(choice, value)
            except EntryError:
                continue
        raise EntryError(f"{value!r} is none of {annotation}")
    if origin is tuple:
        if not isinstance(value, list):
            raise EntryError("an array is expected")
        item_type = get_args(annotation)[0]
        return tuple(_typed(item_type, item) for item in value)
    if origin is dict:
        key_type, value_type = get_args(annotation)
        if not isinstance(value, dict):
            raise EntryError("an object is expected")
        return {_typed(key_type, key): _typed(value_type, item) for key, item in value.items()}
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return rebuild(annotation, value)
    if annotation is bool:
        if not isinstance(value, bool):
            raise EntryError(f"{value!r} is not a boolean")
        return value
    if annotation is int:
        if not isinstance(value, int) or isinstance(value, bool):
            raise EntryError(f"{value!r} is not an integer")
        return value
    if annotation is float:
        if not isinstance(value, float):
            raise EntryError(f"{value!r} is not a float")
        return json_data(value)
    if annotation is str:
        if not isinstance(value, str):
            raise EntryError(f"{value!r} is not text")
        return value
    raise EntryError(f"no rule for fields of type {annotation!r}")  # pragma: no cover - a new kind of field
