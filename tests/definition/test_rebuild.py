"""Rebuilding definition models from the start-up cache: never more permissive than pydantic.

`rebuild` replaces pydantic's validation on the cached path, so the property that matters is
that it never builds a model pydantic would refuse: whatever it accepts, pydantic's validation
of the same JSON (as the loader uses it) accepts too. The test mutates the stored form of the shipped
definitions one place at a time and checks exactly that.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from zhipu_connector.cache import EntryError
from zhipu_connector.definition.loader import load_component
from zhipu_connector.definition.models import Component
from zhipu_connector.definition.rebuild import dump_model, rebuild
from zhipu_connector.resources import data_path

DEFINITIONS = {
    "zhipu": data_path("connector.yaml"),
    "core": Path(__file__).resolve().parents[2] / "zhipu_connector" / "core" / "core.yaml",
}
STORED = {name: dump_model(load_component(path)) for name, path in DEFINITIONS.items()}
REPLACEMENTS = [None, True, False, 0, 7, 2.5, float("nan"), "", "x", "STRING", [], ["x"], [{}], {}, {"x": 1}]


def places(value: Any, trail: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value, as the keys and indexes that lead to it."""
    found = [trail] if trail else []
    if isinstance(value, dict):
        for key, member in value.items():
            found += places(member, (*trail, key))
    elif isinstance(value, list):
        for index, member in enumerate(value):
            found += places(member, (*trail, index))
    return found


PLACES = {name: places(stored) for name, stored in STORED.items()}


def copy_with_parent(data: Any, trail: tuple[Any, ...]) -> tuple[Any, Any]:
    """A deep copy of `data`, and the object or array in the copy that holds the place at `trail`."""
    changed = copy.deepcopy(data)
    node = changed
    for step in trail[:-1]:
        node = node[step]
    return changed, node


def replaced(data: Any, trail: tuple[Any, ...], new: Any) -> Any:
    changed, parent = copy_with_parent(data, trail)
    parent[trail[-1]] = new
    return changed


def pydantic_accepts(data: Any) -> bool:
    try:
        Component.model_validate_json(json.dumps(data))
    except (ValidationError, ValueError):
        return False
    return True


def rebuild_accepts(data: Any) -> bool:
    try:
        rebuild(Component, data)
    except EntryError:
        return False
    return True


@pytest.mark.parametrize("name", sorted(STORED))
def test_a_stored_definition_rebuilds_to_the_checked_one(name):
    rebuilt = rebuild(Component, STORED[name])
    rebuilt.derived_schemas()  # the loaded one carries them; equality compares them too
    assert rebuilt == load_component(DEFINITIONS[name])


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_what_rebuild_accepts_pydantic_accepts(data):
    name = data.draw(st.sampled_from(sorted(STORED)))
    trail = data.draw(st.sampled_from(PLACES[name]))
    mutation = data.draw(st.sampled_from(["replace", "delete", "unknown field"]))
    mutated, node = copy_with_parent(STORED[name], trail)
    if mutation == "replace":
        node[trail[-1]] = data.draw(st.sampled_from(REPLACEMENTS))
    elif mutation == "delete" and isinstance(node, dict):
        del node[trail[-1]]
    elif isinstance(node, dict):
        node["notAField"] = node[trail[-1]]
    else:  # deleting from or adding to an array: an item replaced by another place's value
        node[trail[-1]] = copy.deepcopy(node[0])
    if rebuild_accepts(mutated):
        assert pydantic_accepts(mutated), f"rebuild accepted what pydantic refuses: {mutation} at {trail}"


@pytest.mark.parametrize(
    ("trail", "value"),
    [
        (("actions", 0, "properties", 0, "type"), "NOT A TYPE"),
        (("actions", 0, "properties", 0, "required"), 1),  # an int is not a bool
        (("actions", 0, "deprecated"), 0),
        (("actions", 0, "title"), None),  # required, not optional
        (("actions", 0, "properties"), {"a": {}}),  # an array is stored
        (("version",), True),  # a bool is not an int
        (("actions", 0, "properties", 0, "minValue"), float("inf")),
    ],
)
def test_values_of_the_wrong_type_are_refused(trail, value):
    stored = copy.deepcopy(STORED["zhipu"])
    stored["actions"][0]["properties"][0].setdefault("minValue", 1)
    with pytest.raises(EntryError):
        rebuild(Component, replaced(stored, trail, value))


def test_a_missing_required_field_and_an_unknown_one_are_refused():
    stored = copy.deepcopy(STORED["zhipu"])
    del stored["actions"][0]["output"]
    with pytest.raises(EntryError, match="output missing"):
        rebuild(Component, stored)
    with pytest.raises(EntryError, match="unknown fields"):
        rebuild(Component, {**STORED["zhipu"], "extra": 1})
