"""Anomaly detection in the platform: what is stored per series and what travels between the
ingest functions, the scorer and the alert pipeline. Pure: no I/O.

- `StoredBaseline`: one series' fitted model (`omp.analytics.baselines.Baseline.one(i)`) and
  where its time grid is anchored (`fitted_through`, the last fitted point, and `step_s`).
- `DetectorState`: the streaming `SeriesDetector` state of a series, the baseline version it
  has loaded, the last point it scored, the points scored in the last day (a late point is
  scored once against the stored baseline, a replay is skipped) and the open anomaly alarm.
- `ScoreMessage`: accepted points grouped by series, the body of a `metric-points` message.
- `alarm_payload`: the `anomaly` source payload a firing or resolve becomes (normalised by
  `omp.sources.anomaly`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from omp.domain.ingest import IngestEnvelope
from omp.domain.timeutil import iso

# An SQS message takes 256 KiB; the points of one batch are split into messages under this.
MAX_MESSAGE_BYTES = 200 * 1024
ANOMALY_PRINCIPAL = "omp:anomaly-detector"


@dataclass(frozen=True)
class StoredBaseline:
    series_id: str
    model: dict[str, Any]  # Baseline.one(i)
    step_s: float
    fitted_through: int  # epoch s of the last point of the fitted grid
    fitted_at: int
    version: int = 0

    @property
    def seasonality(self) -> str:
        period_s = int(self.model.get("period", 0)) * self.step_s
        if not period_s:
            return "none"
        return "weekly" if period_s > 2 * 86_400 else "daily"


@dataclass
class DetectorState:
    series_id: str
    detector: dict[str, Any] | None = None  # SeriesDetector.to_dict()
    baseline_version: int = 0
    anchor: int = 0  # fitted_through of the loaded baseline (epoch s)
    step_s: float = 0.0
    grid_pos: int = 0  # steps after `anchor` of the last point fed to the detector
    last_ts: int | None = None  # the last point scored: older points are not scored again
    alarm: dict[str, Any] | None = None  # the open anomaly: fingerprint, started_at, detector
    in_band: int = 0  # consecutive points back in band while an alarm is open
    version: int = 0  # 0: not stored yet
    # Wall clock (epoch s) of the last write that scored points: an open alarm whose series
    # sends nothing for a while is resolved by `resolve-silent-anomalies` (arrival time, not
    # the points' own time, so a backfill of old points is not "silent").
    scored_at: int = 0
    # Late points (older than `last_ts`): the timestamps scored since `seen_from` (at most a
    # day before `last_ts`, omp.services.scoring.LATE_LIMIT_S), so a late point is scored once
    # and a redelivered one is told apart from it. `seen_from` None: a state written before
    # they were tracked (its older points are skipped as before).
    seen: list[int] = field(default_factory=list)
    seen_from: int | None = None


@dataclass(frozen=True)
class SeriesPoints:
    series_id: str
    name: str
    dimensions: dict[str, str]
    points: list[tuple[int, float]] = field(default_factory=list)


def encode_messages(series: Sequence[SeriesPoints]) -> list[str]:
    """Message bodies of at most MAX_MESSAGE_BYTES, a series split across messages only when it
    alone is larger (points keep their order within a series)."""
    bodies: list[str] = []
    current: list[dict[str, Any]] = []
    size = 0

    def flush() -> None:
        nonlocal current, size
        if current:
            bodies.append(json.dumps({"v": 1, "series": current}, separators=(",", ":")))
        current, size = [], 0

    for s in series:
        pts = [[t, v] for t, v in s.points]
        head = {"id": s.series_id, "name": s.name, "dimensions": s.dimensions}
        base = len(json.dumps(head)) + 20
        chunk: list[list[Any]] = []
        chunk_size = base
        for p in pts:
            n = len(json.dumps(p)) + 1
            if chunk and chunk_size + n > MAX_MESSAGE_BYTES // 2:
                if size + chunk_size > MAX_MESSAGE_BYTES:
                    flush()
                current.append({**head, "points": chunk})
                size += chunk_size
                chunk, chunk_size = [], base
            chunk.append(p)
            chunk_size += n
        if chunk:
            if size + chunk_size > MAX_MESSAGE_BYTES:
                flush()
            current.append({**head, "points": chunk})
            size += chunk_size
    flush()
    return bodies


def decode_message(body: str) -> list[SeriesPoints]:
    """Raises ValueError/TypeError/KeyError for a body that is not a score message."""
    data = json.loads(body)
    if not isinstance(data, dict) or data.get("v") != 1 or not isinstance(data["series"], list):
        raise ValueError("not a metric-points message")
    out = []
    for s in data["series"]:
        dims = s["dimensions"]
        if not isinstance(dims, dict):
            raise TypeError("dimensions must be an object")
        out.append(
            SeriesPoints(
                series_id=str(s["id"]),
                name=str(s["name"]),
                dimensions={str(k): str(v) for k, v in dims.items()},
                points=[(int(t), float(v)) for t, v in s["points"]],
            )
        )
    return out


def merge(groups: Sequence[SeriesPoints]) -> dict[str, SeriesPoints]:
    """The points of each series across messages, ascending and one per second (the first seen
    wins: the store keeps the first value too)."""
    out: dict[str, SeriesPoints] = {}
    seen: dict[str, dict[int, float]] = {}
    for g in groups:
        if g.series_id not in out:
            out[g.series_id] = SeriesPoints(g.series_id, g.name, dict(g.dimensions))
            seen[g.series_id] = {}
        by_ts = seen[g.series_id]
        for t, v in g.points:
            by_ts.setdefault(t, v)
    for sid, by_ts in seen.items():
        out[sid].points.extend(sorted(by_ts.items()))
    return out


def epoch_iso(ts: float) -> str:
    """Epoch seconds as RFC 3339 UTC to the second (the anomaly payloads' time format)."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def fingerprint(series_id: str, detector: str) -> str:
    return f"{series_id}/{detector}"


def signal_envelope(payload: Mapping[str, Any], now: datetime) -> tuple[IngestEnvelope, bytes]:
    """An alarm signal (`alarm_payload`, or a no-data resolve) as the alert pipeline's input:
    the envelope and its raw body. The request id (fingerprint, time, status) makes a repeat of
    the same signal one alarm change."""
    raw = json.dumps(payload, separators=(",", ":"))
    envelope = IngestEnvelope(
        source="anomaly",
        received_at=iso(now),
        principal=ANOMALY_PRINCIPAL,
        request_id=f"{payload['fingerprint']}@{payload['timestamp']}:{payload['status']}",
        payload=dict(payload),
    )
    return envelope, raw.encode()


def alarm_payload(
    *,
    status: str,
    series: SeriesPoints,
    detector: str,
    timestamp: int,
    value: float,
    expected: float,
    lower: float,
    upper: float,
    score: float,
    threshold: float,
    started_at: int,
    settings: Mapping[str, Any],
) -> dict[str, Any]:
    """The `anomaly` source payload: `status` firing (at the anomaly's start) or resolved (at
    the first point of the run back in band)."""

    def num(x: float) -> float | None:
        return None if x != x else round(float(x), 6)  # NaN -> None

    return {
        "kind": "omp.anomaly",
        "status": status,
        "series_id": series.series_id,
        "metric": series.name,
        "dimensions": dict(series.dimensions),
        "detector": detector,
        "fingerprint": fingerprint(series.series_id, detector),
        "timestamp": epoch_iso(timestamp),
        "started_at": epoch_iso(started_at),
        "value": num(value),
        "expected": num(expected),
        "lower": num(lower),
        "upper": num(upper),
        "score": round(float(score), 4),
        "threshold": round(float(threshold), 4),
        "settings": dict(settings),
    }
