"""Downsampling a series into fixed step windows, in plain Python.

The query route is the only user, and numpy's import alone cost it more than a whole handler's
cold start allows (docs/benchmarks.md, cold start); one pass over the points here costs about as
much as reading them from DynamoDB did already. The results are bit for bit those of the
vectorised numpy version this replaced (tests/unit/test_metrics.py keeps it as the reference):
sums add in numpy's order (`np.add.reduceat`: the first value, then a pairwise sum of the rest),
and p95 interpolates with the same operations as numpy's default `linear` method. One
difference: a window whose minimum (maximum) is both 0.0 and -0.0 may answer either sign, as
numpy's own answer there depends on its SIMD lanes (x86 and arm64 differ).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

STATS = ("avg", "min", "max", "sum", "count", "p95")

_BLOCK = 128  # numpy's PW_BLOCKSIZE: below it the pairwise sum unrolls into 8 accumulators


def _pairwise(values: Sequence[float], lo: int, n: int) -> float:
    """numpy's `pairwise_sum` over values[lo:lo + n], operation for operation."""
    if n < 8:
        total = -0.0  # as numpy: a sum of only -0.0 stays -0.0
        for i in range(lo, lo + n):
            total += values[i]
        return total
    if n <= _BLOCK:
        r = list(values[lo : lo + 8])
        i = 8
        whole = n - n % 8
        while i < whole:
            for j in range(8):
                r[j] += values[lo + i + j]
            i += 8
        total = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        for k in range(lo + i, lo + n):
            total += values[k]
        return total
    half = n // 2
    half -= half % 8
    return _pairwise(values, lo, half) + _pairwise(values, lo + half, n - half)


def _sum(values: Sequence[float], lo: int, n: int) -> float:
    """`np.add.reduceat` of one run: its first value plus the pairwise sum of the others."""
    return values[lo] + _pairwise(values, lo + 1, n - 1) if n > 1 else values[lo]


def _p95(window: Sequence[float]) -> float:
    ordered = sorted(window)
    count = len(ordered)
    rank = 0.95 * (count - 1)
    low = math.floor(rank)
    high = min(low + 1, count - 1)
    frac = rank - low
    return ordered[low] * (1 - frac) + ordered[high] * frac


def downsample(
    timestamps: Sequence[int], values: Sequence[float], *, start: int, step: int, stat: str
) -> tuple[list[int], list[float]]:
    """Windows `[start + k*step, start + (k+1)*step)` that hold at least one point, each
    reduced by `stat`; returns (window starts, reduced values). `timestamps` must be sorted.

    p95 interpolates linearly between the closest ranks (numpy's default `linear` method)."""
    if stat not in STATS:
        raise ValueError(f"unknown stat {stat!r}")
    if step <= 0:
        raise ValueError("step must be positive")
    if len(timestamps) != len(values):
        raise ValueError("timestamps and values differ in length")
    starts: list[int] = []
    out: list[float] = []
    lo, size = 0, len(timestamps)
    while lo < size:
        window = (timestamps[lo] - start) // step
        hi = lo + 1
        while hi < size and (timestamps[hi] - start) // step == window:
            hi += 1
        n = hi - lo
        if stat == "sum":
            value = _sum(values, lo, n)
        elif stat == "avg":
            value = _sum(values, lo, n) / n
        elif stat == "min":
            value = min(values[lo:hi])
        elif stat == "max":
            value = max(values[lo:hi])
        elif stat == "count":
            value = float(n)
        else:
            value = _p95(values[lo:hi])
        starts.append(start + window * step)
        out.append(float(value))
        lo = hi
    return starts, out
