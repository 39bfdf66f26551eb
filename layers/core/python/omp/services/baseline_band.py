"""A series' stored baseline over a time range (`GET /v1/metrics/{series_id}/baseline`), in plain
Python: the route never imports numpy (docs/baselines-and-anomalies.md).

- After the last fitted point (`fitted_through`): the refit's forecast, as before.
- Inside the fitted window: the one-step fit there, replayed from the state the refit stored at
  the window's start over the stored points of the window (`omp.analytics.hw_replay`), so a
  chart of yesterday's points gets the band the model held at each of them.
- Before the window (or inside it, for a baseline fitted before the start state was stored):
  nothing; `covered_from` says from when the answer holds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from omp.analytics import hw_replay
from omp.domain.errors import NotFound, ValidationFailed

if TYPE_CHECKING:
    from omp.domain.anomaly import StoredBaseline
    from omp.ports import BaselineStore

MAX_BASELINE_POINTS = 10_000


class PointReader(Protocol):
    def read_points(self, series_id: str, start: int, end: int) -> tuple[list[int], list[float]]:
        """Stored points with `start <= timestamp <= end`, ascending (MetricStore)."""


@dataclass(frozen=True)
class BandPoint:
    timestamp: int
    expected: float
    lower: float
    upper: float


def covered_from(stored: StoredBaseline, *, replay: bool = True) -> int:
    """The first time the baseline answers for: the start of its fitted window when it can be
    replayed, else the first grid step after its last fitted point."""
    n = hw_replay.grid_points(stored.model) if replay else 0
    if n:
        return round(stored.fitted_through - (n - 1) * stored.step_s)
    return round(stored.fitted_through + stored.step_s)


def baseline_range(
    stored: StoredBaseline,
    start: int,
    end: int,
    max_points: int = MAX_BASELINE_POINTS,
    *,
    metrics: PointReader | None = None,
) -> list[BandPoint]:
    """Expected value and band at the baseline's grid times in [start, end], from
    `covered_from` on. With `metrics`, times inside the fitted window are answered by replaying
    the stored points of the window (one read, from the window's start: the recursion needs its
    lead-in); without, only times after the last fitted point."""
    step, ft = stored.step_s, stored.fitted_through
    n = hw_replay.grid_points(stored.model) if metrics is not None else 0
    # Grid steps h relative to the last fitted point: h <= 0 inside the window, h >= 1 after it.
    first = max(1 - n if n else 1, math.ceil((start - ft) / step))
    last = math.floor((end - ft) / step)
    if last < first:
        return []
    if last - first + 1 > max_points:
        raise ValidationFailed(
            f"the range holds {last - first + 1} baseline points; at most {max_points}",
            code="QUERY_TOO_LARGE",
        )
    out: list[BandPoint] = []
    if first <= 0 and metrics is not None:
        # Grid index i = h + n - 1 (0: the window's first point).
        i_first, i_last = first + n - 1, min(last, 0) + n - 1
        t0 = ft - (n - 1) * step
        ts, vs = metrics.read_points(
            stored.series_id,
            math.floor(t0 - step / 2),
            math.ceil(t0 + i_last * step + step / 2),
        )
        values = [math.nan] * (i_last + 1)
        for t, v in zip(ts, vs, strict=True):
            i = round((t - ft) / step) + n - 1  # as the refit's grid (omp.services.anomaly)
            if 0 <= i <= i_last:
                values[i] = float(v)  # the last point of a grid step wins, as in the refit
        bands = hw_replay.replay(stored.model, values, i_first, i_last)
        out.extend(
            BandPoint(round(t0 + (i_first + k) * step), b.expected, b.lower, b.upper)
            for k, b in enumerate(bands)
        )
    for h in range(max(first, 1), last + 1):
        b = hw_replay.project(stored.model, h)
        out.append(BandPoint(round(ft + h * step), b.expected, b.lower, b.upper))
    return out


def require_baseline(store: BaselineStore, series_id: str) -> StoredBaseline:
    stored = store.get_baseline(series_id)
    if stored is None:
        raise NotFound(
            f"series {series_id} has no baseline yet (the hourly refit makes one once it has "
            "300 points)",
            code="BASELINE_NOT_FOUND",
        )
    return stored
