"""One pure normaliser per external alert format: payload dict in, `Signal`s out.

Each module exposes `normalise(payload) -> list[Signal]` and raises `UnparseablePayload` for a
payload no retry can fix. `detect.normalise_any` picks the module by the payload's shape.
"""

import importlib
from datetime import datetime

from omp.domain.signals import (
    INGEST_SOURCES,
    INTERNAL_SOURCES,
    Signal,
    UnparseablePayload,
    bounded,
)

# Formats that may carry no time of their own: their signals are dated with `received_at`.
_DATED_BY_RECEIPT = frozenset({"pagerduty", "generic"})


def normalise(
    source: str,
    payload: object,
    received_at: datetime,
    fingerprint_labels: list[str] | None = None,
) -> list[Signal]:
    """The signals of one payload from a named source. Only that source's module is imported,
    which keeps a cold start from loading every format. `fingerprint_labels` (an integration
    key's) applies to generic alerts without a fingerprint of their own. Every signal comes out
    `bounded`: no field a source sends can exceed what the stores hold."""
    if source not in INGEST_SOURCES and source not in INTERNAL_SOURCES:
        raise UnparseablePayload(f"unknown source {source!r}")
    if not isinstance(payload, dict):
        raise UnparseablePayload("the body must be a JSON object")
    module = importlib.import_module(f"omp.sources.{source}")
    signals: list[Signal]
    if source == "generic":
        signals = module.normalise(
            payload, received_at=received_at, fingerprint_labels=fingerprint_labels
        )
    elif source in _DATED_BY_RECEIPT:
        signals = module.normalise(payload, received_at=received_at)
    else:
        signals = module.normalise(payload)
    return [bounded(s) for s in signals]
