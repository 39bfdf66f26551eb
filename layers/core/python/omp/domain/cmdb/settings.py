"""The CMDB settings document: the source priority per attribute, the discovery reconcile's
grace period and the AWS Config aggregator it reads. Pure: no I/O (stored by
omp.adapters.aws_config.DynamoCmdbSettings)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints, field_validator

from omp.domain.cmdb.cis import SourceName
from omp.domain.cmdb.sources import DEFAULT_PRIORITY
from omp.domain.cmdb.types import TypeName
from omp.domain.model import Model

AttributePath = Annotated[
    str, StringConstraints(max_length=130, pattern=r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
]
Order = Annotated[list[SourceName], Field(min_length=1, max_length=20)]
# Config's ConfigurationAggregatorName: 1..256 of [\w-] (ASCII word characters in AWS's Java)
AggregatorName = Annotated[
    str, StringConstraints(min_length=1, max_length=256, pattern=r"^[A-Za-z0-9_-]+$")
]


def _unique(order: list[str]) -> list[str]:
    if len(set(order)) != len(order):
        raise ValueError("a source is named twice")
    return order


class SourcePriorityConfig(Model):
    """Highest first. The most specific list applies: `by_attribute` (`"<type>.<attribute>"`,
    the type or one of its parents), then `by_type` (the type or a parent), then `default`."""

    model_config = ConfigDict(extra="forbid")

    default: Order = Field(default_factory=lambda: list(DEFAULT_PRIORITY))
    by_type: dict[TypeName, Order] = Field(default_factory=dict, max_length=200)
    by_attribute: dict[AttributePath, Order] = Field(default_factory=dict, max_length=500)

    @field_validator("default")
    @classmethod
    def _default_unique(cls, value: list[str]) -> list[str]:
        return _unique(value)

    @field_validator("by_type", "by_attribute")
    @classmethod
    def _lists_unique(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for order in value.values():
            _unique(order)
        return value


class CmdbSettings(Model):
    model_config = ConfigDict(extra="forbid")

    source_priority: SourcePriorityConfig = Field(default_factory=SourcePriorityConfig)
    stale_retire_after_hours: float = Field(
        default=24.0,
        ge=0,
        le=8760,
        description="how long a CI AWS Config no longer records stays stale before it is retired",
    )
    config_aggregator: AggregatorName | None = Field(
        default=None,
        description=(
            "the AWS Config aggregator (in the platform's account and region) the reconcile "
            "reads, every account and region it aggregates; null: this account and region only"
        ),
    )


class PutCmdbSettings(CmdbSettings):
    """The body of `PUT /v1/cmdb/settings`: every setting (a missing one takes its default)."""

    version: int = Field(
        ge=0, description="the version you read (0 when none exists yet); another one is a 409"
    )


class CmdbSettingsView(CmdbSettings):
    version: int = Field(description="0: nothing stored, these are the defaults")
    updated_at: str | None = None
    updated_by: str | None = None


class CmdbSettingsResponse(Model):
    cmdb_settings: CmdbSettingsView


def view(stored: dict[str, Any] | None) -> CmdbSettingsView:
    if stored is None:
        return CmdbSettingsView(version=0)
    return CmdbSettingsView(
        **CmdbSettings.model_validate(stored["config"]).model_dump(),
        version=stored["version"],
        updated_at=stored.get("updated_at"),
        updated_by=stored.get("updated_by"),
    )


def document(body: CmdbSettings) -> dict[str, Any]:
    """What is stored: the settings without the version."""
    return CmdbSettings.model_validate(body.model_dump(exclude={"version"})).model_dump(mode="json")
