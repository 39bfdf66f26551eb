"""Baselines in the platform: the scheduled refit, the baseline over a range and the backtest
(numpy). Streaming scoring of accepted points lives in `omp.services.scoring`, which does
without numpy.

The maths lives in `omp.analytics` (baselines, detectors, nab, backtest); this module only reads
and writes through ports. docs/baselines-and-anomalies.md, "In the platform", describes the
flow and its guarantees.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from omp.analytics import backtest, baselines, nab
from omp.analytics.detectors import DetectorSettings
from omp.domain import anomaly as a
from omp.domain import backtest_jobs
from omp.domain.errors import PayloadTooLarge, ValidationFailed
from omp.services import baseline_band

if TYPE_CHECKING:
    from omp.ports import BaselineStore, MetricStore

logger = logging.getLogger("omp.anomaly")
Array = npt.NDArray[Any]

# ---- refit ------------------------------------------------------------------------------------

# The refit follows the backtest's policy (omp.analytics.backtest.RefitPolicy), so the platform
# runs the detector the NAB figures were measured with: the last `history` points (4 weeks at
# 5 minutes), refitted daily; a series whose baseline saw fewer points (a young series) is
# refitted every run (hourly) until its history is full, so its season shows early.
POLICY = backtest.RefitPolicy()
HISTORY_S = 28 * 86_400  # history a refit reads (inside the 35-day retention)
ACTIVE_S = 2 * 86_400  # a series written to within this is refitted
MAX_FIT_POINTS = POLICY.history  # grid points per series
MIN_FIT_POINTS = min(POLICY.first_fit, 300)  # fewer points: no baseline yet
REFIT_EVERY_S = int(POLICY.refit_every_s) - 3_600  # an hour's slack for the hourly schedule
YOUNG_REFIT_S = 3_000  # a young series' baseline is refitted once it is this old
FIT_CHUNK = 200  # series per baselines.fit call (bounds memory: S x 12 candidates x T floats)
PAGE_SIZE = 100  # series listed per page
READERS = 8  # concurrent history reads


@dataclass
class RefitResult:
    series: int = 0  # listed
    not_due: int = 0  # fitted recently enough
    fitted: int = 0
    too_short: int = 0
    pass_complete: bool = False
    next_token: str | None = None


def to_grid(
    timestamps: Array, values: Array, max_points: int = MAX_FIT_POINTS
) -> tuple[float, int, Array]:
    """(step seconds, last timestamp, values on an equally spaced grid ending at the last point
    with NaN for missing points). The step is the median gap, in whole seconds."""
    ts = np.asarray(timestamps, dtype=np.float64)
    step = float(max(1.0, round(baselines.step_seconds(ts))))
    idx = np.rint((ts - ts[-1]) / step).astype(np.int64)  # <= 0
    n = int(min(max_points, -int(idx.min()) + 1))
    keep = idx > -n
    grid = np.full(n, np.nan)
    grid[n - 1 + idx[keep]] = np.asarray(values, dtype=np.float64)[keep]
    return step, int(ts[-1]), grid


def fit_series(
    histories: Sequence[tuple[str, Array, Array]], now_s: int
) -> tuple[list[a.StoredBaseline], int]:
    """Fit every (series id, timestamps, values) with enough points, vectorised per group of
    equal step and grid length; (baselines, series too short)."""
    groups: dict[tuple[float, int], list[tuple[str, int, Array]]] = {}
    short = 0
    for sid, ts, vs in histories:
        if len(ts) < MIN_FIT_POINTS:
            short += 1
            continue
        step, last, grid = to_grid(ts, vs)
        groups.setdefault((step, len(grid)), []).append((sid, last, grid))
    out: list[a.StoredBaseline] = []
    for (step, _), rows in groups.items():
        for i in range(0, len(rows), FIT_CHUNK):
            chunk = rows[i : i + FIT_CHUNK]
            fitted = baselines.fit(np.vstack([g for _, _, g in chunk]), step)
            out.extend(
                a.StoredBaseline(sid, fitted.one(j), step, last, now_s)
                for j, (sid, last, _) in enumerate(chunk)
            )
    return out, short


def due(info: Mapping[str, tuple[int, int]], series_ids: Sequence[str], now_s: int) -> list[str]:
    """The series to refit now, given {series id: (fitted_at, points the baseline saw)}: those
    with no baseline, fitted over REFIT_EVERY_S ago, or young (fewer points than the history
    holds) and fitted over YOUNG_REFIT_S ago."""
    out = []
    for sid in series_ids:
        if sid not in info:
            out.append(sid)
            continue
        fitted_at, n_points = info[sid]
        age = now_s - fitted_at
        if age >= REFIT_EVERY_S or (n_points < MAX_FIT_POINTS and age >= YOUNG_REFIT_S):
            out.append(sid)
    return out


def refit(
    metrics: MetricStore,
    store: BaselineStore,
    now_s: int,
    has_time: Callable[[], bool],
    *,
    page_size: int = PAGE_SIZE,
) -> RefitResult:
    """Refit the due series among those active in the last ACTIVE_S, a page at a time, from
    where the last run stopped; stops once `has_time()` is False (omp.runtime.deadline) and
    saves its place (the next scheduled run continues the pass)."""
    result = RefitResult()
    token = store.get_refit_cursor()
    while True:
        page = metrics.list_series(active_since=now_s - ACTIVE_S, limit=page_size, next_token=token)
        listed = [r.series_id for r in page.items]
        ids = due(store.get_fit_info(listed), listed, now_s) if listed else []
        result.not_due += len(listed) - len(ids)

        def read(sid: str) -> tuple[str, Array, Array]:
            ts, vs = metrics.read(sid, now_s - HISTORY_S, now_s)
            return sid, ts, vs

        if len(ids) > 1:
            with ThreadPoolExecutor(max_workers=min(READERS, len(ids))) as pool:
                histories = list(pool.map(read, ids))
        else:
            histories = [read(sid) for sid in ids]
        fitted, short = fit_series(histories, now_s)
        store.put_baselines(fitted)
        result.series += len(listed)
        result.fitted += len(fitted)
        result.too_short += short
        token = page.next_token
        if not token:
            result.pass_complete = True
            break
        if not has_time():
            break
    result.next_token = token
    store.put_refit_cursor(token)
    return result


# ---- the baseline over a range: plain Python in omp.services.baseline_band (the route does
# without numpy); kept importable from here.
MAX_BASELINE_POINTS = baseline_band.MAX_BASELINE_POINTS
BandPoint = baseline_band.BandPoint
baseline_range = baseline_band.baseline_range
require_baseline = baseline_band.require_baseline


# ---- backtest ---------------------------------------------------------------------------------

MAX_BACKTEST_POINTS = backtest_jobs.MAX_POINTS
MIN_BACKTEST_POINTS = backtest_jobs.MIN_POINTS


@dataclass(frozen=True)
class BacktestResult:
    points: int
    threshold: float
    max_score: float
    mean_score: float
    alarms: list[dict[str, Any]]  # the first MAX_ALARMS points at or over the threshold
    alarms_total: int
    nab: dict[str, dict[str, Any]]
    suggested_sensitivity: float | None


def _dt64(ts: int) -> np.datetime64:
    return np.datetime64(ts, "s").astype("datetime64[us]")  # type: ignore[no-any-return]


def run_backtest(
    metrics: MetricStore,
    series_id: str,
    start: int,
    end: int,
    windows: Sequence[tuple[int, int]],
    settings: DetectorSettings,
    max_points: int = MAX_BACKTEST_POINTS,
) -> BacktestResult:
    """The platform's detector run causally over a stored range (omp.analytics.backtest: the
    baseline refitted from the points seen so far), scored against the labelled windows with
    the NAB rules, at the settings' alarm threshold and at the best threshold."""
    ts, vs = metrics.read(series_id, start, end)
    n = len(ts)
    if n > max_points:
        raise PayloadTooLarge(
            f"the range holds {n} points; a backtest runs on at most {max_points}",
            code="BACKTEST_TOO_LARGE",
            details={"points": n, "max_points": max_points},
        )
    if n < MIN_BACKTEST_POINTS:
        raise ValidationFailed(
            f"the range holds {n} points; a backtest needs at least {MIN_BACKTEST_POINTS}",
            code="BACKTEST_TOO_FEW_POINTS",
            details={"points": n, "min_points": MIN_BACKTEST_POINTS},
        )
    epoch = np.asarray(ts, dtype=np.float64)
    scores = backtest.run_series(epoch, np.asarray(vs, dtype=np.float64), settings)
    values = [p.score for p in scores]
    threshold = settings.alarm_threshold
    alarms = [
        {
            "timestamp": a.epoch_iso(int(ts[i])),
            "value": float(vs[i]),
            "expected": _num(p.expected),
            "lower": _num(p.lower),
            "upper": _num(p.upper),
            "score": round(p.score, 4),
            "detector": p.detector,
        }
        for i, p in enumerate(scores)
        if p.score >= threshold
    ]
    stamps = np.array([_dt64(int(t)) for t in ts], dtype="datetime64[us]")
    rows = nab.sweep_file(series_id, stamps, values, [(_dt64(s), _dt64(e)) for s, e in windows])
    report: dict[str, dict[str, Any]] = {}
    for name, cost in nab.PROFILES.items():
        at = nab.score_corpus([rows], cost, name, threshold=threshold)
        best = nab.score_corpus([rows], cost, name)
        report[name] = {
            "score": round(at.score, 2),
            "detected_windows": at.files[0].detected_windows,
            "windows": at.files[0].windows,
            "false_positive_points": at.files[0].fp,
            "best_score": round(best.score, 2),
            "best_threshold": None if math.isinf(best.threshold) else round(best.threshold, 4),
        }
    best_t = report["standard"]["best_threshold"]
    suggested = None
    if best_t is not None:
        suggested = round(min(1.0, max(0.01, (1.0 - best_t) / 0.6)), 3)
    return BacktestResult(
        points=n,
        threshold=round(threshold, 4),
        max_score=round(max(values), 4),
        mean_score=round(float(np.mean(values)), 4),
        alarms=alarms[: backtest_jobs.MAX_ALARMS],
        alarms_total=len(alarms),
        nab=report,
        suggested_sensitivity=suggested,
    )


def _num(x: float) -> float | None:
    return None if math.isnan(x) else round(float(x), 6)
