"""Cross-field rules of the definition format that JSON Schema cannot say.

Each rule looks at one property at a time and reports every breach as a `Problem` located by
its dotted path in the file, so that a broken definition is fixed in one pass.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from zhipu_connector.definition.models import Action, Component, Property
from zhipu_connector.definition.schema_errors import compiled_pattern, pattern_matches
from zhipu_connector.errors import Problem

_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "STRING": (str,),
    "DATE": (str,),
    "DATE_TIME": (str,),
    "TIME": (str,),
    "INTEGER": (int,),
    "NUMBER": (int, float),
    "BOOLEAN": (bool,),
}


def check_component(component: Component) -> list[Problem]:
    """Every cross-field problem in `component`, in file order."""
    problems: list[Problem] = []
    if component.connection:
        for auth in component.connection.authorizations:
            base = f"connection.authorizations.{auth.name}.properties"
            problems += _check_table(auth.properties, base)
            problems += list(_check_environment_names(auth.properties, base))
            for prop in auth.properties:  # the property itself may name one, what it holds may not
                problems += _misplaced_environment(prop, f"{base}.{prop.name}", own_allowed=True)
    for action in component.actions:
        base = f"actions.{action.name}"
        problems += _check_table(action.properties, f"{base}.properties")
        problems += list(_check_property(action.output, f"{base}.output", siblings=()))
        problems += list(_check_output_cases(action, base))
        for prop in action.properties:
            problems += _misplaced_environment(prop, f"{base}.properties.{prop.name}")
        problems += _misplaced_environment(action.output, f"{base}.output")
    problems += list(_check_availability(component))
    problems += list(_check_options_sources(component))
    return problems


def _check_output_cases(action: Action, base: str) -> Iterator[Problem]:
    """Each `outputWhen` case: a condition that parses and reads only the action's inputs, a valid output."""
    from zhipu_connector.definition.conditions import ConditionSyntaxError, parse_condition

    inputs = {prop.name for prop in action.properties}
    for index, case in enumerate(action.output_when):
        where = f"{base}.outputWhen[{index}]"
        yield from _check_property(case.output, f"{where}.output", siblings=())
        try:
            condition = parse_condition(case.condition)
        except ConditionSyntaxError as error:
            yield Problem(f"{where}.condition", str(error))
            continue
        if condition.uses_index:
            yield Problem(f"{where}.condition", "an output condition reads the inputs; [index] has no meaning here")
        for path in sorted(condition.paths()):
            if path and path[0] not in inputs:
                yield Problem(f"{where}.condition", f"{path[0]!r} is not an input of this action")


def _check_availability(component: Component) -> Iterator[Problem]:
    """An option's `availableWith` names properties of the component's connection."""
    known = {
        prop.name
        for auth in (component.connection.authorizations if component.connection else ())
        for prop in auth.properties
    }
    for action in component.actions:
        for prop in action.properties:
            for index, option in enumerate(prop.options or ()):
                for name in option.available_with or {}:
                    if name not in known:
                        yield Problem(
                            f"actions.{action.name}.properties.{prop.name}.options[{index}].availableWith",
                            f"{name!r} is not a connection property of this component",
                        )


def _check_options_sources(component: Component) -> Iterator[Problem]:
    """`optionsSource` on top-level action properties only, each beside static `options` to fall back to."""
    for action in component.actions:
        for prop in action.properties:
            where = f"actions.{action.name}.properties.{prop.name}"
            if prop.options_source is not None and not prop.options:
                yield Problem(
                    f"{where}.optionsSource",
                    "a live options source needs static options beside it, shown when the source fails",
                )
            if any(inner.options_source is not None for inner in _inner_properties(prop)):
                yield Problem(
                    where, "optionsSource is for top-level action properties only, not inside items or objects"
                )
    for auth in component.connection.authorizations if component.connection else ():
        for prop in auth.properties:
            if prop.options_source is not None:
                yield Problem(
                    f"connection.authorizations.{auth.name}.properties.{prop.name}.optionsSource",
                    "optionsSource is for action properties: its options are fetched with the connection",
                )


def _inner_properties(prop: Property) -> Iterator[Property]:
    for inner in (*((prop.items,) if prop.items is not None else ()), *prop.properties):
        yield inner
        yield from _inner_properties(inner)


def _check_environment_names(properties: tuple[Property, ...], base: str) -> Iterator[Problem]:
    """Two properties of one authorization cannot read the same environment variable."""
    seen: dict[str, str] = {}
    for prop in properties:
        if prop.environment is None:
            continue
        if prop.environment in seen:
            yield Problem(
                f"{base}.{prop.name}.environment", f"{prop.environment} is already read by {seen[prop.environment]}"
            )
        seen.setdefault(prop.environment, prop.name)


def _misplaced_environment(prop: Property | None, where: str, *, own_allowed: bool = False) -> list[Problem]:
    """`environment` belongs to a connection's own properties: an action input never comes from the environment."""
    if prop is None:
        return []
    problems = (
        [Problem(f"{where}.environment", "only a connection's own properties may name an environment variable")]
        if prop.environment is not None and not own_allowed
        else []
    )
    problems += _misplaced_environment(prop.items, f"{where}.items")
    for child in prop.properties:
        problems += _misplaced_environment(child, f"{where}.properties.{child.name}")
    return problems


def _check_table(properties: tuple[Property, ...], base: str) -> list[Problem]:
    problems: list[Problem] = []
    for prop in properties:
        problems += _check_property(prop, f"{base}.{prop.name}", siblings=properties, root=properties)
    return problems


