"""Metric points, series and the rules a point must pass before it is stored (pure, no I/O).

A series is a metric name plus a set of dimensions; its id is derived from both, so every writer
(the metrics API, OTLP, the CloudWatch pull) names the same series the same way and a retried
batch lands on the same items. Timestamps are whole seconds (UTC epoch): finer parts are
truncated. Points are checked one by one; a bad point is rejected with a stable reason code and
never fails the rest of its batch.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

MAX_BATCH_POINTS = 1_000  # POST /v1/metrics
MAX_OTLP_POINTS = 10_000  # POST /v1/otlp/metrics (an OTel Collector batch is up to 8,192)
MAX_DIMENSIONS = 20
MAX_NAME_LENGTH = 255
MAX_DIMENSION_KEY_LENGTH = 128
MAX_DIMENSION_VALUE_LENGTH = 256
# One stored item holds one series' points of 10 minutes: small enough that an update (billed
# by the item's size) stays near 1 WCU for 10-second data (bench/metrics_ingest.py).
BUCKET_SECONDS = 600
# DynamoDB numbers: 38 significant digits, magnitude 1E-130 .. 9.9E125.
MAX_MAGNITUDE = 9.9e125
MIN_MAGNITUDE = 1e-130

NAME_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:/-]*$")
DIMENSION_KEY_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.:/-]*$")

# Per-point reason codes (stable; listed in docs/errors.md and docs/metrics.md).
INVALID_POINT = "INVALID_POINT"
INVALID_NAME = "INVALID_NAME"
INVALID_DIMENSIONS = "INVALID_DIMENSIONS"
INVALID_VALUE = "INVALID_VALUE"
NON_FINITE_VALUE = "NON_FINITE_VALUE"
VALUE_OUT_OF_RANGE = "VALUE_OUT_OF_RANGE"
INVALID_TIMESTAMP = "INVALID_TIMESTAMP"
TIMESTAMP_TOO_OLD = "TIMESTAMP_TOO_OLD"
TIMESTAMP_IN_FUTURE = "TIMESTAMP_IN_FUTURE"
DUPLICATE_IN_BATCH = "DUPLICATE_IN_BATCH"
DUPLICATE_TIMESTAMP = "DUPLICATE_TIMESTAMP"
SERIES_LIMIT_EXCEEDED = "SERIES_LIMIT_EXCEEDED"


@dataclass(frozen=True)
class MetricLimits:
    """Ingestion limits; the composition root reads overrides from the environment."""

    max_age_s: int = 14 * 86_400  # older points are rejected (TIMESTAMP_TOO_OLD)
    max_future_s: int = 300  # clock skew allowed ahead of now (TIMESTAMP_IN_FUTURE)
    retention_days: int = 35  # TTL of stored buckets, counted from the end of the bucket
    max_series_per_source: int = 10_000  # distinct series one source may create
    max_query_points: int = 10_000  # points one query may return

    def __post_init__(self) -> None:
        if self.retention_days * 86_400 < self.max_age_s:
            raise ValueError("retention must be at least the maximum point age")


# ---- series ---------------------------------------------------------------------------------


def series_id(name: str, dimensions: Mapping[str, str]) -> str:
    """`ser_` + 24 hex chars of SHA-256 over the name and the sorted dimensions."""
    canonical = json.dumps([name, sorted(dimensions.items())], separators=(",", ":"))
    return "ser_" + hashlib.sha256(canonical.encode()).hexdigest()[:24]


SERIES_ID_PATTERN = re.compile(r"^ser_[0-9a-f]{24}$")


def check_name(name: Any) -> str | None:
    """None when `name` is a valid metric name, else why not."""
    if not isinstance(name, str) or not name:
        return "name must be a non-empty string"
    if len(name) > MAX_NAME_LENGTH:
        return f"name is longer than {MAX_NAME_LENGTH} characters"
    if not NAME_PATTERN.match(name):
        return "name must match [A-Za-z_][A-Za-z0-9_.:/-]*"
    return None


def check_dimensions(dimensions: Any) -> str | None:
    if not isinstance(dimensions, dict):
        return "dimensions must be an object of string values"
    if len(dimensions) > MAX_DIMENSIONS:
        return f"at most {MAX_DIMENSIONS} dimensions"
    for key, value in dimensions.items():
        if not isinstance(key, str) or not key or len(key) > MAX_DIMENSION_KEY_LENGTH:
            return f"dimension names are 1 to {MAX_DIMENSION_KEY_LENGTH} characters"
        if not DIMENSION_KEY_PATTERN.match(key):
            return f"dimension name {key!r} must match [A-Za-z_][A-Za-z0-9_.:/-]*"
        if not isinstance(value, str) or not value or len(value) > MAX_DIMENSION_VALUE_LENGTH:
            return (
                f"dimension {key!r}: values are strings of 1 to "
                f"{MAX_DIMENSION_VALUE_LENGTH} characters"
            )
        if not value.isprintable():
            return f"dimension {key!r}: the value has control characters"
    return None


# ---- points ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Point:
    """A validated point: the series it belongs to, whole epoch seconds, a finite float."""

    series_id: str
    name: str
    dimensions: Mapping[str, str]
    timestamp: int
    value: float


@dataclass(frozen=True)
class Rejection:
    index: int
    reason: str
    message: str


@dataclass
class Checked:
    """The outcome of validating a batch: accepted points (in batch order) and rejections."""

    points: list[tuple[int, Point]] = field(default_factory=list)  # (index in batch, point)
    rejected: list[Rejection] = field(default_factory=list)


def parse_timestamp(raw: Any) -> int | None:
    """Epoch seconds (int or float) or an RFC 3339 string with an offset; None if neither."""
    if isinstance(raw, bool):
        return None
    if isinstance(raw, int | float):
        if not math.isfinite(raw):
            return None
        return math.floor(raw)
    if isinstance(raw, str):
        try:
            value = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            return None
        if value.tzinfo is None:
            return None
        return math.floor(value.timestamp())
    return None


def check_value(raw: Any) -> tuple[float | None, str | None, str]:
    """(value, reason, message): a finite float in DynamoDB's number range, or why not."""
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None, INVALID_VALUE, "value must be a number"
    value = float(raw)
    if not math.isfinite(value):
        return None, NON_FINITE_VALUE, "value must be finite (no NaN or infinity)"
    if value != 0 and not MIN_MAGNITUDE <= abs(value) <= MAX_MAGNITUDE:
        return None, VALUE_OUT_OF_RANGE, "value is outside 1E-130 .. 9.9E125 in magnitude"
    return value, None, ""


