"""`POST /v1/detectors/backtest` queues a backtest job, `GET /v1/detectors/backtests/{id}`
reads it: the platform's detector run causally over a stored series with labelled windows
(docs/baselines-and-anomalies.md). The job runs in `run-backtest` (omp.services.backtest_jobs),
off the request path: it imports numpy and may take longer than API Gateway's 29 s."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import ConfigDict, Field, model_validator

from omp.api.detectors import current_config
from omp.domain import backtest_jobs as jobs_domain
from omp.domain import metrics as m
from omp.domain.detector_settings import Settings
from omp.domain.errors import DomainError, NotFound, ValidationFailed
from omp.domain.ids import is_id, new_id
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


class BacktestResult(Model):
    points: int
    threshold: float
    max_score: float
    mean_score: float
    alarms: list[BacktestAlarm] = Field(
        description=f"the first {jobs_domain.MAX_ALARMS} points scored at or over the threshold"
    )
    alarms_total: int = Field(description="every point scored at or over the threshold")
    nab: dict[str, NabProfile]
    suggested_sensitivity: float | None = Field(
        description="the sensitivity whose alarm threshold gave the best standard-profile score"
    )


class BacktestError(Model):
    code: str = Field(description="a stable code (docs/errors.md)")
    message: str
    details: Any = None


class BacktestJob(Model):
    model_config = ConfigDict(populate_by_name=True)

    id: str
    status: Literal["queued", "running", "succeeded", "failed"]
    series_id: str
    start: str = Field(alias="from")
    end: str = Field(alias="to")
    windows: list[dict[str, str]]
    settings: Settings
    created_by: str
    created_at: str
    updated_at: str
    started_at: str | None = None
    finished_at: str | None = None
    result: BacktestResult | None = Field(default=None, description="once succeeded")
    error: BacktestError | None = Field(default=None, description="once failed")


class BacktestJobResponse(Model):
    backtest: BacktestJob


def start_backtest(body: BacktestRequest, actor: str) -> BacktestJobResponse:
    """Check what can be checked without reading the points, then queue the job (202). The
    point-count bounds are the worker's: the job fails with BACKTEST_TOO_LARGE or
    BACKTEST_TOO_FEW_POINTS."""
    if not m.SERIES_ID_PATTERN.match(body.series_id):
        raise ValidationFailed(
            "series_id must be a series id (ser_ and 24 hex characters)",
            code="INVALID_SERIES_ID",
        )
    if body.start.tzinfo is None or body.end.tzinfo is None or body.end <= body.start:
        raise ValidationFailed(
            "from and to need an offset and from must be before to", code="INVALID_TIME_RANGE"
        )
    record = container.metric_store().get_series([body.series_id]).get(body.series_id)
    if record is None:
        raise NotFound(f"series {body.series_id} not found", code="SERIES_NOT_FOUND")
    settings = body.settings
    if settings is None:
        config, _ = current_config(container.baseline_store())
        settings = config.rule_for(record.name, record.dimensions)
    shown = Settings.model_validate(
        settings.model_dump(by_alias=True, include=set(Settings.model_fields))
    )
    job = jobs_domain.new_job(
        new_id(jobs_domain.ID_PREFIX),
        series_id=body.series_id,
        start=body.start,
        end=body.end,
        windows=[(w.start, w.end) for w in body.windows],
        settings=shown.model_dump(mode="json", by_alias=True),
        detector=settings.detector_settings(),
        actor=actor,
        now=container.clock().now(),
    )
    jobs = container.backtest_jobs()
    jobs.create(job)
    try:
        jobs.enqueue(job["id"])
    except DomainError as exc:  # not left queued for ever: the job says why, the caller retries
        failed = jobs_domain.error("BACKTEST_UNAVAILABLE", exc.message)
        jobs.save({**job, "status": "failed", "error": failed})
        raise
    return BacktestJobResponse(backtest=BacktestJob.model_validate(job))


def get_backtest(backtest_id: str) -> BacktestJobResponse:
    job = None
    if is_id(backtest_id, jobs_domain.ID_PREFIX):
        job = container.backtest_jobs().get(backtest_id)
    if job is None:
        raise NotFound(f"backtest {backtest_id} does not exist", code="BACKTEST_NOT_FOUND")
    return BacktestJobResponse(backtest=BacktestJob.model_validate(job))
