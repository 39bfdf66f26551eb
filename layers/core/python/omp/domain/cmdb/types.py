"""CI types: attribute definitions, inheritance, allowed relations, derivation rules; validation
of a CI's attributes against its (resolved) type. Pure: no I/O.

A type names an optional `parent`; the resolved type carries the parent chain's attributes,
relations and derivation rules followed by its own. The built-in types live in
`omp.domain.cmdb.builtin` and are served next to the user's types.
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints

from omp.domain.cmdb.relations import RELATION_TYPE_PATTERN
from omp.domain.errors import ValidationFailed
from omp.domain.model import Model
from omp.domain.timeutil import iso

AttributeType = Literal[
    "string", "int", "float", "bool", "enum", "datetime", "ip", "cidr", "reference"
]
Cardinality = Literal["one", "many"]

TypeName = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
]
AttributeName = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
]
RelationType = Annotated[str, StringConstraints(pattern=RELATION_TYPE_PATTERN)]
Description = Annotated[str, StringConstraints(max_length=1024)]

ANY_TYPE = "*"  # a relation rule's target that allows every type
MAX_STRING = 4096
MAX_ATTRIBUTES = 100
RESERVED = frozenset({"id", "type", "name", "status", "version"})


class AttributeDef(Model):
    model_config = ConfigDict(extra="forbid")

    name: AttributeName
    type: AttributeType
    required: bool = False
    unique: bool = Field(default=False, description="no two CIs of the type share a value")
    indexed: bool = Field(default=False, description="`GET /v1/cis` can filter on it")
    default: Any = None
    values: list[Annotated[str, StringConstraints(min_length=1, max_length=256)]] | None = Field(
        default=None, max_length=500, description="the allowed values of an enum"
    )
    reference_type: TypeName | None = Field(
        default=None, description="a reference's CI type (any type when absent)"
    )
    description: Description = ""


class RelationRule(Model):
    """A CI of this type may have an edge `relation` to a CI of type `target` (or a subtype)."""

    model_config = ConfigDict(extra="forbid")

    relation: RelationType
    target: Annotated[str, StringConstraints(pattern=r"^(\*|[a-z][a-z0-9_]*)$")]
    cardinality: Cardinality = Field(
        default="many", description="one: at most one such edge from each CI"
    )


class DerivationRule(Model):
    """A relation derived from an attribute value: an EC2 instance's `subnet_id` makes a
    member_of edge to the subnet whose `target_attribute` (its natural key by default) has that
    value."""

    model_config = ConfigDict(extra="forbid")

    attribute: AttributeName
    relation: RelationType
    target_type: TypeName
    target_attribute: AttributeName | None = None


class CiTypeSpec(Model):
    """The body of `POST /v1/ci-types` (and, with `version`, of `PUT /v1/ci-types/{name}`)."""

    model_config = ConfigDict(extra="forbid")

    name: TypeName
    parent: TypeName | None = None
    description: Description = ""
    natural_key: AttributeName = Field(
        default="name", description="what batch upserts and imports match on: name or an attribute"
    )
    attributes: list[AttributeDef] = Field(default_factory=list, max_length=MAX_ATTRIBUTES)
    relations: list[RelationRule] = Field(default_factory=list, max_length=200)
    derive: list[DerivationRule] = Field(default_factory=list, max_length=50)


class UpdateCiType(Model):
    """The body of `PUT /v1/ci-types/{name}`: the whole definition and the version it replaces."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1)
    parent: TypeName | None = None
    description: Description = ""
    natural_key: AttributeName = "name"
    attributes: list[AttributeDef] = Field(default_factory=list, max_length=MAX_ATTRIBUTES)
    relations: list[RelationRule] = Field(default_factory=list, max_length=200)
    derive: list[DerivationRule] = Field(default_factory=list, max_length=50)


