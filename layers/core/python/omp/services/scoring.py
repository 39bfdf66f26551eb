"""Streaming scoring of accepted metric points against their series' baselines: anomalies and
their resolution go to the alert pipeline (source `anomaly`). Plain Python: the `score-metrics`
consumer never imports numpy (the refit and the backtest in `omp.services.anomaly` do).
docs/baselines-and-anomalies.md, "In the platform", describes the flow and its guarantees.
"""

from __future__ import annotations

import bisect
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from omp.analytics import hw_replay
from omp.analytics.detectors import (
    SURPRISE_MIN,
    DetectorSettings,
    Direction,
    PointScore,
    SeriesDetector,
)
from omp.domain import anomaly as a
from omp.domain.detector_settings import DetectorConfig
from omp.domain.errors import Conflict

if TYPE_CHECKING:
    from omp.ports import BaselineStore
    from omp.services.ingest import IngestQueue

logger = logging.getLogger("omp.anomaly")

MAX_WRITE_ATTEMPTS = 3
# Late points (older than the series' last scored point) are scored up to a day late, against
# the stored baseline projected to their own time; the state remembers the timestamps scored in
# that day (at most MAX_SEEN of them: a series faster than one point per 17 s has a shorter
# limit) to tell a redelivered point from a late one.
LATE_LIMIT_S = 86_400
MAX_SEEN = 5_000
LATE_SURPRISE_MIN = SURPRISE_MIN  # standard deviations: the detector's own gate
LATE_DETECTOR = "late"


@dataclass
class ScoreOutcome:
    scored: int = 0  # points scored in order
    skipped: int = 0  # replays: points already scored
    late_scored: int = 0  # points older than the last scored one, scored against the baseline
    too_late: int = 0  # older than LATE_LIMIT_S before the last scored one (or untracked)
    no_baseline: int = 0  # series without a baseline yet (not scored)
    fired: int = 0
    resolved: int = 0
    conflicts: int = 0  # state writes retried after another scorer's write
    failed: set[str] = field(default_factory=set)  # series whose state could not be written


@dataclass
class ScoringPorts:
    baselines: BaselineStore
    alerts: IngestQueue


def _detector(
    stored: a.StoredBaseline, state: a.DetectorState, settings: DetectorSettings
) -> SeriesDetector:
    """The series' detector, with the stored baseline loaded when it is newer than the one the
    state holds (advanced past the points the detector has already seen)."""
    det = (
        SeriesDetector.from_dict(state.detector, settings)
        if state.detector is not None
        else SeriesDetector(settings)
    )
    if state.detector is None or state.baseline_version != stored.version:
        k = 0
        if state.last_ts is not None:
            k = max(0, round((state.last_ts - stored.fitted_through) / stored.step_s))
        det.load_model(stored.model, k)
        state.baseline_version = stored.version
        state.anchor, state.step_s, state.grid_pos = stored.fitted_through, stored.step_s, k
    return det


def _feed(
    det: SeriesDetector, state: a.DetectorState, period: int, ts: int, value: float
) -> PointScore:
    """Score one point on the baseline's grid; missing grid points advance the season (whole
    cycles change nothing, so a long gap costs at most one cycle of steps)."""
    idx = round((ts - state.anchor) / state.step_s)
    gap = idx - state.grid_pos - 1
    for _ in range(gap % period if period and gap > 0 else 0):
        det.score(float(ts), math.nan)
    state.grid_pos = max(idx, state.grid_pos + 1)
    return det.score(float(ts), value)


@dataclass
class SeriesCounts:
    scored: int = 0
    skipped: int = 0
    late_scored: int = 0
    too_late: int = 0


