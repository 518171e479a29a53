"""The validation machinery of the OpenAPI checkers: formats, a ``name``-tagged ``oneOf``, messages.

``compile_document`` turns a (corrected) document into a registry and an OpenAPI 3.0 validator
class whose ``oneOf`` dispatches on the ``name`` tag of Hanko's unions; ``describe`` turns a
``ValidationError`` into the one-line problems the checkers report.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from jsonschema import FormatChecker, ValidationError
from jsonschema.exceptions import best_match
from jsonschema.validators import extend
from openapi_schema_validator import OAS30Validator
from referencing import Registry
from referencing.jsonschema import DRAFT4

from hankoflow.testing.openapi_corrections import node_at


def _formats() -> FormatChecker:
    # OAS 3.0 formats plus the JSON Schema ones the document uses (uuid, date-time, email, ipv4/6,
    # so that e.g. the ProfileDataSessions ip_address oneOf can tell its branches apart).
    checker = FormatChecker(formats=())
    checker.checkers.update(OAS30Validator.FORMAT_CHECKER.checkers)
    checker.checkers["uuid4"] = checker.checkers["uuid"]
    return checker


FORMATS = _formats()


@dataclass(frozen=True)
class Compiled:
    spec: dict[str, Any]
    registry: Registry
    validator_cls: Any


def compile_document(spec: dict[str, Any], base_uri: str) -> Compiled:
    """A registry serving ``spec`` at ``base_uri`` and a validator class for its schemas."""
    registry = Registry().with_resource(base_uri, DRAFT4.create_resource(spec))
    cls = extend(OAS30Validator, validators={"oneOf": _name_dispatching_one_of(spec)})
    return Compiled(spec=spec, registry=registry, validator_cls=cls)


def name_tags(spec: dict[str, Any], schema: Any, depth: int = 0) -> frozenset | None:
    """The `name` values a schema admits (via enum/const, $ref and allOf); None if unconstrained."""
    if not isinstance(schema, dict) or depth > 16:
        return None
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return name_tags(spec, node_at(spec, ref), depth + 1) if ref.startswith("#/") else None
    sets = []
    name = schema.get("properties", {}).get("name", {})
    if "enum" in name:
        sets.append(frozenset(name["enum"]))
    if "const" in name:
        sets.append(frozenset([name["const"]]))
    for part in schema.get("allOf", []):
        tags = name_tags(spec, part, depth + 1)
        if tags is not None:
            sets.append(tags)
    return frozenset.intersection(*sets) if sets else None


def _name_dispatching_one_of(spec: dict[str, Any]) -> Callable[..., Iterator[ValidationError]]:
    """``oneOf`` that validates an object against the branch(es) declaring its ``name``.

    Hanko's unions (states, identifier inputs) are tagged by ``name``, sometimes without a usable
    discriminator mapping. When every branch declares its names, the body is checked only against
    branches whose names include ``body["name"]`` (valid if any of them accepts it), which also
    gives precise error paths. Anything else falls back to OpenAPI 3.0 ``oneOf`` semantics.
    """
    standard = OAS30Validator.VALIDATORS["oneOf"]
    cache: dict[int, frozenset | None] = {}

    def tags_of(branch: Any) -> frozenset | None:
        if id(branch) not in cache:
            cache[id(branch)] = name_tags(spec, branch)
        return cache[id(branch)]

    def one_of(
        validator: Any, branches: list[Any], instance: Any, schema: Mapping[str, Any]
    ) -> Iterator[ValidationError]:
        name = instance.get("name") if isinstance(instance, dict) else None
        tags = [tags_of(branch) for branch in branches]
        tagged_by_name = schema.get("discriminator", {}).get("propertyName", "name") == "name"
        if not (tagged_by_name and isinstance(name, str) and all(t is not None for t in tags)):
            yield from standard(validator, branches, instance, schema)
            return
        candidates = [i for i, t in enumerate(tags) if name in t]
        if not candidates:
            allowed = sorted(str(n) for t in tags for n in t)
            yield ValidationError(f"{name!r} is not one of {allowed}", path=["name"])
            return
        results = [
            list(validator.descend(instance, branches[i], schema_path=i)) for i in candidates
        ]
        if not all(results):
            return
        yield from min(results, key=len)

    return one_of


def describe(error: ValidationError) -> Iterator[str]:
    """One readable line per problem: ``<json path>: <message>``."""
    if error.context:  # a plain oneOf/anyOf failed: report the closest branch's complaint
        closest = best_match(error.context)
        note = f"no {error.validator} branch matched"
        yield f"{closest.json_path}: {_short(closest.message)} ({note})"
        return
    message = error.message
    if message == "None for not nullable":
        message = "null is not allowed here"
    yield f"{error.json_path}: {_short(message)}"


def _short(message: str, limit: int = 500) -> str:
    return message if len(message) <= limit else message[: limit - 3] + "..."
