"""What the CMDB handlers share: the history context of a request and list parameters."""

from __future__ import annotations

from typing import Literal

from pydantic import ConfigDict, Field

from omp.domain.model import Model
from omp.domain.pagination import DEFAULT_LIMIT, MAX_LIMIT
from omp.runtime import container, http
from omp.services import cmdb


class PageParams(Model):
    model_config = ConfigDict(extra="ignore")

    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    next_token: str | None = Field(default=None, max_length=4096)


class CiListParams(PageParams):
    type: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$", max_length=64)
    status: Literal["active", "retired"] | None = None
    attribute: str | None = Field(
        default=None,
        pattern=r"^[a-z][a-z0-9_]*$",
        max_length=64,
        description="an indexed attribute of `type`; with `value`",
    )
    value: str | None = Field(default=None, max_length=4096)


def context(request: http.Request, source: str = "api", reason: str | None = None) -> cmdb.Context:
    return cmdb.Context(
        actor=request.actor, request_id=request.request_id, source=source, reason=reason
    )


def types() -> cmdb.TypeCache:
    return cmdb.TypeCache(container.ci_types())


class NeighborParams(Model):
    model_config = ConfigDict(extra="ignore")

    direction: Literal["out", "in", "both"] = "both"
    types: str | None = Field(
        default=None, max_length=512, description="comma-separated relation types; default all"
    )
    depth: int = Field(default=1, ge=1, le=6)

    def relation_types(self) -> list[str] | None:
        if not self.types:
            return None
        from omp.domain.cmdb.relations import RELATION_TYPES
        from omp.domain.errors import ValidationFailed

        names = [t.strip() for t in self.types.split(",") if t.strip()]
        unknown = [t for t in names if t not in RELATION_TYPES]
        if unknown:
            raise ValidationFailed(
                f"unknown relation types {unknown}",
                details=[{"loc": ["query", "types"], "msg": f"one of {sorted(RELATION_TYPES)}"}],
            )
        return names


class DepthParams(Model):
    model_config = ConfigDict(extra="ignore")

    depth: int = Field(default=3, ge=1, le=6)


class TopologyParams(Model):
    model_config = ConfigDict(extra="ignore")

    root: str = Field(min_length=4, max_length=64, pattern=r"^ci_[0-9A-Z]+$")
    depth: int = Field(default=2, ge=1, le=6)


class PathParams(Model):
    model_config = ConfigDict(extra="ignore")

    to: str = Field(min_length=4, max_length=64, pattern=r"^ci_[0-9A-Z]+$")
    depth: int = Field(default=6, ge=1, le=6)


class SearchParams(Model):
    model_config = ConfigDict(extra="ignore")

    q: str = Field(min_length=1, max_length=256, description="words; each matches as a prefix")
    type: str | None = Field(default=None, pattern=r"^[a-z][a-z0-9_]*$", max_length=64)
    status: Literal["active", "retired"] | None = None
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)


class ResolveParams(Model):
    model_config = ConfigDict(extra="ignore")

    resource: str = Field(
        min_length=1, max_length=2048, description="an ARN, an AWS resource id or a service name"
    )
