"""CloudWatch metric sources: which metrics the scheduled pull reads through GetMetricData."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field, field_validator

from omp.domain.model import Model

CW_STATS = ("Average", "Sum", "Minimum", "Maximum", "SampleCount")
_PERCENTILE = re.compile(r"^p(\d{1,2}(\.\d{1,2})?|100)$")
PERIODS = (60, 300, 900, 3600)
MAX_METRIC_NAMES = 100  # GetMetricData takes 500 queries per call; one query per metric name
_NAMESPACE = re.compile(r"^[^:][^:]{0,254}$")


class Dimension(Model):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=255)
    value: str = Field(min_length=1, max_length=1024)


class CreateMetricSource(Model):
    """What to pull: one GetMetricData query per metric name, all with the same dimensions."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=128, description="A label for people")
    namespace: str = Field(min_length=1, max_length=255, examples=["AWS/EC2"])
    metric_names: list[str] = Field(min_length=1, max_length=MAX_METRIC_NAMES)
    dimensions: list[Dimension] = Field(default_factory=list, max_length=30)
    period: Literal[60, 300, 900, 3600] = Field(default=300, description="Seconds")
    stat: str = Field(
        default="Average", description="Average, Sum, Minimum, Maximum, SampleCount or pNN"
    )

    @field_validator("namespace")
    @classmethod
    def _namespace(cls, value: str) -> str:
        if not _NAMESPACE.match(value):
            raise ValueError("a CloudWatch namespace (no leading colon)")
        return value

    @field_validator("metric_names")
    @classmethod
    def _metric_names(cls, value: list[str]) -> list[str]:
        if any(not 1 <= len(name) <= 255 for name in value):
            raise ValueError("metric names are 1 to 255 characters")
        if len(set(value)) != len(value):
            raise ValueError("metric names must be unique")
        return value

    @field_validator("stat")
    @classmethod
    def _stat(cls, value: str) -> str:
        if value not in CW_STATS and not _PERCENTILE.match(value):
            raise ValueError("one of Average, Sum, Minimum, Maximum, SampleCount or pNN")
        return value


class MetricSource(CreateMetricSource):
    model_config = ConfigDict(extra="ignore")

    id: str
    created_at: datetime
    created_by: str
    last_run: dict[str, Any] | None = Field(
        default=None, description="The last pull: at, points accepted, rejected, error"
    )

    @property
    def ingest_source(self) -> str:
        """The source the pulled series count against (the cardinality limit)."""
        return f"metric-source:{self.id}"


class MetricSourceResponse(Model):
    metric_source: MetricSource


class MetricSourceListResponse(Model):
    metric_sources: list[MetricSource]
    next_token: str | None = None


def series_name(namespace: str, metric_name: str) -> str:
    """`AWS/EC2` + `CPUUtilization` -> `AWS/EC2/CPUUtilization`; characters a metric name may
    not hold (spaces and others) become `_`."""
    raw = f"{namespace}/{metric_name}"
    cleaned = re.sub(r"[^A-Za-z0-9_.:/-]", "_", raw)
    return cleaned if re.match(r"^[A-Za-z_]", cleaned) else f"_{cleaned}"


def dimension_key(name: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_.:/-]", "_", name)[:128]
    return cleaned if re.match(r"^[A-Za-z_]", cleaned) else f"_{cleaned}"[:128]
