"""OTLP/HTTP metrics (JSON or protobuf) as metric points.

Both encodings are read into the same `ExportMetricsServiceRequest` message of the
`opentelemetry-proto` package, so there is one mapping (docs/metrics.md, "OTLP mapping"):
- gauge and sum data points: one point of the metric's name; sums are stored as sent (a
  cumulative sum stays a running total, a delta sum the change over its interval);
- histogram data points: `<name>.count`, `<name>.sum`, `<name>.min`, `<name>.max` (each when
  present) and `<name>.p95` estimated from the explicit buckets; exponential histograms and
  summaries: `.count` and `.sum` (and `.min`/`.max` for exponential histograms);
- dimensions: the data point's attributes plus the resource's `service.name`,
  `service.namespace` and `service.instance.id`; non-string attribute values are written as text;
- time: `time_unix_nano` truncated to whole seconds; a point flagged "no recorded value" is
  skipped (neither accepted nor rejected).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from omp.domain import metrics as m
from omp.domain.errors import BadRequest

RESOURCE_DIMENSIONS = ("service.name", "service.namespace", "service.instance.id")
_NO_RECORDED_VALUE = 1  # DataPointFlags.DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK
PROTOBUF = "application/x-protobuf"


@dataclass(frozen=True)
class RawPoint:
    """One point to check: `index` is the OTLP data point it came from (0-based, request order)."""

    index: int
    name: str
    dimensions: dict[str, str]
    time_unix_nano: int
    value: float


def decode(body: bytes, content_type: str) -> Any:
    """The request as an `ExportMetricsServiceRequest`; 400 MALFORMED_OTLP when unreadable."""
    from google.protobuf import json_format
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2

    message = metrics_service_pb2.ExportMetricsServiceRequest()
    try:
        if content_type == PROTOBUF:
            message.ParseFromString(body)
        else:
            data = json.loads(body)
            if not isinstance(data, dict):
                raise ValueError("the body is not a JSON object")
            # OTLP/JSON writes trace and span ids as hex, protobuf's JSON mapping wants base64;
            # exemplars are the only place metrics carry them and nothing here reads them.
            _drop_exemplars(data)
            json_format.ParseDict(data, message, ignore_unknown_fields=True)
    except (DecodeError, json_format.ParseError, ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(f"not an OTLP metrics request: {exc}", code="MALFORMED_OTLP") from exc
    return message


def _drop_exemplars(node: Any) -> None:
    if isinstance(node, dict):
        node.pop("exemplars", None)
        for value in node.values():
            _drop_exemplars(value)
    elif isinstance(node, list):
        for value in node:
            _drop_exemplars(value)


def _text(value: Any) -> str:
    kind = value.WhichOneof("value")
    if kind is None:
        return ""
    raw = getattr(value, kind)
    if kind == "bool_value":
        return "true" if raw else "false"
    if kind in ("string_value", "int_value", "double_value"):
        return str(raw)
    if kind == "bytes_value":
        return raw.hex()  # type: ignore[no-any-return]
    from google.protobuf import json_format

    return json.dumps(json_format.MessageToDict(raw), separators=(",", ":"), sort_keys=True)


def _attributes(attributes: Any) -> dict[str, str]:
    return {kv.key: _text(kv.value) for kv in attributes}


def _number(point: Any) -> float:
    return float(point.as_double if point.WhichOneof("value") == "as_double" else point.as_int)


def histogram_quantile(q: float, bounds: list[float], counts: list[int]) -> float | None:
    """Prometheus-style estimate: linear inside the bucket holding rank q*count; the open
    buckets at either end answer their finite bound."""
    total = sum(counts)
    if total == 0 or len(counts) != len(bounds) + 1:
        return None
    rank = q * total
    seen = 0
    for i, count in enumerate(counts):
        if count and seen + count >= rank:
            if i == 0:
                return bounds[0] if bounds else None
            if i == len(bounds):
                return bounds[-1]
            low, high = bounds[i - 1], bounds[i]
            return low + (high - low) * (rank - seen) / count
        seen += count
    return bounds[-1] if bounds else None


def points(message: Any) -> Iterator[RawPoint]:
    """Every point the request carries, in request order."""
    index = 0
    for resource_metrics in message.resource_metrics:
        resource = _attributes(resource_metrics.resource.attributes)
        base = {k: resource[k] for k in RESOURCE_DIMENSIONS if resource.get(k)}
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                kind = metric.WhichOneof("data")
                if kind is None:
                    continue
                for dp in getattr(metric, kind).data_points:
                    here = index
                    index += 1
                    if dp.flags & _NO_RECORDED_VALUE:
                        continue
                    dims = {**base, **_attributes(dp.attributes)}
                    for name, value in _values(metric.name, kind, dp):
                        yield RawPoint(here, name, dims, dp.time_unix_nano, value)


def _values(name: str, kind: str, dp: Any) -> Iterator[tuple[str, float]]:
    if kind in ("gauge", "sum"):
        yield name, _number(dp)
        return
    yield f"{name}.count", float(dp.count)
    if kind == "summary" or dp.HasField("sum"):
        yield f"{name}.sum", float(dp.sum)
    if kind in ("histogram", "exponential_histogram"):
        if dp.HasField("min"):
            yield f"{name}.min", float(dp.min)
        if dp.HasField("max"):
            yield f"{name}.max", float(dp.max)
    if kind == "histogram":
        p95 = histogram_quantile(0.95, list(dp.explicit_bounds), list(dp.bucket_counts))
        if p95 is not None:
            yield f"{name}.p95", p95


def data_point_count(message: Any) -> int:
    return sum(
        len(getattr(metric, metric.WhichOneof("data")).data_points)
        for rm in message.resource_metrics
        for sm in rm.scope_metrics
        for metric in sm.metrics
        if metric.WhichOneof("data")
    )


def check(raw: RawPoint, now: Any, limits: m.MetricLimits) -> m.Point | m.Rejection:
    problem = m.check_name(raw.name)
    if problem:
        return m.Rejection(raw.index, m.INVALID_NAME, f"{raw.name!r}: {problem}")
    problem = m.check_dimensions(raw.dimensions)
    if problem:
        return m.Rejection(raw.index, m.INVALID_DIMENSIONS, problem)
    if raw.time_unix_nano <= 0:
        return m.Rejection(raw.index, m.INVALID_TIMESTAMP, "time_unix_nano is missing")
    return m.check_parts(
        raw.name,
        raw.dimensions,
        raw.time_unix_nano // 1_000_000_000,
        raw.value,
        raw.index,
        now,
        limits,
    )
