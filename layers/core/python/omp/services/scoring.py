"""Streaming scoring of accepted metric points against their series' baselines: anomalies and
their resolution go to the alert pipeline (source `anomaly`). Plain Python: the `score-metrics`
consumer never imports numpy (the refit and the backtest in `omp.services.anomaly` do).
docs/baselines-and-anomalies.md, "In the platform", describes the flow and its guarantees.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from omp.analytics.detectors import DetectorSettings, PointScore, SeriesDetector
from omp.domain import anomaly as a
from omp.domain.detector_settings import DetectorConfig
from omp.domain.errors import Conflict
from omp.domain.ingest import IngestEnvelope
from omp.domain.timeutil import iso

if TYPE_CHECKING:
    from omp.ports import BaselineStore
    from omp.services.ingest import IngestQueue

logger = logging.getLogger("omp.anomaly")

MAX_WRITE_ATTEMPTS = 3


@dataclass
class ScoreOutcome:
    scored: int = 0  # points scored
    skipped: int = 0  # points at or before the series' last scored point (replays, late points)
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


def score_series(
    series: a.SeriesPoints,
    stored: a.StoredBaseline,
    state: a.DetectorState,
    settings: DetectorSettings,
) -> tuple[a.DetectorState, list[dict[str, Any]], int, int]:
    """Score the series' new points against a copy of `state`: (new state, alarm payloads,
    points scored, points skipped). Pure."""
    state = replace(state, alarm=dict(state.alarm) if state.alarm else None)
    det = _detector(stored, state, settings)
    period = int(stored.model.get("period", 0))
    threshold = settings.alarm_threshold
    resolve_after = settings.min_duration
    payloads: list[dict[str, Any]] = []
    scored = skipped = 0
    summary = {
        "sensitivity": settings.sensitivity,
        "direction": str(settings.direction),
        "min_duration": settings.min_duration,
    }
    for ts, value in series.points:
        if state.last_ts is not None and ts <= state.last_ts:
            skipped += 1
            continue
        ps = _feed(det, state, period, ts, value)
        state.last_ts = ts
        scored += 1

        def payload(status: str, detector: str, started: int) -> dict[str, Any]:
            return a.alarm_payload(
                status=status,
                series=series,
                detector=detector,
                timestamp=ts,  # noqa: B023 - used at once
                value=value,  # noqa: B023
                expected=ps.expected,  # noqa: B023
                lower=ps.lower,  # noqa: B023
                upper=ps.upper,  # noqa: B023
                score=ps.score,  # noqa: B023
                threshold=threshold,
                started_at=started,
                settings=summary,
            )

        if state.alarm is None:
            if ps.score >= threshold:
                state.alarm = {
                    "fingerprint": a.fingerprint(series.series_id, ps.detector),
                    "detector": ps.detector,
                    "started_at": ts,
                }
                state.in_band = 0
                payloads.append(payload("firing", ps.detector, ts))
            continue
        in_band = not math.isnan(ps.lower) and ps.lower <= value <= ps.upper
        state.in_band = state.in_band + 1 if in_band else 0
        if state.in_band >= resolve_after:
            alarm = state.alarm
            payloads.append(payload("resolved", alarm["detector"], int(alarm["started_at"])))
            state.alarm, state.in_band = None, 0
    state.detector = det.to_dict()
    return state, payloads, scored, skipped


def _submit(alerts: IngestQueue, payloads: Sequence[dict[str, Any]], now: datetime) -> None:
    for p in payloads:
        raw = json.dumps(p, separators=(",", ":"))
        alerts.submit(
            IngestEnvelope(
                source="anomaly",
                received_at=iso(now),
                principal=a.ANOMALY_PRINCIPAL,
                request_id=f"{p['fingerprint']}@{p['timestamp']}:{p['status']}",
                payload=p,
            ),
            raw.encode(),
        )


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
            new, payloads, scored, skipped = score_series(series, stored, current, settings)
            if scored == 0:
                out.skipped += skipped
                break
            _submit(ports.alerts, payloads, now)
            new.scored_at = int(now.timestamp())  # the silence sweep's clock (anomaly_sweep)
            try:
                ports.baselines.put_state(new)
            except Conflict:
                out.conflicts += 1
                logger.info("detector state of %s changed meanwhile: rescoring", sid)
                stored, state = ports.baselines.get_models([sid])[sid]
                if attempt == MAX_WRITE_ATTEMPTS - 1:
                    out.failed.add(sid)
                continue
            out.scored += scored
            out.skipped += skipped
            out.fired += sum(p["status"] == "firing" for p in payloads)
            out.resolved += sum(p["status"] == "resolved" for p in payloads)
            break
    return out