def check_point(raw: Any, index: int, now: datetime, limits: MetricLimits) -> Point | Rejection:
    """One raw JSON point `{name, dimensions?, timestamp, value}`."""
    if not isinstance(raw, dict):
        return Rejection(index, INVALID_POINT, "a point must be an object")
    missing = [k for k in ("name", "timestamp", "value") if k not in raw]
    if missing:
        return Rejection(index, INVALID_POINT, f"missing {', '.join(missing)}")
    unknown = set(raw) - {"name", "dimensions", "timestamp", "value"}
    if unknown:
        return Rejection(index, INVALID_POINT, f"unknown fields {sorted(unknown)}")
    problem = check_name(raw["name"])
    if problem:
        return Rejection(index, INVALID_NAME, problem)
    dimensions = raw.get("dimensions")
    dimensions = {} if dimensions is None else dimensions
    problem = check_dimensions(dimensions)
    if problem:
        return Rejection(index, INVALID_DIMENSIONS, problem)
    return check_parts(raw["name"], dimensions, raw["timestamp"], raw["value"], index, now, limits)


def check_parts(
    name: str,
    dimensions: Mapping[str, str],
    raw_timestamp: Any,
    raw_value: Any,
    index: int,
    now: datetime,
    limits: MetricLimits,
) -> Point | Rejection:
    """Timestamp and value rules, for a point whose name and dimensions are valid."""
    timestamp = parse_timestamp(raw_timestamp)
    if timestamp is None:
        return Rejection(
            index, INVALID_TIMESTAMP, "timestamp must be epoch seconds or RFC 3339 with an offset"
        )
    now_s = now.timestamp()
    if timestamp < now_s - limits.max_age_s:
        return Rejection(
            index, TIMESTAMP_TOO_OLD, f"timestamp is more than {limits.max_age_s} s in the past"
        )
    if timestamp > now_s + limits.max_future_s:
        return Rejection(
            index,
            TIMESTAMP_IN_FUTURE,
            f"timestamp is more than {limits.max_future_s} s in the future",
        )
    value, reason, message = check_value(raw_value)
    if value is None:
        return Rejection(index, reason or INVALID_VALUE, message)
    dims = dict(dimensions)
    return Point(series_id(name, dims), name, dims, timestamp, value)


class BatchChecker:
    """Collects checked points in batch order; a second point for the same series and second
    in one batch is rejected (DUPLICATE_IN_BATCH): the first one wins."""

    def __init__(self) -> None:
        self.checked = Checked()
        self._seen: set[tuple[str, int]] = set()

    def add(self, index: int, result: Point | Rejection) -> None:
        if isinstance(result, Rejection):
            self.checked.rejected.append(result)
            return
        key = (result.series_id, result.timestamp)
        if key in self._seen:
            self.checked.rejected.append(
                Rejection(
                    index,
                    DUPLICATE_IN_BATCH,
                    "an earlier point of this batch has the same series and second",
                )
            )
            return
        self._seen.add(key)
        self.checked.points.append((index, result))


def check_batch(raw_points: list[Any], now: datetime, limits: MetricLimits) -> Checked:
    """Validate every point of a `POST /v1/metrics` batch."""
    checker = BatchChecker()
    for index, raw in enumerate(raw_points):
        checker.add(index, check_point(raw, index, now, limits))
    return checker.checked


# ---- buckets --------------------------------------------------------------------------------


def bucket_start(timestamp: int) -> int:
    return timestamp - timestamp % BUCKET_SECONDS


def buckets_between(start: int, end: int) -> list[int]:
    """Bucket starts covering [start, end] seconds, oldest first."""
    first, last = bucket_start(start), bucket_start(end)
    return list(range(first, last + 1, BUCKET_SECONDS))


def expires_at(bucket: int, limits: MetricLimits) -> int:
    return bucket + BUCKET_SECONDS + limits.retention_days * 86_400


def group_by_bucket(points: list[Point]) -> dict[tuple[str, int], list[Point]]:
    """Points grouped by the item that stores them: (series id, bucket start)."""
    groups: dict[tuple[str, int], list[Point]] = {}
    for point in points:
        groups.setdefault((point.series_id, bucket_start(point.timestamp)), []).append(point)
    return groups


# ---- series registry ------------------------------------------------------------------------


@dataclass(frozen=True)
class SeriesRecord:
    """One registered series: what listing and the cardinality limit count."""

    series_id: str
    name: str
    dimensions: Mapping[str, str]
    source: str  # the principal (integration key or user) or puller that created it
    first_seen: int  # epoch seconds (ingestion time)
    last_seen: int  # refreshed at most once an hour (LAST_SEEN_REFRESH_S)


LAST_SEEN_REFRESH_S = 3_600