def _check_property(
    prop: Property, where: str, siblings: tuple[Property, ...], root: tuple[Property, ...] = (), in_item: bool = False
) -> Iterator[Problem]:
    yield from _check_bounds(prop, where)
    if prop.pattern is not None and not _valid_pattern(prop.pattern):
        yield Problem(f"{where}.pattern", f"{prop.pattern!r} is not a regular expression")
    yield from _check_options(prop, where)
    for field, value in (("defaultValue", prop.default_value), ("exampleValue", prop.example_value)):
        if value is not None:
            for message in value_problems(prop, value):
                yield Problem(f"{where}.{field}", message)
    if prop.hidden and prop.required:
        yield Problem(f"{where}.hidden", "a hidden property cannot be required (it is never sent)")
    if prop.display_condition:
        yield from _check_condition(prop, where, siblings, root, in_item)
    if prop.items is not None:
        yield from _check_property(prop.items, f"{where}.items", siblings=(), root=root, in_item=True)
    for child in prop.properties:
        yield from _check_property(
            child, f"{where}.properties.{child.name}", siblings=prop.properties, root=root, in_item=in_item
        )


def _check_bounds(prop: Property, where: str) -> Iterator[Problem]:
    for low, high, low_key, high_key in (
        (prop.min_value, prop.max_value, "minValue", "maxValue"),
        (prop.min_length, prop.max_length, "minLength", "maxLength"),
        (prop.min_items, prop.max_items, "minItems", "maxItems"),
    ):
        if low is not None and high is not None and low > high:
            yield Problem(f"{where}.{low_key}", f"{low} is above {high_key} {high}")
    if prop.type == "INTEGER":
        for key, bound in (("minValue", prop.min_value), ("maxValue", prop.max_value)):
            if isinstance(bound, float):
                yield Problem(f"{where}.{key}", f"{bound} is not a whole number, as an INTEGER's bounds must be")


def _check_options(prop: Property, where: str) -> Iterator[Problem]:
    if not prop.options:
        return
    seen: set[object] = set()
    item_type = prop.items.type if prop.type == "ARRAY" and prop.items else prop.type
    for index, option in enumerate(prop.options):
        place = f"{where}.options[{index}].value"
        accepted = _PYTHON_TYPES.get(item_type)
        if accepted and not _is_instance(option.value, item_type):
            yield Problem(place, f"{option.value!r} is not a {item_type} value")
        key = (type(option.value) is bool, option.value)
        if key in seen:
            yield Problem(place, f"{option.value!r} is listed twice")
        seen.add(key)


def value_problems(prop: Property, value: object) -> list[str]:
    """Why `value` cannot be this property's value (bounds, pattern, options); empty if it can."""
    problems: list[str] = []
    number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if prop.min_value is not None and number is not None and number < prop.min_value:
        problems.append(f"{value} is below minValue {prop.min_value}")
    if prop.max_value is not None and number is not None and number > prop.max_value:
        problems.append(f"{value} is above maxValue {prop.max_value}")
    if isinstance(value, str):
        if prop.min_length is not None and len(value) < prop.min_length:
            problems.append(f"{value!r} is shorter than minLength {prop.min_length}")
        if prop.max_length is not None and len(value) > prop.max_length:
            problems.append(f"{value!r} is longer than maxLength {prop.max_length}")
        if prop.pattern and _valid_pattern(prop.pattern) and not pattern_matches(prop.pattern, value):
            problems.append(f"{value!r} does not match pattern {prop.pattern!r}")
    if prop.options and not prop.allow_custom_value:
        allowed = [option.value for option in prop.options]
        chosen = value if isinstance(value, list) and prop.type == "ARRAY" else [value]
        for item in chosen:
            if not any(_same(item, option) for option in allowed):
                problems.append(f"{item!r} is not among the options {allowed!r}")
    return problems


def _check_condition(
    prop: Property, where: str, siblings: tuple[Property, ...], root: tuple[Property, ...], in_item: bool
) -> Iterator[Problem]:
    """A condition reads its siblings; inside array items also the top level, `[index]` being the item."""
    from zhipu_connector.definition.conditions import ConditionSyntaxError, parse_condition

    place = f"{where}.displayCondition"
    try:
        condition = parse_condition(prop.display_condition or "")
    except ConditionSyntaxError as error:
        yield Problem(place, str(error))
        return
    names = {sibling.name: sibling for sibling in siblings}
    if in_item:
        names = {**{p.name: p for p in root}, **names}
    elif condition.uses_index:
        yield Problem(place, "[index] can only be used by a property inside array items")
    for path in sorted(condition.paths()):
        if path and path[0] not in names:
            yield Problem(place, f"refers to {'.'.join(path)!r}, which is not a sibling property")
        elif path and path[0] == prop.name:
            yield Problem(place, "a property's display condition cannot refer to the property itself")
    if prop.required and not prop.hidden and (in_item or condition.to_json_schema() is None):
        yield Problem(
            place,
            "a required property's condition must be a comparison of sibling values with "
            "literals (==, !=, in), joined by && or ||, so that it can be published as JSON Schema",
        )


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_instance(value: object, prop_type: str) -> bool:
    if prop_type in ("INTEGER", "NUMBER"):
        if not _is_number(value):
            return False
        return prop_type == "NUMBER" or float(value).is_integer()  # type: ignore[arg-type]
    return isinstance(value, _PYTHON_TYPES[prop_type])


def _same(a: object, b: object) -> bool:
    """Equality that does not take True for 1, as JSON Schema's enum does not."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def _valid_pattern(pattern: str) -> bool:
    try:
        compiled_pattern(pattern)
    except re.error:
        return False
    return True
