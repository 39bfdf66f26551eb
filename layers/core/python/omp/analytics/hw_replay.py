"""A stored baseline (`omp.analytics.baselines.Baseline.one(i)`) evaluated in plain Python: no
numpy, so the routes and the scorer that need a band at a given time stay light to import.

- `project(model, h)`: expected value and band `h` grid steps after the fitted window's last
  point (h >= 1: the refit's forecast, as `baselines.band`; h <= 0: an approximation, the level
  at the end of the window plus that time's season slot, no trend run backwards).
- `replay(model, values, first, last)`: the one-step forecasts and band at grid indices
  `first..last` of the fitted window, re-running the robust Holt-Winters recursion of
  `baselines._run` for the chosen parameters from the state at the window's start (stored by
  the refit under `start`) over the given grid values. Run over the very points the refit saw,
  it ends in the stored final state (tests check it).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# The same constants as omp.analytics.baselines (not imported: it imports numpy); a unit test
# checks that they agree.
HUBER_K = 3.0
SCALE_LAMBDA = 0.05


@dataclass(frozen=True)
class Band:
    expected: float
    lower: float
    upper: float
    scale: float  # the robust one-step error scale there, in the series' units


def band_at(model: Mapping[str, Any], expected: float) -> Band:
    """The band of the model's residual quantiles around `expected` (relative for a
    multiplicative model), with its error scale in the series' units."""
    q_low, q_high = float(model["q_low"]), float(model["q_high"])
    scale = float(model["scale"])
    if model.get("multiplicative"):
        return Band(
            expected, expected * (1 + q_low), expected * (1 + q_high), scale * abs(expected)
        )
    return Band(expected, expected + q_low, expected + q_high, scale)


def damped_steps(phi: float, h: int) -> float:
    """phi + phi^2 + ... + phi^h: how many trend steps the level moves in `h` steps of a damped
    trend (0 for h <= 0)."""
    if h <= 0:
        return 0.0
    if math.isclose(phi, 1.0):
        return float(h)
    return phi * (1 - phi**h) / (1 - phi)


def project(model: Mapping[str, Any], h: int) -> Band:
    """The band `h` grid steps after the last fitted point (see the module docstring for
    h <= 0)."""
    phi, trend = float(model["phi"]), float(model["trend"])
    base = float(model["level"]) + damped_steps(phi, h) * trend
    p = int(model["period"])
    if not p:
        return band_at(model, base)
    s = float(model["season"][(int(model["phase"]) + h - 1) % p])
    return band_at(model, base * s if model["multiplicative"] else base + s)


def can_replay(model: Mapping[str, Any]) -> bool:
    """Whether the refit stored the window's start state (baselines fitted before it did not)."""
    start = model.get("start")
    return isinstance(start, Mapping) and int(start.get("grid_points", 0)) > 0


def grid_points(model: Mapping[str, Any]) -> int:
    """Points of the fitted grid (0 when the start state is not stored)."""
    return int(model["start"]["grid_points"]) if can_replay(model) else 0


def replay(model: Mapping[str, Any], values: Sequence[float], first: int, last: int) -> list[Band]:
    """One-step forecasts and bands at grid indices `first..last` (0 is the window's first grid
    point) over `values` (the grid values from index 0, NaN for a missing point; values past
    their end count as missing). Mirrors `baselines._run` for one series and one candidate."""
    return _run(model, values, first, last)[0]


def replay_final(model: Mapping[str, Any], values: Sequence[float]) -> dict[str, Any]:
    """The state after replaying all of `values` (equals the stored final state when `values`
    are the grid the refit saw)."""
    return _run(model, values, len(values), len(values) - 1)[1]


def _run(
    model: Mapping[str, Any], values: Sequence[float], first: int, last: int
) -> tuple[list[Band], dict[str, Any]]:
    start = model["start"]
    period = int(model["period"])
    mult = bool(model["multiplicative"])
    alpha, beta = float(model["alpha"]), float(model["beta"])
    phi, gamma = float(model["phi"]), float(model["gamma"])
    level, trend = float(start["level"]), float(start["trend"])
    scale = float(start["scale"])
    season = [float(v) for v in start["season"]] if period else [0.0]
    p = max(period, 1)
    gain = SCALE_LAMBDA * math.sqrt(math.pi / 2.0)
    out: list[Band] = []
    n = len(values)
    for i in range(last + 1):
        j = i % p
        s_j = season[j]
        damped = phi * trend
        base = level + damped
        if not period:
            fc = base
        elif mult:
            fc = base * s_j
        else:
            fc = base + s_j
        if i >= first:
            out.append(band_at(model, fc))
        y = values[i] if i < n else math.nan
        if math.isnan(y):
            # A gap updates nothing: the error counts as 0 (level and trend run on, the scale
            # and the season slot stay).
            level, trend = base, damped
            continue
        e = y - fc
        if mult:
            e = e / max(abs(fc), 1e-12)
        ae = abs(e)
        lim = HUBER_K * scale
        ec = min(max(e, -lim), lim)
        scale = scale + gain * min(ae, lim) - SCALE_LAMBDA * scale
        if mult:
            abs_ec = ec * abs(fc)
            lvl_ec = abs_ec / (s_j if abs(s_j) > 1e-12 else 1.0)
            season_ec = abs_ec / (base if base != 0 else 1.0)
        else:
            lvl_ec = season_ec = ec
        level = base + alpha * lvl_ec
        trend = damped + beta * lvl_ec
        if period:
            season[j] = s_j + gamma * season_ec
    final = {"level": level, "trend": trend, "season": season[:period], "scale": scale}
    return out, final
