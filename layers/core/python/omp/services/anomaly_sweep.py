"""Resolve the anomaly alarms of series that went silent (`resolve-silent-anomalies`).

The scorer resolves an anomaly only when points come back in band, so an anomaly on a series
that stops reporting would stay open for ever. Like CloudWatch's "treat missing data" for
anomaly alarms and Prometheus dropping an alert whose series vanished, an open anomaly whose
series has scored nothing for its silence (the detector settings' `no_data_after_s` of the
series' rule, by default `NoDataPolicy.after_s(step)`: max(10 steps, 30 min)) is resolved with
reason `no_data`: a `resolved` payload for the same fingerprint and start goes
through the alert pipeline, then the alarm is cleared in the detector state, conditionally on
the state's version. docs/baselines-and-anomalies.md, "Silent series", has the guarantees.

Silence is measured on the wall clock of the last scoring write (`DetectorState.scored_at`),
not on the points' own timestamps: a backfill of old points is data arriving, not silence.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from omp.domain import anomaly as a
from omp.domain.errors import Conflict

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

    def after_s(self, step_s: float, setting: int | None = None) -> int | None:
        """The silence for a series on a grid of `step_s`, given its rule's `no_data_after_s`
        (`setting`: None for the default, 0 for never, which gives None)."""
        if setting is not None:
            return setting or None
        return max(self.min_s, math.ceil(self.steps * step_s)) if step_s > 0 else self.min_s

    def shortest(self, config: DetectorConfig) -> int:
        """No series is silent sooner than this (the index is read up to now minus it)."""
        set_ = [r.no_data_after_s for r in (*config.rules, config.default) if r.no_data_after_s]
        return min([self.min_s, *set_])


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


def is_silent(state: a.DetectorState, now_s: int, after_s: int | None) -> bool:
    """An open alarm whose series has scored nothing for `after_s` (None: never silent)."""
    return (
        state.alarm is not None and after_s is not None and now_s - last_activity(state) >= after_s
    )


def _series(state: a.DetectorState, record: SeriesRecord | None) -> tuple[str, dict[str, str]]:
    """Name and dimensions (an unregistered series: its id stands in for the name)."""
    if record is None:
        return state.series_id, {}
    return record.name, dict(record.dimensions)


def silence_of(
    state: a.DetectorState,
    record: SeriesRecord | None,
    config: DetectorConfig,
    policy: NoDataPolicy,
) -> int | None:
    """The series' silence under its rule (None: never resolved for silence)."""
    name, dims = _series(state, record)
    return policy.after_s(state.step_s, config.rule_for(name, dims).no_data_after_s)


def no_data_payload(
    state: a.DetectorState,
    series: SeriesRecord | None,
    config: DetectorConfig,
    after: int,
    now_s: int,
) -> dict[str, Any]:
    """The `resolved` payload for the state's open alarm, silent for `after` seconds: same
    fingerprint and start as its firing, no observed value or band, `reason` no_data. Its time
    is when the silence was complete (last scoring write + the silence, at most now), so a
    repeat is byte-identical."""
    assert state.alarm is not None
    name, dims = _series(state, series)
    settings = config.settings_for(name, dims)
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
    payload["last_data_at"] = a.epoch_iso(last_activity(state))
    payload["silence_s"] = after
    return payload


def _same_alarm(x: Mapping[str, Any] | None, y: Mapping[str, Any]) -> bool:
    return (
        x is not None
        and x.get("fingerprint") == y.get("fingerprint")
        and x.get("started_at") == y.get("started_at")
    )


def _submit(alerts: IngestQueue, payload: dict[str, Any], now: datetime) -> None:
    alerts.submit(*a.signal_envelope(payload, now))


def _resolve(
    state: a.DetectorState,
    series: SeriesRecord | None,
    config: DetectorConfig,
    after: int,
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
    _submit(ports.alerts, no_data_payload(state, series, config, after, int(now.timestamp())), now)
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
    MAX_RESOLVED and `time_left`. Per page: the candidates' series (one BatchGetItem of the
    registry: their rule gives their silence), then, the index being eventually consistent,
    the silent ones read again consistently (one BatchGetItem) before anything is sent."""
    policy = policy or NoDataPolicy()
    now_s = int(now.timestamp())
    out = SweepOutcome()
    # no series is silent before the shortest silence: later entries are not read at all
    before = now_s - policy.shortest(config) + 1
    token: str | None = None
    for _ in range(MAX_PAGES):
        if out.resolved >= MAX_RESOLVED or not time_left():
            out.complete = False
            return out
        page = ports.baselines.open_alarms(before, limit=PAGE, next_token=token)
        out.candidates += len(page.items)
        if page.items:
            _resolve_page(page.items, config, policy, ports, now, out)
        token = page.next_token
        if not token:
            return out
    out.complete = False
    return out


def _resolve_page(
    candidates: Sequence[a.DetectorState],
    config: DetectorConfig,
    policy: NoDataPolicy,
    ports: SweepPorts,
    now: datetime,
    out: SweepOutcome,
) -> None:
    now_s = int(now.timestamp())
    records = ports.metrics.get_series([s.series_id for s in candidates])
    silent = {
        s.series_id: after
        for s in candidates
        if is_silent(s, now_s, after := silence_of(s, records.get(s.series_id), config, policy))
    }
    if not silent:
        return
    current = ports.baselines.get_alarm_states(list(silent))
    for sid, after in silent.items():
        state = current.get(sid)
        # a state that is gone, no longer holds an alarm or was scored since: left alone
        if state is None or not is_silent(state, now_s, after):
            out.superseded += 1
            continue
        assert after is not None
        _resolve(state, records.get(sid), config, after, ports, now, out)
