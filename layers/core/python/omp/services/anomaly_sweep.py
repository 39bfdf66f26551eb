"""Resolve the anomaly alarms of series that went silent (`resolve-silent-anomalies`).

The scorer resolves an anomaly only when points come back in band, so an anomaly on a series
that stops reporting would stay open for ever. Like CloudWatch's "treat missing data" for
anomaly alarms and Prometheus dropping an alert whose series vanished, an open anomaly whose
series has scored nothing for `NoDataPolicy.after_s(step)` (default max(10 steps, 30 min)) is
resolved with reason `no_data`: a `resolved` payload for the same fingerprint and start goes
through the alert pipeline, then the alarm is cleared in the detector state, conditionally on
the state's version. docs/baselines-and-anomalies.md, "Silent series", has the guarantees.

Silence is measured on the wall clock of the last scoring write (`DetectorState.scored_at`),
not on the points' own timestamps: a backfill of old points is data arriving, not silence.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from omp.domain import anomaly as a
from omp.domain.errors import Conflict
from omp.domain.ingest import IngestEnvelope
from omp.domain.timeutil import iso

if TYPE_CHECKING:
    from omp.domain.detector_settings import DetectorConfig
    from omp.domain.metrics import SeriesRecord
    from omp.ports import BaselineStore, MetricStore
    from omp.services.ingest import IngestQueue

logger = logging.getLogger("omp.anomaly_sweep")

REASON = "no_data"
PAGE = 100  # open-alarm index entries per query
MAX_PAGES = 50  # per run: bounds the reads when many open alarms are not silent yet
MAX_RESOLVED = 500  # per run: the schedule comes back in 5 minutes
MAX_CLEAR_ATTEMPTS = 3


@dataclass(frozen=True)
class NoDataPolicy:
    """How long a series with an open anomaly may send nothing before the anomaly resolves:
    `steps` of its baseline's grid, at least `min_s` (a few missed points, or a puller's
    delay, are not silence)."""

    steps: int = 10
    min_s: int = 1_800

    def after_s(self, step_s: float) -> int:
        return max(self.min_s, math.ceil(self.steps * step_s)) if step_s > 0 else self.min_s


@dataclass
class SweepOutcome:
    candidates: int = 0  # open alarms read from the index, last scored before the shortest silence
    resolved: int = 0  # resolved (payload queued, alarm cleared in the state)
    superseded: int = 0  # the state moved on (a scorer resolved it, or it is no longer silent)
    failed: int = 0  # resolve queued, state still conflicting after MAX_CLEAR_ATTEMPTS
    complete: bool = True  # False: stopped at a bound; the next run continues


@dataclass
class SweepPorts:
    baselines: BaselineStore
    metrics: MetricStore
    alerts: IngestQueue


def last_activity(state: a.DetectorState) -> int:
    """Epoch s of the state's last scoring write (states written before `scored_at` existed:
    their last point's time)."""
    return state.scored_at or (state.last_ts or 0)


def is_silent(state: a.DetectorState, now_s: int, policy: NoDataPolicy) -> bool:
    return state.alarm is not None and now_s - last_activity(state) >= policy.after_s(state.step_s)


def _iso(ts: int) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def no_data_payload(
    state: a.DetectorState,
    series: SeriesRecord | None,
    config: DetectorConfig,
    policy: NoDataPolicy,
    now_s: int,
) -> dict[str, Any]:
    """The `resolved` payload for the state's open alarm: same fingerprint and start as its
    firing, no observed value or band, `reason` no_data. Its time is when the silence began to
    count (last scoring write + the silence, at most now), so a repeat is byte-identical."""
    assert state.alarm is not None
    name = series.name if series else state.series_id
    dims = dict(series.dimensions) if series else {}
    settings = config.settings_for(name, dims)
    after = policy.after_s(state.step_s)
    at = min(now_s, last_activity(state) + after)
    payload = a.alarm_payload(
        status="resolved",
        series=a.SeriesPoints(state.series_id, name, dims),
        detector=str(state.alarm["detector"]),
        timestamp=at,
        value=math.nan,
        expected=math.nan,
        lower=math.nan,
        upper=math.nan,
        score=0.0,
        threshold=settings.alarm_threshold,
        started_at=int(state.alarm["started_at"]),
        settings={
            "sensitivity": settings.sensitivity,
            "direction": str(settings.direction),
            "min_duration": settings.min_duration,
        },
    )
    # the firing's fingerprint, even if the fingerprint scheme were to change
    payload["fingerprint"] = str(state.alarm.get("fingerprint") or payload["fingerprint"])
    payload["reason"] = REASON
    payload["last_data_at"] = _iso(last_activity(state))
    payload["silence_s"] = after
    return payload


