"""Downsampling a series into fixed step windows (numpy, vectorised: no per-window loop)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

STATS = ("avg", "min", "max", "sum", "count", "p95")

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def downsample(
    timestamps: IntArray, values: FloatArray, *, start: int, step: int, stat: str
) -> tuple[IntArray, FloatArray]:
    """Windows `[start + k*step, start + (k+1)*step)` that hold at least one point, each
    reduced by `stat`; returns (window starts, reduced values). `timestamps` must be sorted.

    p95 interpolates linearly between the closest ranks (numpy's default `linear` method)."""
    if stat not in STATS:
        raise ValueError(f"unknown stat {stat!r}")
    if step <= 0:
        raise ValueError("step must be positive")
    if timestamps.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.float64)
    windows = (timestamps - start) // step
    # Boundaries of each window's run in the sorted input.
    change = np.flatnonzero(np.diff(windows)) + 1
    starts = np.concatenate(([0], change))
    counts = np.diff(np.concatenate((starts, [windows.size])))
    keys = windows[starts]
    if stat == "sum":
        out = np.add.reduceat(values, starts)
    elif stat == "avg":
        out = np.add.reduceat(values, starts) / counts
    elif stat == "min":
        out = np.minimum.reduceat(values, starts)
    elif stat == "max":
        out = np.maximum.reduceat(values, starts)
    elif stat == "count":
        out = counts.astype(np.float64)
    else:
        # Sort values within each window (windows are already in order), then interpolate.
        order = np.lexsort((values, windows))
        ordered = values[order]
        rank = 0.95 * (counts - 1)
        low = np.floor(rank).astype(np.int64)
        high = np.minimum(low + 1, counts - 1)
        frac = rank - low
        out = ordered[starts + low] * (1 - frac) + ordered[starts + high] * frac
    return (start + keys * step).astype(np.int64), np.asarray(out, dtype=np.float64)