def late_score(
    stored: a.StoredBaseline, settings: DetectorSettings, ts: int, value: float
) -> PointScore:
    """A late point against the stored baseline projected to its own time (the band the
    baseline route answers for times after the fit; inside the fitted window, the level at its
    end plus that time's season slot). Its score is 0 inside the band, excluded, in a direction
    not watched, or under LATE_SURPRISE_MIN standard deviations of the model's error scale;
    otherwise `1 - exp(-d)` with d its distance outside the band in band half-widths (at the
    default alarm level 0.7: 1.2 half-widths beyond the band's edge). No detector state is
    read or changed."""
    h = round((ts - stored.fitted_through) / stored.step_s)
    b = hw_replay.project(stored.model, h)
    if settings.is_excluded(ts):
        return PointScore(0.0, b.expected, b.lower, b.upper, 0.0, "excluded")
    err = value - b.expected
    surprise = err / max(b.scale, 1e-12)
    up = settings.direction != Direction.DOWN
    down = settings.direction != Direction.UP
    outside = 0.0
    if up and value > b.upper:
        outside = (value - b.upper) / max(b.upper - b.expected, b.scale, 1e-12)
    elif down and value < b.lower:
        outside = (b.lower - value) / max(b.expected - b.lower, b.scale, 1e-12)
    score = 0.0
    if outside > 0 and abs(surprise) >= LATE_SURPRISE_MIN:
        score = 1.0 - math.exp(-outside)
    return PointScore(score, b.expected, b.lower, b.upper, surprise, LATE_DETECTOR)


def score_series(
    series: a.SeriesPoints,
    stored: a.StoredBaseline,
    state: a.DetectorState,
    settings: DetectorSettings,
) -> tuple[a.DetectorState, list[dict[str, Any]], SeriesCounts]:
    """Score the series' new points against a copy of `state`: (new state, alarm payloads,
    counts). Points after the last scored one go through the streaming detector; older ones
    that were never scored and are at most LATE_LIMIT_S older are scored by `late_score`
    (the detector is not rewound: its state stays as the points in order left it); points
    already scored are skipped. Pure."""
    state = replace(state, alarm=dict(state.alarm) if state.alarm else None, seen=list(state.seen))
    det = _detector(stored, state, settings)
    period = int(stored.model.get("period", 0))
    threshold = settings.alarm_threshold
    resolve_after = settings.min_duration
    payloads: list[dict[str, Any]] = []
    counts = SeriesCounts()
    seen = state.seen
    seen_set = set(seen)
    if state.last_ts is not None and state.seen_from is None:
        state.seen_from = state.last_ts + 1  # a state from before tracking: track from now on
    late_run = 0  # consecutive late points at the alarm level (min_duration)
    summary = {
        "sensitivity": settings.sensitivity,
        "direction": str(settings.direction),
        "min_duration": settings.min_duration,
    }

    def payload(
        status: str, detector: str, started: int, ts: int, value: float, ps: PointScore
    ) -> dict[str, Any]:
        return a.alarm_payload(
            status=status,
            series=series,
            detector=detector,
            timestamp=ts,
            value=value,
            expected=ps.expected,
            lower=ps.lower,
            upper=ps.upper,
            score=ps.score,
            threshold=threshold,
            started_at=started,
            settings=summary,
        )

    def fire(ts: int, value: float, ps: PointScore) -> None:
        """Open the series' alarm at this point (one alarm open per series)."""
        state.alarm = {
            "fingerprint": a.fingerprint(series.series_id, ps.detector),
            "detector": ps.detector,
            "started_at": ts,
        }
        state.in_band = 0
        payloads.append(payload("firing", ps.detector, ts, ts, value, ps))

    for ts, value in series.points:
        if state.last_ts is not None and ts <= state.last_ts:
            if ts in seen_set or ts == state.last_ts:
                counts.skipped += 1  # a replay (redelivery, a sender's retry)
                continue
            assert state.seen_from is not None  # set above for any state with a last_ts
            if ts < max(state.last_ts - LATE_LIMIT_S, state.seen_from):
                # Past the limit (or before the tracked points: it could not be told from a
                # replay): never scored.
                counts.too_late += 1
                continue
            ps = late_score(stored, settings, ts, value)
            counts.late_scored += 1
            bisect.insort(seen, ts)
            seen_set.add(ts)
            late_run = late_run + 1 if ps.score >= threshold else 0
            cooling = abs(ts - det.last_alarm_ts) < settings.cooldown_s
            if state.alarm is None and late_run >= settings.min_duration and not cooling:
                fire(ts, value, ps)
            continue
        ps = _feed(det, state, period, ts, value)
        if state.seen_from is None:
            state.seen_from = ts
        state.last_ts = ts
        seen.append(ts)  # ascending: every earlier one is <= the previous last_ts
        seen_set.add(ts)
        counts.scored += 1

        if state.alarm is None:
            if ps.score >= threshold:
                fire(ts, value, ps)
            continue
        in_band = not math.isnan(ps.lower) and ps.lower <= value <= ps.upper
        state.in_band = state.in_band + 1 if in_band else 0
        if state.in_band >= resolve_after:
            alarm = state.alarm
            started = int(alarm["started_at"])
            payloads.append(payload("resolved", alarm["detector"], started, ts, value, ps))
            state.alarm, state.in_band = None, 0
    _prune_seen(state)
    state.detector = det.to_dict()
    return state, payloads, counts


