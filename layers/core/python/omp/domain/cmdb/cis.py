"""Configuration items, their API bodies, diffs and domain events. Pure: no I/O."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints

from omp.domain.cmdb.types import TypeName
from omp.domain.events import DomainEvent
from omp.domain.model import Model

ID_PREFIX = "ci"
REL_PREFIX = "rel"
SOURCE = "omp.cmdb"
MAX_BATCH = 500

CiName = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Reason = Annotated[str, StringConstraints(max_length=1024)]
SourceName = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_.:-]*$")
]


class CiStatus(StrEnum):
    ACTIVE = "active"
    RETIRED = "retired"


class Ci(Model):
    """A configuration item as stored and as returned by the API."""

    id: str
    type: str
    name: str
    attributes: dict[str, Any]
    status: CiStatus
    version: int
    sources: list[str]
    created_at: str
    updated_at: str
    natural_key: str
    # who set each attribute, and values a lower-priority source could not set (omp.domain.
    # cmdb.sources); empty on CIs written before per-attribute sources were kept
    attribute_sources: dict[str, str] = Field(default_factory=dict)
    conflicts: dict[str, dict[str, Any]] = Field(default_factory=dict)


class CreateCi(Model):
    """The body of `POST /v1/cis`."""

    model_config = ConfigDict(extra="forbid")

    type: TypeName
    name: CiName
    attributes: dict[str, Any] = Field(default_factory=dict, max_length=100)
    source: SourceName = "api"
    reason: Reason | None = None


class UpdateCi(Model):
    """The body of `PUT /v1/cis/{ci_id}`: attributes are merged (null removes one)."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1, description="the version read; 409 if the CI changed since")
    name: CiName | None = None
    attributes: dict[str, Any] = Field(default_factory=dict, max_length=100)
    source: SourceName = "api"
    reason: Reason | None = None


class RetireParams(Model):
    model_config = ConfigDict(extra="ignore")

    version: int | None = Field(default=None, ge=1, description="retire only at this version")
    reason: Reason | None = None


class UpsertItem(Model):
    model_config = ConfigDict(extra="forbid")

    type: TypeName
    name: CiName
    attributes: dict[str, Any] = Field(default_factory=dict, max_length=100)


class BatchUpsert(Model):
    """The body of `POST /v1/cis:batchUpsert`: CIs matched on type + natural key."""

    model_config = ConfigDict(extra="forbid")

    items: list[UpsertItem] = Field(min_length=1, max_length=MAX_BATCH)
    source: SourceName = "api"
    reason: Reason | None = None


class UpsertResult(Model):
    index: int
    outcome: Literal["created", "updated", "unchanged", "failed"]
    ci_id: str | None = None
    version: int | None = None
    error: dict[str, Any] | None = None


class BatchUpsertResponse(Model):
    results: list[UpsertResult]
    counts: dict[str, int]


class CiResponse(Model):
    ci: Ci


class CiListResponse(Model):
    cis: list[Ci]
    next_token: str | None = None


def diff(before: dict[str, Any] | None, after: dict[str, Any]) -> dict[str, Any]:
    """`{field: {"from": old, "to": new}}` over the CI's name, status and attributes
    (`attributes.<name>` for each attribute)."""

    def flat(ci: dict[str, Any] | None) -> dict[str, Any]:
        if not ci:
            return {}
        out = {"name": ci.get("name"), "status": ci.get("status")}
        out |= {f"attributes.{k}": v for k, v in (ci.get("attributes") or {}).items()}
        # a value that lost to a higher-priority source (the conflict is part of the change)
        out |= {f"conflicts.{k}": v for k, v in (ci.get("conflicts") or {}).items()}
        return out

    old, new = flat(before), flat(after)
    return {
        k: {"from": old.get(k), "to": new.get(k)}
        for k in sorted(old.keys() | new.keys())
        if old.get(k) != new.get(k)
    }


def event(detail_type: str, ci: Ci, actor: str, **extra: Any) -> DomainEvent:
    return DomainEvent(
        source=SOURCE,
        detail_type=detail_type,
        detail={"ci": ci.model_dump(mode="json"), "actor": actor, **extra},
        resources=[str(ci.attributes["arn"])] if ci.attributes.get("arn") else [],
    )
