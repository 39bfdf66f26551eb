"""Environment lookup with a per-invocation overlay.

On Lambda the overlay is empty and this is `os.environ`. The local runtime runs many functions in
one process, so it sets each invocation's catalog environment in a context variable instead of
mutating `os.environ` from several threads at once.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Iterator, Mapping

_overlay: contextvars.ContextVar[Mapping[str, str] | None] = contextvars.ContextVar(
    "omp_env_overlay", default=None
)


def get(name: str, default: str | None = None) -> str | None:
    overlay = _overlay.get()
    if overlay is not None and name in overlay:
        return overlay[name]
    return os.environ.get(name, default)


def require(name: str) -> str:
    value = get(name)
    if not value:
        raise RuntimeError(f"missing environment variable {name}")
    return value


@contextlib.contextmanager
def overlay(values: Mapping[str, str]) -> Iterator[None]:
    """Run a block with `values` layered over os.environ (thread- and context-local)."""
    token = _overlay.set(dict(values))
    try:
        yield
    finally:
        _overlay.reset(token)
