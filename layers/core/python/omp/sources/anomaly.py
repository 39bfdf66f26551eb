"""The platform's own anomaly alarms (`omp.services.scoring`): one payload per firing or
resolve of an anomaly on a metric series, built by `omp.domain.anomaly.alarm_payload`.

A resolve with `reason` `no_data` (from `resolve-silent-anomalies`: the series sent nothing for
its silence) has no band or value; its annotation `resolve_reason` says why, and the alarm's
timeline note carries it.

Not a webhook format: only the scorer (and the silence sweep) queue it (it is not in
`INGEST_SOURCES`, so `POST /v1/ingest/anomaly` does not exist). Fingerprint:
`<series id>/<detector>` (the detector that raised it: residual, spike, level_shift,
trend_change, variance_change). Observed at: the anomaly's first point when firing, the first
point of the run back in band when resolved. The expected band, the observed value and the
score travel in the annotations and, prefixed `anomaly_`, in the labels (an alarm keeps labels
only); the series' name, id, detector and dimensions in the labels.
"""

from __future__ import annotations

from typing import Any

from omp.domain.signals import Signal, SignalSeverity, SignalStatus, UnparseablePayload
from omp.sources._common import parse_time, require_str

SOURCE = "anomaly"
_STATUS = {"firing": SignalStatus.FIRING, "resolved": SignalStatus.RESOLVED}
# Labels the platform sets; a dimension of the same name is kept as `dim_<name>`.
_RESERVED = frozenset({"alertname", "metric", "series_id", "detector", "source"})


def _number(payload: dict[str, Any], key: str) -> str:
    value = payload.get(key)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UnparseablePayload(f"{key} must be a number")
    return f"{value:.6g}"


def normalise(payload: dict[str, Any]) -> list[Signal]:
    if payload.get("kind") != "omp.anomaly":
        raise UnparseablePayload("not an om-platform anomaly payload")
    status = _STATUS.get(str(payload.get("status")))
    if status is None:
        raise UnparseablePayload("status must be firing or resolved")
    series_id = require_str(payload, "series_id", "payload")
    metric = require_str(payload, "metric", "payload")
    detector = require_str(payload, "detector", "payload")
    dims = payload.get("dimensions") or {}
    if not isinstance(dims, dict):
        raise UnparseablePayload("dimensions must be an object")
    at = parse_time(payload.get("timestamp"), "timestamp")
    started = parse_time(payload.get("started_at"), "started_at")
    labels = {(f"dim_{k}" if k in _RESERVED else str(k)): str(v) for k, v in sorted(dims.items())}
    labels |= {
        "alertname": "MetricAnomaly",
        "metric": metric,
        "series_id": series_id,
        "detector": detector,
    }
    value, lower, upper = (
        _number(payload, "value"),
        _number(payload, "lower"),
        _number(payload, "upper"),
    )
    # The stored alarm keeps labels (not annotations): the band travels in both, the labels
    # prefixed so they do not clash with dimensions.
    band = {
        "observed": value,
        "expected": _number(payload, "expected"),
        "lower": lower,
        "upper": upper,
    }
    band["score"] = _number(payload, "score")
    labels |= {f"anomaly_{k}": v for k, v in band.items() if v != ""}
    annotations = {
        "observed": value,
        "expected": _number(payload, "expected"),
        "lower": lower,
        "upper": upper,
        "score": _number(payload, "score"),
        "threshold": _number(payload, "threshold"),
        "started_at": started.isoformat().replace("+00:00", "Z"),
    }
    if status is SignalStatus.FIRING:
        message = f"{metric}: {value} outside the expected band [{lower}, {upper}] ({detector})"
    elif payload.get("reason") == "no_data":
        # resolved by resolve-silent-anomalies: the series stopped sending points
        last = str(payload.get("last_data_at") or "")
        silence = _number(payload, "silence_s")
        message = f"{metric}: no data since {last}: anomaly resolved (no_data)"
        annotations["resolve_reason"] = f"no_data: no points since {last} (silence {silence} s)"
    else:
        message = f"{metric}: back in the expected band [{lower}, {upper}]"
    return [
        Signal(
            source=SOURCE,
            fingerprint=f"{series_id}/{detector}",
            status=status,
            name=f"Anomaly on {metric}",
            severity=SignalSeverity.WARNING,
            observed_at=started if status is SignalStatus.FIRING else at,
            message=message,
            labels=labels,
            annotations={k: v for k, v in annotations.items() if v != ""},
            ends_at=at if status is SignalStatus.RESOLVED else None,
        )
    ]
