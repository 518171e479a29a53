"""Typed action inputs: declaration, normalisation and validation (flow-api.md §2.5).

An action declares its inputs in ``initialize``; the engine binds the request's ``input_data``
to them; ``validate`` applies Hanko's rules in Hanko's order, first failing rule wins per input.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from hankoflow.engine import errors
from hankoflow.engine.errors import InputError

STRING = "string"
EMAIL = "email"
PASSWORD = "password"  # noqa: S105 - an input type name, not a secret
NUMBER = "number"
BOOLEAN = "boolean"
JSON = "json"
TYPES = (STRING, EMAIL, PASSWORD, NUMBER, BOOLEAN, JSON)

# Hanko's email check (flow-api.md §2.5.3 rule 6), kept exact so both servers accept the same input.
EMAIL_PATTERN = re.compile(r"^[a-zA-Z0-9._%+-]+@[a-zA-Z0-9.-]+\.[a-zA-Z]{2,}$")


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
"""Marks an input key the request did not send (distinct from an explicit ``null``)."""


@dataclass(frozen=True)
class AllowedValue:
    value: Any
    name: str


@dataclass
class Input:
    """One declared input; after binding it also holds the request's value and any error."""

    name: str
    type: str = STRING
    required: bool | None = None
    min_length: int | None = None
    max_length: int | None = None
    hidden: bool | None = None
    allowed_values: tuple[AllowedValue, ...] = ()
    preserve: bool = False  # echo the submitted value back (``"value"`` key)
    trim_space: bool = False
    lower_case: bool = False
    value: Any = field(default=MISSING, compare=False)
    error: InputError | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        if self.type not in TYPES:
            raise ValueError(f"unknown input type {self.type!r}")

    # --- binding and normalisation -------------------------------------------------------------

    def bind(self, input_data: dict[str, Any]) -> None:
        self.value = input_data.get(self.name, MISSING)

    def normalize(self) -> None:
        """Trim and lower-case as declared; Hanko turns any value into its text form first."""
        if not (self.trim_space or self.lower_case):
            return
        text = _as_text(self.value)
        if self.trim_space:
            text = text.strip()
        if self.lower_case:
            text = text.lower()
        self.value = text

    # --- validation ----------------------------------------------------------------------------

    def validate(self) -> bool:
        """Apply the first failing rule of flow-api.md §2.5.3; True when the input is valid."""
        self.error = self._first_error()
        return self.error is None

    def _first_error(self) -> InputError | None:
        if self.type in (BOOLEAN, JSON):
            return None  # Hanko never validates these, not even ``required``
        if self.type == NUMBER:
            return self._number_error()
        text = self.value if isinstance(self.value, str) else ""
        if self.required and text == "":
            return errors.VALUE_MISSING
        size = len(text.encode("utf-8"))  # Hanko counts bytes, not characters
        if text and self.min_length is not None and size < self.min_length:
            return errors.VALUE_TOO_SHORT
        if text and self.max_length is not None and size > self.max_length:
            return errors.VALUE_TOO_LONG
        # fullmatch: Python's ``$`` also matches before a final "\n", Go's does not.
        if self.type == EMAIL and (self.required or text) and not EMAIL_PATTERN.fullmatch(text):
            return errors.VALUE_INVALID
        if self.type == STRING and self.allowed_values and self.value is not MISSING:
            allowed = [str(a.value) for a in self.allowed_values]
            if text not in allowed:
                return errors.value_not_allowed(allowed)
        return None

    def _number_error(self) -> InputError | None:
        # Hanko declares but never uses numbers; we accept JSON numbers and numeric strings.
        value = self.value
        if value is MISSING or value is None or value == "":
            return errors.VALUE_MISSING if self.required else None
        if isinstance(value, bool):
            return errors.VALUE_INVALID
        if isinstance(value, str):
            try:
                float(value)
            except ValueError:
                return errors.VALUE_INVALID
        elif not isinstance(value, int | float):
            return errors.VALUE_INVALID
        return None

    def inherit(self, executed: Input) -> None:
        """Take over what the executed action's copy of this input knows (flow-api.md §2.4)."""
        self.error = executed.error
        if self.preserve:
            self.value = executed.value


def _as_text(value: Any) -> str:
    if value is MISSING or value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return ""


# Short constructors so action declarations read like Hanko's: ``string("code", required=True)``.


def string(name: str, **options: Any) -> Input:
    return Input(name, STRING, **options)


def email(name: str, **options: Any) -> Input:
    return Input(name, EMAIL, **options)


def password(name: str, **options: Any) -> Input:
    return Input(name, PASSWORD, **options)


def number(name: str, **options: Any) -> Input:
    return Input(name, NUMBER, **options)


def boolean(name: str, **options: Any) -> Input:
    return Input(name, BOOLEAN, **options)


def json(name: str, **options: Any) -> Input:
    return Input(name, JSON, **options)