def _prune_seen(state: a.DetectorState) -> None:
    """Keep the scored timestamps of the last LATE_LIMIT_S before `last_ts`, at most MAX_SEEN;
    `seen_from` moves past the ones let go (older points then count as too late)."""
    if state.last_ts is None or state.seen_from is None:
        return
    floor = state.last_ts - LATE_LIMIT_S
    seen = state.seen
    cut = bisect.bisect_left(seen, floor)
    cut = max(cut, len(seen) - MAX_SEEN)
    if cut > 0:
        state.seen_from = max(state.seen_from, seen[cut - 1] + 1)
        del seen[:cut]
    state.seen_from = max(state.seen_from, floor)


def _submit(alerts: IngestQueue, payloads: Sequence[dict[str, Any]], now: datetime) -> None:
    for p in payloads:
        alerts.submit(*a.signal_envelope(p, now))


def score(
    groups: Mapping[str, a.SeriesPoints],
    config: DetectorConfig,
    ports: ScoringPorts,
    now: datetime,
) -> ScoreOutcome:
    """Score accepted points per series: one read of the baselines and states of all series
    (one BatchGetItem per 50 series), each series' state written once, conditionally on its
    version. Alarm signals are queued before the state is written: a crash in between repeats
    them, and the pipeline's deduplication (same fingerprint and start) makes the repeat a
    no-op. On a write conflict (another scorer wrote the state) the series is read again and
    its points rescored from the newer state (the points that state already scored are
    skipped); after MAX_WRITE_ATTEMPTS the series is reported failed (its messages retried)."""
    out = ScoreOutcome()
    models = ports.baselines.get_models(list(groups)) if groups else {}
    for sid, series in groups.items():
        stored, state = models.get(sid, (None, None))
        settings = config.settings_for(series.name, series.dimensions)
        for attempt in range(MAX_WRITE_ATTEMPTS):
            if stored is None:
                out.no_baseline += 1
                break
            current = state or a.DetectorState(series_id=sid)
            new, payloads, counts = score_series(series, stored, current, settings)
            if counts.scored + counts.late_scored == 0:
                out.skipped += counts.skipped
                out.too_late += counts.too_late
                break
            _submit(ports.alerts, payloads, now)
            if counts.scored:
                # the silence sweep's clock (anomaly_sweep): late points alone do not reset it
                new.scored_at = int(now.timestamp())
            try:
                ports.baselines.put_state(new)
            except Conflict:
                out.conflicts += 1
                logger.info("detector state of %s changed meanwhile: rescoring", sid)
                stored, state = ports.baselines.get_models([sid])[sid]
                if attempt == MAX_WRITE_ATTEMPTS - 1:
                    out.failed.add(sid)
                continue
            out.scored += counts.scored
            out.skipped += counts.skipped
            out.late_scored += counts.late_scored
            out.too_late += counts.too_late
            out.fired += sum(p["status"] == "firing" for p in payloads)
            out.resolved += sum(p["status"] == "resolved" for p in payloads)
            break
    return out
