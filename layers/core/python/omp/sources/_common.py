"""Shared, pure helpers for the source normalisers: typed field access, times, hashing.

Every helper raises `UnparseablePayload` with a reason naming the field, never KeyError or
TypeError, so a bad payload always ends in the DLQ with something a person can act on.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from omp.domain.signals import SignalSeverity, UnparseablePayload

# Alertmanager, Grafana and generic severities, lower-cased. Anything else maps to the caller's
# default (warning for label-based sources).
SEVERITY_ALIASES: dict[str, SignalSeverity] = {
    "critical": SignalSeverity.CRITICAL,
    "crit": SignalSeverity.CRITICAL,
    "error": SignalSeverity.CRITICAL,
    "high": SignalSeverity.CRITICAL,
    "page": SignalSeverity.CRITICAL,
    "major": SignalSeverity.MAJOR,
    "warning": SignalSeverity.WARNING,
    "warn": SignalSeverity.WARNING,
    "medium": SignalSeverity.WARNING,
    "minor": SignalSeverity.MINOR,
    "info": SignalSeverity.INFO,
    "informational": SignalSeverity.INFO,
    "none": SignalSeverity.INFO,
    "low": SignalSeverity.INFO,
}

# Alertmanager's "no end" marker (Go's zero time.Time).
ZERO_TIME_PREFIX = "0001-01-01T00:00:00"

_FRACTION = re.compile(r"(\.\d{6})\d+")


def map_severity(value: object, default: SignalSeverity = SignalSeverity.WARNING) -> SignalSeverity:
    """Map a free-form severity onto `SignalSeverity`; unknown or missing gives `default`."""
    if not isinstance(value, str):
        return default
    return SEVERITY_ALIASES.get(value.strip().lower(), default)


def require_dict(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise UnparseablePayload(f"{where} must be a JSON object, got {_kind(value)}")
    return value


def optional_dict(value: object, where: str) -> dict[str, Any]:
    """None/absent is an empty object; anything else must be an object."""
    if value is None:
        return {}
    return require_dict(value, where)


def require_list(value: object, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise UnparseablePayload(f"{where} must be a JSON array, got {_kind(value)}")
    return value


def require_str(obj: Mapping[str, Any], key: str, where: str) -> str:
    """A present, non-empty string."""
    if key not in obj or obj[key] is None:
        raise UnparseablePayload(f"{where}.{key} is required")
    value = obj[key]
    if not isinstance(value, str):
        raise UnparseablePayload(f"{where}.{key} must be a string, got {_kind(value)}")
    if not value.strip():
        raise UnparseablePayload(f"{where}.{key} must not be empty")
    return value


def optional_str(obj: Mapping[str, Any], key: str, where: str) -> str | None:
    """An absent/null/empty value is None; a non-string is an error."""
    value = obj.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise UnparseablePayload(f"{where}.{key} must be a string, got {_kind(value)}")
    return value or None


def str_map(value: object, where: str) -> dict[str, str]:
    """A label/annotation object: string values kept, scalars rendered, nulls dropped."""
    result: dict[str, str] = {}
    for key, item in optional_dict(value, where).items():
        if item is None:
            continue
        if isinstance(item, bool):
            result[key] = "true" if item else "false"
        elif isinstance(item, str):
            result[key] = item
        elif isinstance(item, int | float):
            result[key] = json.dumps(item)
        else:
            raise UnparseablePayload(f"{where}.{key} must be a string, got {_kind(item)}")
    return result


def parse_time(value: object, where: str) -> datetime:
    """RFC 3339 / ISO 8601 (also CloudWatch's `+0000` and nanosecond fractions) -> aware UTC."""
    if not isinstance(value, str):
        raise UnparseablePayload(f"{where} must be an RFC 3339 timestamp, got {_kind(value)}")
    text = "".join(value.split())  # AWS doc samples carry stray spaces ("12: 36: 15")
    text = _FRACTION.sub(r"\1", text)
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise UnparseablePayload(f"{where} is not an RFC 3339 timestamp: {value[:64]!r}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    try:
        return parsed.astimezone(UTC)
    except (OverflowError, ValueError):
        raise UnparseablePayload(f"{where} is out of range: {value[:64]!r}") from None


def optional_time(value: object, where: str) -> datetime | None:
    """None, empty or Go's zero time mean "not set"."""
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.strip().startswith(ZERO_TIME_PREFIX):
        return None
    return parse_time(value, where)


def stable_hash(parts: Iterable[object], length: int = 32) -> str:
    """A deterministic hex digest of JSON-serialisable parts (sorted keys, compact)."""
    blob = json.dumps(list(parts), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:length]


_FNV64_OFFSET = 14695981039346656037
_FNV64_PRIME = 1099511628211
_MASK64 = 0xFFFFFFFFFFFFFFFF


def label_set_fingerprint(labels: Mapping[str, str]) -> str:
    """Prometheus' `LabelSet.Fingerprint()`: FNV-1a 64 over sorted name, 0xff, value, 0xff.

    This is what Alertmanager reports as an alert's `fingerprint`, formatted `%016x`.
    """
    digest = _FNV64_OFFSET
    for name in sorted(labels):
        for chunk in (name.encode("utf-8"), b"\xff", labels[name].encode("utf-8"), b"\xff"):
            for byte in chunk:
                digest ^= byte
                digest = (digest * _FNV64_PRIME) & _MASK64
    return f"{digest:016x}"


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__
