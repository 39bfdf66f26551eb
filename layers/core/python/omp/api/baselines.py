"""`GET /v1/metrics/{series_id}/baseline`: the expected value and band over a time range
(docs/baselines-and-anomalies.md). Plain Python: past times are replayed from the stored points
without numpy (omp.services.baseline_band)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import ConfigDict, Field

from omp.api.params import epoch_seconds
from omp.domain import metrics as m
from omp.domain.errors import ValidationFailed
from omp.domain.model import Model
from omp.domain.timeutil import iso
from omp.runtime import container


class BaselineParams(Model):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    start: datetime | None = Field(
        default=None, alias="from", description="RFC 3339 or epoch seconds; default: now"
    )
    end: datetime | None = Field(
        default=None, alias="to", description="RFC 3339 or epoch seconds; default: from + 1 h"
    )


class BaselinePoint(Model):
    timestamp: str
    expected: float
    lower: float
    upper: float


class BaselineOut(Model):
    series_id: str
    version: int
    fitted_at: str
    fitted_through: str = Field(description="the last point the refit saw")
    step_s: float
    seasonality: str = Field(description="daily, weekly or none")
    multiplicative: bool
    covered_from: str = Field(
        description="the first time the baseline answers for: the start of its fitted window "
        "(earlier times have no points), or, for a baseline fitted before windows were "
        "replayable, the first step after fitted_through"
    )
    points: list[BaselinePoint]


class BaselineResponse(Model):
    baseline: BaselineOut


def _t(epoch: int) -> str:
    return iso(datetime.fromtimestamp(epoch, UTC))


def get_baseline(series_id: str, params: BaselineParams) -> BaselineResponse:
    from omp.services import baseline_band

    if not m.SERIES_ID_PATTERN.match(series_id):
        raise ValidationFailed(
            "series_id must be a series id (ser_ and 24 hex characters)",
            code="INVALID_SERIES_ID",
        )
    now = int(container.clock().now().timestamp())
    start = epoch_seconds(params.start, "from")
    end = epoch_seconds(params.end, "to")
    start = now if start is None else start
    end = start + 3_600 if end is None else end
    if end <= start:
        raise ValidationFailed("from must be before to", code="INVALID_TIME_RANGE")
    stored = baseline_band.require_baseline(container.baseline_store(), series_id)
    points = baseline_band.baseline_range(stored, start, end, metrics=container.metric_store())
    return BaselineResponse(
        baseline=BaselineOut(
            series_id=series_id,
            version=stored.version,
            fitted_at=_t(stored.fitted_at),
            fitted_through=_t(stored.fitted_through),
            step_s=stored.step_s,
            seasonality=stored.seasonality,
            multiplicative=bool(stored.model.get("multiplicative")),
            covered_from=_t(baseline_band.covered_from(stored)),
            points=[
                BaselinePoint(
                    timestamp=_t(p.timestamp), expected=p.expected, lower=p.lower, upper=p.upper
                )
                for p in points
            ],
        )
    )
