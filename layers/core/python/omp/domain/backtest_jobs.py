"""Backtest jobs: `POST /v1/detectors/backtest` queues one, `run-backtest` runs it and
`GET /v1/detectors/backtests/{backtest_id}` reads it (docs/baselines-and-anomalies.md).

A backtest of 100,000 points takes about half a minute of detector time, more than API
Gateway's 29 s, so it runs off the request path. The job is a plain JSON dict: the worker,
which imports numpy to refit, does not also load pydantic at start-up; the API reads it
through its own models.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from omp.analytics.detectors import DetectorSettings, Direction
from omp.domain.timeutil import iso, parse

ID_PREFIX = "bkt"
MAX_POINTS = 100_000  # ~35 s of detector time on one vCPU; the worker's timeout is 300 s
MIN_POINTS = 50
MAX_ALARMS = 500  # alarm points kept in the result (`alarms_total` counts them all)
KEEP_DAYS = 7  # the job item's TTL
# A job marked running whose worker has not written for longer than the worker's timeout
# (300 s) was cut off (a crash or a timeout): a redelivery may take it over. Under the queue's
# visibility timeout (360 s), so the redelivery after a crash always finds the job stale.
STALE_AFTER_S = 310
ENDED = ("succeeded", "failed")


def new_job(
    job_id: str,
    *,
    series_id: str,
    start: datetime,
    end: datetime,
    windows: list[tuple[datetime, datetime]],
    settings: dict[str, Any],
    detector: DetectorSettings,
    actor: str,
    now: datetime,
) -> dict[str, Any]:
    """A queued job. `settings` is the API's view of the settings (for the answer), `detector`
    the same resolved for the detector (for the worker)."""
    stamp = iso(now)
    return {
        "id": job_id,
        "status": "queued",
        "series_id": series_id,
        "from": iso(start),
        "to": iso(end),
        "windows": [{"from": iso(s), "to": iso(e)} for s, e in windows],
        "settings": settings,
        "detector": detector_to_json(detector),
        "created_by": actor,
        "created_at": stamp,
        "updated_at": stamp,
    }


def error(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """A failed job's `error`: a stable code (docs/errors.md), the message, the details."""
    return {"code": code, "message": message, "details": details}


def detector_to_json(settings: DetectorSettings) -> dict[str, Any]:
    return {
        "sensitivity": settings.sensitivity,
        "direction": settings.direction.value,
        "min_duration": settings.min_duration,
        "excluded": [[lo, hi] for lo, hi in settings.excluded],
        "cooldown_s": settings.cooldown_s,
    }


def detector_from_json(value: dict[str, Any]) -> DetectorSettings:
    return DetectorSettings(
        sensitivity=float(value["sensitivity"]),
        direction=Direction(value["direction"]),
        min_duration=int(value["min_duration"]),
        excluded=tuple((float(lo), float(hi)) for lo, hi in value["excluded"]),
        cooldown_s=float(value["cooldown_s"]),
    )


def epoch(stamp: str) -> int:
    return int(parse(stamp).timestamp())