def _same_alarm(x: Mapping[str, Any] | None, y: Mapping[str, Any]) -> bool:
    return (
        x is not None
        and x.get("fingerprint") == y.get("fingerprint")
        and x.get("started_at") == y.get("started_at")
    )


def _submit(alerts: IngestQueue, payload: dict[str, Any], now: datetime) -> None:
    raw = json.dumps(payload, separators=(",", ":"))
    alerts.submit(
        IngestEnvelope(
            source="anomaly",
            received_at=iso(now),
            principal=a.ANOMALY_PRINCIPAL,
            request_id=f"{payload['fingerprint']}@{payload['timestamp']}:resolved",
            payload=payload,
        ),
        raw.encode(),
    )


def _resolve(
    state: a.DetectorState,
    series: SeriesRecord | None,
    config: DetectorConfig,
    policy: NoDataPolicy,
    ports: SweepPorts,
    now: datetime,
    out: SweepOutcome,
) -> None:
    """Queue the resolve, then clear the alarm on the state's version. The resolve goes first
    so a crash in between repeats it (the pipeline treats a second resolve as a no-op) rather
    than losing it. On a conflict the state is read again: when a scorer has meanwhile
    resolved the alarm or opened another one, nothing more is done; when the very same alarm
    is still open in the newer state (the scorer wrote points that did not end it), it is
    cleared on that newer version, keeping the scorer's detector and points: the pipeline
    already holds it resolved, and a state left open would swallow the series' next anomaly."""
    alarm = dict(state.alarm or {})
    _submit(ports.alerts, no_data_payload(state, series, config, policy, int(now.timestamp())), now)
    current: a.DetectorState | None = state
    for _ in range(MAX_CLEAR_ATTEMPTS):
        assert current is not None
        try:
            ports.baselines.clear_alarm(current.series_id, current.version)
        except Conflict:
            current = ports.baselines.get_alarm_states([state.series_id]).get(state.series_id)
            if current is None or not _same_alarm(current.alarm, alarm):
                out.superseded += 1
                return
            continue
        out.resolved += 1
        logger.info("anomaly %s resolved: no data", alarm.get("fingerprint"))
        return
    out.failed += 1
    logger.warning("could not clear the anomaly of %s; the next run tries again", state.series_id)


def resolve_silent(
    ports: SweepPorts,
    config: DetectorConfig,
    now: datetime,
    *,
    policy: NoDataPolicy | None = None,
    time_left: Callable[[], bool] = lambda: True,
) -> SweepOutcome:
    """One pass over the open-alarm index, oldest scoring write first, bounded by MAX_PAGES,
    MAX_RESOLVED and `time_left`. The index is eventually consistent, so each page's silent
    candidates are read again consistently (one BatchGetItem) before anything is sent."""
    policy = policy or NoDataPolicy()
    now_s = int(now.timestamp())
    out = SweepOutcome()
    # no series is silent before the shortest silence: later entries are not read at all
    before = now_s - policy.min_s + 1
    token: str | None = None
    for _ in range(MAX_PAGES):
        if out.resolved >= MAX_RESOLVED or not time_left():
            out.complete = False
            return out
        page = ports.baselines.open_alarms(before, limit=PAGE, next_token=token)
        out.candidates += len(page.items)
        silent = [s.series_id for s in page.items if is_silent(s, now_s, policy)]
        if silent:
            _resolve_page(silent, config, policy, ports, now, out)
        token = page.next_token
        if not token:
            return out
    out.complete = False
    return out


def _resolve_page(
    series_ids: Sequence[str],
    config: DetectorConfig,
    policy: NoDataPolicy,
    ports: SweepPorts,
    now: datetime,
    out: SweepOutcome,
) -> None:
    now_s = int(now.timestamp())
    current = ports.baselines.get_alarm_states(series_ids)
    # a state that is gone, no longer holds an alarm or was scored since: left alone
    due = [s for sid in series_ids if (s := current.get(sid)) and is_silent(s, now_s, policy)]
    out.superseded += len(series_ids) - len(due)
    records = ports.metrics.get_series([s.series_id for s in due]) if due else {}
    for state in due:
        _resolve(state, records.get(state.series_id), config, policy, ports, now, out)
