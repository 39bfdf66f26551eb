"""The anomaly-detection routes' shared edge: the scoring hook of the metric ingest routes, the
baseline route, the detector settings and the backtest (docs/baselines-and-anomalies.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from omp.domain import metrics as m
from omp.domain.anomaly import SeriesPoints
from omp.domain.detector_settings import (
    DetectorConfig,
    DetectorConfigOut,
    PutDetectorConfig,
    Settings,
)
from omp.domain.errors import NotFound, ValidationFailed
from omp.domain.timeutil import iso
from omp.runtime import container

# ---- the scoring hook (POST /v1/metrics, POST /v1/otlp/metrics) -----------------------------


def queue_for_scoring(accepted: Mapping[str, Sequence[m.Point]]) -> None:
    """Queue the accepted points of a batch, grouped by series, for the `score-metrics`
    consumer. A failure raises (503): the points are stored, and the sender's retry stores
    nothing twice and queues them again (the scorer skips points it has already scored)."""
    if not accepted:
        return
    groups = []
    for sid, points in accepted.items():
        first = points[0]
        groups.append(
            SeriesPoints(
                sid, first.name, dict(first.dimensions), [(p.timestamp, p.value) for p in points]
            )
        )
    container.metric_points_queue().send(groups)


# ---- GET /v1/metrics/{series_id}/baseline -----------------------------------------------------


def _epoch(value: datetime | None, name: str) -> int | None:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValidationFailed(
            f"{name} needs a time zone offset (RFC 3339) or epoch seconds",
            code="INVALID_TIME_RANGE",
            details=[{"loc": ["query", name], "msg": "no offset"}],
        )
    return int(value.timestamp())


class BaselineParams(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    start: datetime | None = Field(
        default=None, alias="from", description="RFC 3339 or epoch seconds; default: now"
    )
    end: datetime | None = Field(
        default=None, alias="to", description="RFC 3339 or epoch seconds; default: from + 1 h"
    )


class BaselinePoint(BaseModel):
    timestamp: str
    expected: float
    lower: float
    upper: float


class BaselineOut(BaseModel):
    series_id: str
    version: int
    fitted_at: str
    fitted_through: str = Field(description="the last point the refit saw")
    step_s: float
    seasonality: str = Field(description="daily, weekly or none")
    multiplicative: bool
    points: list[BaselinePoint]


class BaselineResponse(BaseModel):
    baseline: BaselineOut


def _t(epoch: int) -> str:
    return iso(datetime.fromtimestamp(epoch, UTC))


def get_baseline(series_id: str, params: BaselineParams) -> BaselineResponse:
    from omp.services import anomaly

    if not m.SERIES_ID_PATTERN.match(series_id):
        raise ValidationFailed(
            "series_id must be a series id (ser_ and 24 hex characters)",
            code="INVALID_SERIES_ID",
        )
    now = int(container.clock().now().timestamp())
    start = _epoch(params.start, "from")
    end = _epoch(params.end, "to")
    start = now if start is None else start
    end = start + 3_600 if end is None else end
    if end <= start:
        raise ValidationFailed("from must be before to", code="INVALID_TIME_RANGE")
    stored = anomaly.require_baseline(container.baseline_store(), series_id)
    points = anomaly.baseline_range(stored, start, end)
    return BaselineResponse(
        baseline=BaselineOut(
            series_id=series_id,
            version=stored.version,
            fitted_at=_t(stored.fitted_at),
            fitted_through=_t(stored.fitted_through),
            step_s=stored.step_s,
            seasonality=stored.seasonality,
            multiplicative=bool(stored.model.get("multiplicative")),
            points=[
                BaselinePoint(
                    timestamp=_t(p.timestamp), expected=p.expected, lower=p.lower, upper=p.upper
                )
                for p in points
            ],
        )
    )


# ---- /v1/detectors -------------------------------------------------------------------------


def current_config(store: Any) -> tuple[DetectorConfig, dict[str, Any] | None]:
    stored = store.get_config()
    if stored is None:
        return DetectorConfig(), None
    return DetectorConfig.model_validate(stored["config"]), stored


def get_config() -> DetectorConfigOut:
    config, stored = current_config(container.baseline_store())
    return DetectorConfigOut(
        **config.model_dump(by_alias=True),
        version=stored["version"] if stored else 0,
        updated_at=stored["updated_at"] if stored else None,
        updated_by=stored["updated_by"] if stored else None,
    )


def put_config(body: PutDetectorConfig, actor: str) -> DetectorConfigOut:
    config = DetectorConfig.model_validate(body.model_dump(exclude={"version"}, by_alias=True))
    record = container.baseline_store().put_config(
        config.model_dump(mode="json", by_alias=True),
        body.version,
        actor=actor,
        now=container.clock().now(),
    )
    return DetectorConfigOut(
        **config.model_dump(by_alias=True),
        version=record["version"],
        updated_at=record["updated_at"],
        updated_by=record["updated_by"],
    )


# ---- POST /v1/detectors/backtest ------------------------------------------------------------


class Window(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("from and to need a time zone offset (RFC 3339)")
        if self.end < self.start:
            raise ValueError("to must not be before from")
        return self


class BacktestRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    series_id: str = Field(min_length=1, max_length=64)
    start: datetime = Field(alias="from", description="RFC 3339 with an offset")
    end: datetime = Field(alias="to", description="RFC 3339 with an offset")
    windows: list[Window] = Field(
        default_factory=list, max_length=1_000, description="labelled anomaly windows"
    )
    settings: Settings | None = Field(
        default=None, description="default: the settings the series gets from /v1/detectors"
    )


class NabProfile(BaseModel):
    score: float = Field(description="normalised NAB score at the settings' alarm threshold")
    detected_windows: int
    windows: int = Field(description="labelled windows scored (outside the probation)")
    false_positive_points: int
    best_score: float
    best_threshold: float | None


class BacktestAlarm(BaseModel):
    timestamp: str
    value: float
    expected: float | None
    lower: float | None
    upper: float | None
    score: float
    detector: str


class BacktestOut(BaseModel):
    series_id: str
    points: int
    settings: Settings
    threshold: float
    max_score: float
    mean_score: float
    alarms: list[BacktestAlarm]
    nab: dict[str, NabProfile]
    suggested_sensitivity: float | None = Field(
        description="the sensitivity whose alarm threshold gave the best standard-profile score"
    )


class BacktestResponse(BaseModel):
    backtest: BacktestOut


def run_backtest(body: BacktestRequest) -> BacktestResponse:
    from omp.services import anomaly

    if not m.SERIES_ID_PATTERN.match(body.series_id):
        raise ValidationFailed(
            "series_id must be a series id (ser_ and 24 hex characters)",
            code="INVALID_SERIES_ID",
        )
    if body.start.tzinfo is None or body.end.tzinfo is None or body.end <= body.start:
        raise ValidationFailed(
            "from and to need an offset and from must be before to", code="INVALID_TIME_RANGE"
        )
    metrics = container.metric_store()
    record = metrics.get_series([body.series_id]).get(body.series_id)
    if record is None:
        raise NotFound(f"series {body.series_id} not found", code="SERIES_NOT_FOUND")
    settings = body.settings
    if settings is None:
        config, _ = current_config(container.baseline_store())
        settings = config.rule_for(record.name, record.dimensions)
    result = anomaly.run_backtest(
        metrics,
        body.series_id,
        int(body.start.timestamp()),
        int(body.end.timestamp()),
        [(int(w.start.timestamp()), int(w.end.timestamp())) for w in body.windows],
        settings.detector_settings(),
    )
    return BacktestResponse(
        backtest=BacktestOut(
            series_id=body.series_id,
            points=result.points,
            settings=Settings.model_validate(
                settings.model_dump(by_alias=True, include=set(Settings.model_fields))
            ),
            threshold=result.threshold,
            max_score=result.max_score,
            mean_score=result.mean_score,
            alarms=[BacktestAlarm(**x) for x in result.alarms],
            nab={k: NabProfile(**v) for k, v in result.nab.items()},
            suggested_sensitivity=result.suggested_sensitivity,
        )
    )
