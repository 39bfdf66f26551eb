"""Run the schemathesis CLI with a shim for hypothesis-jsonschema 0.23.1 on newer Hypothesis.

hypothesis-jsonschema 0.23.1 drives `hypothesis.internal.conjecture.utils.many` through its old
`more()` / `reject()` interface; Hypothesis 6.170 (in this venv) made `many` an iterator-only
context manager, so every object schema fails with "'many' object has no attribute 'more'".
The shim adapts the new `many` to the old interface. Remove it once requirements pin a
compatible pair. Usage: python -m tests.e2e.st_compat run ... (the arguments of `st`).
"""

from __future__ import annotations

import sys
import types
from typing import Any

import hypothesis.internal.conjecture.utils as cu

_DONE = object()


class _LegacyMany:
    def __init__(self, data: Any, min_size: int, max_size: float, average_size: float) -> None:
        self._many = cu.many(data, min_size=min_size, max_size=max_size, average_size=average_size)
        self._many.__enter__()
        self._iter = iter(self._many)

    def more(self) -> bool:
        if next(self._iter, _DONE) is _DONE:
            self._many.__exit__(None)
            return False
        return True

    def reject(self, why: str | None = None) -> None:
        self._many.reject(why)


def install() -> None:
    if hasattr(cu.many, "more"):
        return
    from hypothesis_jsonschema import _from_schema

    _from_schema.cu = types.SimpleNamespace(**{**vars(cu), "many": _LegacyMany})  # type: ignore[attr-defined]


if __name__ == "__main__":
    install()
    from schemathesis.cli import schemathesis

    sys.argv[0] = "st"
    sys.exit(schemathesis())