class CiType(CiTypeSpec):
    """A type as stored and served; `attributes`, `relations`, `derive` are its own, `resolved`
    in the API answer adds the inherited ones."""

    builtin: bool = False
    version: int = 1
    created_at: str | None = None
    updated_at: str | None = None


class ResolvedType(Model):
    name: str
    ancestors: list[str]  # nearest first
    natural_key: str
    attributes: list[AttributeDef]
    relations: list[RelationRule]
    derive: list[DerivationRule]

    def attribute(self, name: str) -> AttributeDef | None:
        for a in self.attributes:
            if a.name == name:
                return a
        return None

    def is_a(self, name: str) -> bool:
        return name == ANY_TYPE or name == self.name or name in self.ancestors


class CiTypeView(CiType):
    resolved: ResolvedType | None = None


class CiTypeResponse(Model):
    ci_type: CiTypeView


class CiTypeListResponse(Model):
    ci_types: list[CiType]
    next_token: str | None = None


# ---- checks on a type definition ------------------------------------------------------------


def _problem(loc: list[Any], msg: str) -> dict[str, Any]:
    return {"loc": ["body", *loc], "msg": msg, "type": "value_error"}


def check_definition(spec: CiTypeSpec, parent: ResolvedType | None) -> None:
    """422 with field paths for a definition that cannot work (pure; the parent is resolved)."""
    problems: list[dict[str, Any]] = []
    inherited = {a.name for a in parent.attributes} if parent else set()
    seen: set[str] = set()
    for i, attr in enumerate(spec.attributes):
        loc: list[Any] = ["attributes", i]
        if attr.name in RESERVED:
            problems.append(_problem([*loc, "name"], f"{attr.name} is reserved"))
        if attr.name in seen or attr.name in inherited:
            problems.append(_problem([*loc, "name"], f"{attr.name} is defined twice"))
        seen.add(attr.name)
        if attr.type == "enum" and not attr.values:
            problems.append(_problem([*loc, "values"], "an enum needs its values"))
        if attr.type != "enum" and attr.values is not None:
            problems.append(_problem([*loc, "values"], "only an enum has values"))
        if attr.type != "reference" and attr.reference_type is not None:
            problems.append(_problem([*loc, "reference_type"], "only a reference has one"))
        if attr.default is not None:
            try:
                attr_copy = attr.model_copy(update={"default": None})
                coerce(attr_copy, attr.default)
            except ValueError as exc:
                problems.append(_problem([*loc, "default"], str(exc)))
    names = inherited | seen
    if spec.natural_key != "name" and spec.natural_key not in names:
        problems.append(_problem(["natural_key"], f"no attribute {spec.natural_key}"))
    for i, rule in enumerate(spec.derive):
        if rule.attribute not in names:
            problems.append(_problem(["derive", i, "attribute"], f"no attribute {rule.attribute}"))
    if problems:
        raise ValidationFailed(f"CI type {spec.name} is not valid", details=problems)


def resolve(chain: list[CiType]) -> ResolvedType:
    """A type resolved from its chain, the type itself first and the root last."""
    own = chain[0]
    attributes: list[AttributeDef] = []
    relations: list[RelationRule] = []
    derive: list[DerivationRule] = []
    for t in reversed(chain):
        attributes += t.attributes
        relations += t.relations
        derive += t.derive
    natural_key = next((t.natural_key for t in chain if t.natural_key != "name"), "name")
    return ResolvedType(
        name=own.name,
        ancestors=[t.name for t in chain[1:]],
        natural_key=natural_key,
        attributes=attributes,
        relations=relations,
        derive=derive,
    )


def relation_allowed(
    source: ResolvedType, relation: str, target: ResolvedType
) -> RelationRule | None:
    for rule in source.relations:
        if rule.relation == relation and target.is_a(rule.target):
            return rule
    return None


# ---- attribute values -----------------------------------------------------------------------


