"""The metric routes' models (`POST /v1/metrics`, the series list, the query): kept apart from
`omp.domain.metrics` so the OTLP ingest path, which answers in OTLP's own encoding, loads no
pydantic (docs/decisions.md, "Backtests run as jobs; ...")."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import Field

from omp.domain.metrics import (
    MAX_BATCH_POINTS,
    MAX_DIMENSIONS,
    MAX_NAME_LENGTH,
    NAME_PATTERN,
    SeriesRecord,
)
from omp.domain.model import Model
from omp.domain.timeutil import iso


class MetricPointIn(Model):
    """One point of `POST /v1/metrics` (documentation only: points are checked one by one)."""

    name: str = Field(max_length=MAX_NAME_LENGTH, pattern=NAME_PATTERN.pattern)
    dimensions: dict[str, str] = Field(default_factory=dict, max_length=MAX_DIMENSIONS)
    timestamp: float | str = Field(description="Epoch seconds or RFC 3339 with an offset")
    value: float


class MetricBatchIn(Model):
    points: list[MetricPointIn] = Field(max_length=MAX_BATCH_POINTS)


class RejectedPoint(Model):
    index: int = Field(description="Position of the point in the request (0-based)")
    reason: str = Field(description="A stable code, see docs/metrics.md")
    message: str


class IngestResponse(Model):
    accepted: int = Field(description="Points stored, or already stored with the same value")
    rejected: list[RejectedPoint]
    series: int = Field(description="Distinct series among the accepted points")


class Series(Model):
    id: str
    name: str
    dimensions: dict[str, str]
    source: str
    first_seen: str
    last_seen: str

    @classmethod
    def of(cls, record: SeriesRecord) -> Series:
        return cls(
            id=record.series_id,
            name=record.name,
            dimensions=dict(record.dimensions),
            source=record.source,
            first_seen=iso(datetime.fromtimestamp(record.first_seen, UTC)),
            last_seen=iso(datetime.fromtimestamp(record.last_seen, UTC)),
        )


class SeriesListResponse(Model):
    series: list[Series]
    next_token: str | None = None


class QueryPoint(Model):
    timestamp: str = Field(description="Start of the step window, RFC 3339")
    value: float


class QueryResponse(Model):
    series: Series
    stat: str
    step: int = Field(description="Seconds per returned point")
    start: str
    end: str
    points: list[QueryPoint] = Field(description="Windows without data are left out")
