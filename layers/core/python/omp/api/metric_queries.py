"""The metric query routes: `GET /v1/metrics/series` and `GET /v1/metrics/query`."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Literal

from pydantic import ConfigDict, Field

from omp.api.params import epoch_seconds
from omp.domain import metrics as m
from omp.domain.errors import ValidationFailed
from omp.domain.metric_models import QueryPoint, QueryResponse, Series
from omp.domain.model import Model
from omp.domain.timeutil import iso
from omp.runtime import container
from omp.services import metrics as svc


class SeriesListParams(Model):
    model_config = ConfigDict(extra="ignore")

    name_prefix: str | None = Field(default=None, min_length=1, max_length=m.MAX_NAME_LENGTH)
    dimension: str | None = Field(
        default=None, min_length=3, max_length=400, description="key=value"
    )
    source: str | None = Field(default=None, min_length=1, max_length=256)
    limit: int = Field(default=50, ge=1, le=200)
    next_token: str | None = Field(default=None, max_length=4096)


_STEP = re.compile(r"^(\d{1,7})([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3_600, "d": 86_400}


class QueryParams(Model):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    series: str = Field(min_length=1, max_length=64, description="A series id (ser_...)")
    start: datetime | None = Field(
        default=None, alias="from", description="RFC 3339 or epoch seconds; default: to - 1 h"
    )
    end: datetime | None = Field(
        default=None, alias="to", description="RFC 3339 or epoch seconds; default: now"
    )
    step: str | None = Field(
        default=None,
        max_length=8,
        description="Seconds, or with a unit: 30s, 5m, 1h, 1d (1 s .. 1 d); default: the "
        "smallest of 1s, 10s, 1m, 5m, 15m, 1h, 6h, 1d giving at most 1,000 points",
    )
    stat: Literal["avg", "min", "max", "sum", "count", "p95"] = "avg"


def parse_step(raw: str | None) -> int | None:
    if raw is None:
        return None
    match = _STEP.match(raw.strip())
    step = int(match.group(1)) * _UNITS[match.group(2)] if match else 0
    if not 1 <= step <= 86_400:
        raise ValidationFailed(
            "step must be 1 s to 1 d: seconds or 30s, 5m, 1h, 1d",
            code="INVALID_STEP",
            details=[{"loc": ["query", "step"], "msg": "1 s to 1 d"}],
        )
    return step


def query(params: QueryParams) -> QueryResponse:
    q = svc.build_query(
        params.series,
        epoch_seconds(params.start, "from"),
        epoch_seconds(params.end, "to"),
        parse_step(params.step),
        params.stat,
        now=container.clock().now(),
        limits=container.metric_limits(),
    )
    result = svc.query(q, container.metric_store())
    return QueryResponse(
        series=Series.of(result.series),
        stat=q.stat,
        step=q.step,
        start=iso(datetime.fromtimestamp(q.start, UTC)),
        end=iso(datetime.fromtimestamp(q.end, UTC)),
        points=[
            QueryPoint(timestamp=iso(datetime.fromtimestamp(int(t), UTC)), value=float(v))
            for t, v in zip(result.timestamps, result.values, strict=True)
        ],
    )
