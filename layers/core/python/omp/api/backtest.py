"""`POST /v1/detectors/backtest`: the platform's detector run causally over a stored series with
labelled windows (docs/baselines-and-anomalies.md). numpy is imported on the first call."""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict, Field, model_validator

from omp.api.detectors import current_config
from omp.domain import metrics as m
from omp.domain.detector_settings import Settings
from omp.domain.errors import NotFound, ValidationFailed
from omp.domain.model import Model
from omp.runtime import container


class Window(Model):
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


class BacktestRequest(Model):
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


class NabProfile(Model):
    score: float = Field(description="normalised NAB score at the settings' alarm threshold")
    detected_windows: int
    windows: int = Field(description="labelled windows scored (outside the probation)")
    false_positive_points: int
    best_score: float
    best_threshold: float | None


class BacktestAlarm(Model):
    timestamp: str
    value: float
    expected: float | None
    lower: float | None
    upper: float | None
    score: float
    detector: str


class BacktestOut(Model):
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


class BacktestResponse(Model):
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
