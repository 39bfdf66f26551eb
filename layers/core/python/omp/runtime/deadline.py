"""When a scheduled function should stop taking new work, from its Lambda context."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def time_left(context: Any, reserve_ms: int) -> Callable[[], bool]:
    """A check that is True while more than `reserve_ms` (at most 40% of the time the invocation
    started with) remains before the timeout; always True without a Lambda context (tests, ticks
    of the local runtime)."""
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if remaining is None:
        return lambda: True
    reserve = min(reserve_ms, 0.4 * remaining())
    return lambda: bool(remaining() > reserve)