def coerce(attr: AttributeDef, value: Any) -> Any:
    """The stored form of a value (normalised: ip and cidr canonical, datetime RFC 3339 UTC);
    ValueError says why a value does not fit."""
    kind = attr.type
    if kind in ("string", "reference"):
        if not isinstance(value, str):
            raise ValueError("must be a string")
        if len(value) > MAX_STRING:
            raise ValueError(f"longer than {MAX_STRING} characters")
        if kind == "reference" and not value.startswith("ci_"):
            raise ValueError("must be a CI id (ci_...)")
        return value
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("must be an integer")
        if abs(value) >= 2**63:
            raise ValueError("out of the 64-bit range")
        return value
    if kind == "float":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError("must be a number")
        if not math.isfinite(value):
            raise ValueError("must be finite")
        return float(value)
    if kind == "bool":
        if not isinstance(value, bool):
            raise ValueError("must be true or false")
        return value
    if kind == "enum":
        if value not in (attr.values or []):
            raise ValueError(f"must be one of {attr.values}")
        return value
    if not isinstance(value, str):
        raise ValueError("must be a string")
    if kind == "datetime":
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ValueError("must be an RFC 3339 time") from None
        if parsed.tzinfo is None:
            raise ValueError("needs a time zone offset (RFC 3339)")
        return iso(parsed)
    if kind == "ip":
        try:
            return str(ipaddress.ip_address(value))
        except ValueError:
            raise ValueError("must be an IPv4 or IPv6 address") from None
    try:  # cidr
        return str(ipaddress.ip_network(value, strict=False))
    except ValueError:
        raise ValueError("must be a CIDR block (10.0.0.0/16)") from None


@dataclass(frozen=True)
class Checked:
    attributes: dict[str, Any]  # the attributes after the change, normalised
    references: dict[str, tuple[str, str | None]]  # attribute -> (CI id, required type)


def check_attributes(
    ci_type: ResolvedType,
    current: dict[str, Any],
    changes: dict[str, Any],
    *,
    creating: bool,
    loc: tuple[Any, ...] = ("body", "attributes"),
) -> Checked:
    """Merge `changes` into `current` (a null removes an attribute), apply defaults on create,
    and check every value against the type. 422 with one `{loc, msg}` per problem."""
    problems: list[dict[str, Any]] = []
    merged = dict(current)
    for name, value in changes.items():
        attr = ci_type.attribute(name)
        if attr is None:
            problems.append(
                {
                    "loc": [*loc, name],
                    "msg": f"{ci_type.name} has no attribute {name}",
                    "type": "unknown_attribute",
                }
            )
            continue
        if value is None:
            merged.pop(name, None)
            continue
        try:
            merged[name] = coerce(attr, value)
        except ValueError as exc:
            problems.append({"loc": [*loc, name], "msg": str(exc), "type": "invalid_value"})
    if creating:
        for attr in ci_type.attributes:
            if attr.name not in merged and attr.default is not None:
                merged[attr.name] = coerce(attr, attr.default)
    for attr in ci_type.attributes:
        if (
            attr.required
            and attr.name not in merged
            and not any(p["loc"][-1] == attr.name for p in problems)
        ):
            problems.append({"loc": [*loc, attr.name], "msg": "required", "type": "missing"})
    if problems:
        raise ValidationFailed(
            f"the attributes do not fit CI type {ci_type.name}", details=problems
        )
    references = {
        a.name: (merged[a.name], a.reference_type)
        for a in ci_type.attributes
        if a.type == "reference" and a.name in merged and changes.get(a.name) is not None
    }
    return Checked(attributes=merged, references=references)


def natural_key_of(ci_type: ResolvedType, name: str, attributes: dict[str, Any]) -> str | None:
    """The value batch upserts match on: the name, or the natural-key attribute's value."""
    if ci_type.natural_key == "name":
        return name
    value = attributes.get(ci_type.natural_key)
    return None if value is None else str(value)


def index_value(value: Any) -> str:
    """The string an indexed or unique value is stored under (JSON-ish, so 1 and "1" differ
    only by type, and booleans read as true/false)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
