"""Typed, immutable models of a component definition.

The YAML keys properties and actions by name (so a location reads
`actions.ask.properties.temperature`); the models keep them as ordered tuples whose items know
their own `name`, the order being the order of the file, which forms and docs follow.
Field names are snake_case in Python and ByteChef's camelCase in the file.

Annotations are real objects, not strings (no `from __future__ import annotations`): pydantic
would otherwise compile each one at import, a few milliseconds of every start.
"""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, PrivateAttr, field_validator, model_validator

PropertyType = Literal["STRING", "INTEGER", "NUMBER", "BOOLEAN", "ARRAY", "OBJECT", "DATE", "DATE_TIME", "TIME", "NULL"]
ControlType = Literal[
    "TEXT",
    "TEXT_AREA",
    "PASSWORD",
    "EMAIL",
    "URL",
    "PHONE",
    "SELECT",
    "MULTI_SELECT",
    "INTEGER",
    "NUMBER",
    "ARRAY_BUILDER",
    "OBJECT_BUILDER",
    "CODE_EDITOR",
    "DATE",
    "DATE_TIME",
    "TIME",
]

DEFAULT_CONTROL: dict[str, ControlType | None] = {
    "STRING": "TEXT",
    "INTEGER": "INTEGER",
    "NUMBER": "NUMBER",
    "BOOLEAN": "SELECT",
    "ARRAY": "ARRAY_BUILDER",
    "OBJECT": "OBJECT_BUILDER",
    "DATE": "DATE",
    "DATE_TIME": "DATE_TIME",
    "TIME": "TIME",
    "NULL": None,
}
"""The control a property gets when its definition names none."""


def camel(name: str) -> str:
    """`min_value` → `minValue`, as pydantic's `to_camel` spells the models' snake_case names.

    Its regexes are compiled on first use, ~0.7 ms of every start; a test checks that both
    spell every field alike.
    """
    first, *rest = name.split("_")
    return first + "".join(word.capitalize() for word in rest)


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=camel,
        populate_by_name=True,
        extra="forbid",
        frozen=True,
        defer_build=True,  # built on first validation: a cached start never validates
    )


def _named(mapping: Any) -> Any:
    """`{key: {...}}` as `[{name: key, ...}]`, keeping the file's order."""
    if isinstance(mapping, dict):
        return [{**value, "name": key} for key, value in mapping.items()]
    return mapping


_INTEGER_FIELDS = frozenset(
    ("minValue", "maxValue", "defaultValue", "exampleValue", "min_value", "max_value", "default_value", "example_value")
)


class Option(_Model):
    label: str
    value: str | bool | int | float
    description: str | None = None
    available_with: dict[str, tuple[str | bool | int | float, ...]] | None = None
    """Connection property → the values with which this option is served (`availableWith`)."""


class OptionsSource(_Model):
    """Options fetched live with the current connection (`optionsSource`); its plugin registers the function."""

    name: str
    description: str | None = None
    cache_seconds: float = 300.0
    timeout: float = 5.0


class Property(_Model):
    """One row of a property table, or the shape of an array item or an output."""

    name: str = ""
    type: PropertyType
    label: str | None = None
    description: str | None = None
    control_type: ControlType | None = None
    required: bool = False
    default_value: Any = None
    example_value: Any = None
    placeholder: str | None = None
    advanced_option: bool = False
    hidden: bool = False
    secret: bool = False
    template: bool = False
    """A template in the host's placeholder grammar: text inserted by references is escaped."""
    environment: str | None = None
    allow_custom_value: bool = False
    options: tuple[Option, ...] | None = None
    options_source: OptionsSource | None = None
    min_value: int | float | None = None
    """Typed as the property is: an INTEGER's bounds are ints (`_integers_as_int`), a NUMBER's as written."""
    max_value: int | float | None = None
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None
    min_items: int | None = None
    max_items: int | None = None
    items: "Property | None" = None
    properties: "tuple[Property, ...]" = ()
    display_condition: str | None = None

    _named_properties = field_validator("properties", mode="before")(_named)

    @model_validator(mode="before")
    @classmethod
    def _integers_as_int(cls, data: Any) -> Any:
        """An INTEGER's whole bounds, default and example as ints (`2.0` → `2`), so each prints as written.

        A bound that is not whole is left as it is, for the rules to refuse with its location.
        """
        if not isinstance(data, dict) or data.get("type") != "INTEGER":
            return data
        whole = {
            key: int(value)
            for key, value in data.items()
            if key in _INTEGER_FIELDS and isinstance(value, float) and value.is_integer()
        }
        return {**data, **whole} if whole else data

    @property
    def control(self) -> ControlType | None:
        """The control type, explicit or the type's default."""
        return self.control_type or DEFAULT_CONTROL[self.type]

    @property
    def title(self) -> str:
        """What a person calls the property: its label, else its key."""
        return self.label or self.name

    @property
    def has_default(self) -> bool:
        return self.default_value is not None

    def property(self, name: str) -> "Property":
        """A nested property of an OBJECT by key."""
        for child in self.properties:
            if child.name == name:
                return child
        raise KeyError(name)


class OutputCase(_Model):
    """An output the action returns instead of its default one when `condition` holds on the inputs."""

    condition: str
    output: Property


class Action(_Model):
    name: str
    title: str
    description: str | None = None
    help: str | None = None
    deprecated: bool = False
    properties: tuple[Property, ...] = ()
    output: Property
    output_when: tuple[OutputCase, ...] = ()
    sample_output: Any = None

    _named_properties = field_validator("properties", mode="before")(_named)

    def property(self, name: str) -> "Property":
        for prop in self.properties:
            if prop.name == name:
                return prop
        raise KeyError(name)


class Authorization(_Model):
    name: str
    title: str
    description: str | None = None
    type: str
    properties: tuple[Property, ...] = ()

    _named_properties = field_validator("properties", mode="before")(_named)


class ConnectionTest(_Model):
    """How a component proves cheaply that a connection works; its plugin registers the check."""

    description: str
    timeout: float = 10.0


class ConnectionDefinition(_Model):
    version: int
    authorizations: tuple[Authorization, ...]
    connection_test: ConnectionTest | None = None

    _named_authorizations = field_validator("authorizations", mode="before")(_named)


class Component(_Model):
    """A whole component: what `connector.yaml` declares."""

    name: str
    title: str
    description: str | None = None
    icon: str | None = None
    categories: tuple[str, ...] = ()
    version: int
    connection: ConnectionDefinition | None = None
    actions: tuple[Action, ...]

    _named_actions = field_validator("actions", mode="before")(_named)
    _schemas: dict[str, Any] | None = PrivateAttr(default=None)

    def derived_schemas(self) -> dict[str, Any]:
        """The JSON Schemas derived from the property tables, made once per component.

        They travel with the component through the start-up cache, so a start neither
        derives them again nor imports what deriving needs (the condition parser).
        """
        if self._schemas is None:
            from zhipu_connector.definition.json_schema import derive_all

            self._schemas = derive_all(self)
        return self._schemas

    def action(self, name: str) -> "Action":
        for action in self.actions:
            if action.name == name:
                return action
        raise KeyError(name)

    @property
    def action_names(self) -> tuple[str, ...]:
        return tuple(action.name for action in self.actions)
