"""Silence policy and sweep settings from the function's environment, with safe defaults.

| variable | default | meaning |
|---|---|---|
| `OMP_SILENCE_MAX_DURATION_HOURS` | 168 (7 days) | longest silence accepted |
| `OMP_SILENCE_MAX_ACTIVE_SHARE` | 0.5 | refuse a silence matching more of the active alarms |
| `OMP_SILENCE_SHARE_MIN_ALARMS` | 10 | the share check applies from this many active alarms |
| `OMP_SILENCE_WARN_BEFORE_MINUTES` | 15 | `SilenceExpiring` this long before the end |
| `OMP_ACTIVE_ALARMS_LOOKBACK_DAYS` | 14 | active = open/acknowledged, triggered this recently |
| `OMP_ACTIVE_ALARMS_CAP` | 5000 | at most this many active alarms are read |

A value that does not parse or is out of range raises `ValueError` naming the variable: a
misconfigured guardrail must not silently become a different one.
"""

from __future__ import annotations

from datetime import timedelta

from omp.domain.silences import SilencePolicy
from omp.runtime import env
from omp.services.silences import ActiveAlarms


def _number(name: str, default: float, low: float, high: float, *, integer: bool) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        raise ValueError(f"{name}={raw!r} is not a number") from None
    if not low <= value <= high:
        raise ValueError(f"{name}={raw!r} is outside {low}..{high}")
    return value


def policy() -> SilencePolicy:
    hours = _number("OMP_SILENCE_MAX_DURATION_HOURS", 168, 1, 24 * 366, integer=True)
    return SilencePolicy(
        max_duration=timedelta(hours=hours),
        max_active_share=_number("OMP_SILENCE_MAX_ACTIVE_SHARE", 0.5, 0.01, 1.0, integer=False),
        share_min_alarms=int(
            _number("OMP_SILENCE_SHARE_MIN_ALARMS", 10, 1, 1_000_000, integer=True)
        ),
    )


def active_alarms() -> ActiveAlarms:
    days = _number("OMP_ACTIVE_ALARMS_LOOKBACK_DAYS", 14, 1, 366, integer=True)
    cap = _number("OMP_ACTIVE_ALARMS_CAP", 5000, 1, 100_000, integer=True)
    return ActiveAlarms(lookback=timedelta(days=days), cap=int(cap))


def warn_before() -> timedelta:
    minutes = _number("OMP_SILENCE_WARN_BEFORE_MINUTES", 15, 1, 24 * 60, integer=True)
    return timedelta(minutes=minutes)
