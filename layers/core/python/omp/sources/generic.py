"""om-platform's documented generic alert JSON (docs/sources.md).

    {"alerts": [{"name": "...", "status": "firing" | "resolved", "severity": "...",
                 "message": "...", "resource": "...", "labels": {}, "annotations": {},
                 "fingerprint": "...", "starts_at": "RFC 3339", "url": "..."}]}

A single alert object (without the `alerts` wrapper) is accepted too. Only `name` is required;
`status` defaults to firing and `severity` to warning (same aliases as Alertmanager).
Fingerprint, the first that applies: the alert's `fingerprint`; a hash of the label names in the
alert's `fingerprint_labels`, else the body's `fingerprint_labels` (next to `alerts`), else the
configured ones (the integration key's: the `fingerprint_labels` argument); else a hash of
name + resource + all labels. In a label set the pseudo-labels `name` and `resource` mean those
fields unless a label of that name exists.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from omp.domain.signals import Signal, SignalSeverity, SignalStatus, UnparseablePayload
from omp.sources._common import (
    map_severity,
    optional_str,
    optional_time,
    require_dict,
    require_list,
    require_str,
    stable_hash,
    str_map,
)

SOURCE = "generic"
MAX_ALERTS = 1000
MAX_FINGERPRINT_LABELS = 20

_STATUS = {
    "firing": SignalStatus.FIRING,
    "resolved": SignalStatus.RESOLVED,
    "acknowledged": SignalStatus.ACKNOWLEDGED,
}


def normalise(
    payload: dict[str, Any],
    *,
    fingerprint_labels: list[str] | None = None,
    received_at: datetime | None = None,
) -> list[Signal]:
    payload = require_dict(payload, "payload")
    if "alerts" in payload:
        alerts = require_list(payload["alerts"], "payload.alerts")
        if not alerts:
            raise UnparseablePayload("payload.alerts is empty")
        if len(alerts) > MAX_ALERTS:
            raise UnparseablePayload(f"payload.alerts has more than {MAX_ALERTS} alerts")
        items = [(f"payload.alerts[{i}]", alert) for i, alert in enumerate(alerts)]
        # A label set for the whole body wins over the configured one.
        fingerprint_labels = (
            label_set(payload.get("fingerprint_labels"), "payload.fingerprint_labels")
            or fingerprint_labels
        )
    else:
        items = [("payload", payload)]
    fallback_time = received_at or datetime.now(UTC)
    return [
        _one(require_dict(alert, where), where, fingerprint_labels, fallback_time)
        for where, alert in items
    ]


def label_set(value: object, where: str) -> list[str] | None:
    """A `fingerprint_labels` field: None when absent, else 1 to 20 label names."""
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or not 1 <= len(value) <= MAX_FINGERPRINT_LABELS
        or not all(isinstance(x, str) and 0 < len(x) <= 128 for x in value)
    ):
        raise UnparseablePayload(
            f"{where} must be a list of 1 to {MAX_FINGERPRINT_LABELS} label names"
        )
    return value


def fingerprint(
    name: str,
    resource: str | None,
    labels: dict[str, str],
    fingerprint_labels: list[str] | None = None,
) -> str:
    """The fingerprint of an alert that carries none (see the module doc)."""
    if fingerprint_labels is None:
        return stable_hash(["default", name, resource, sorted(labels.items())])
    fields = {"name": name, "resource": resource}
    picked = [
        (key, labels.get(key, fields.get(key) if key in fields else None))
        for key in sorted(set(fingerprint_labels))
    ]
    return stable_hash(["labels", picked])


def _one(
    alert: dict[str, Any],
    where: str,
    fingerprint_labels: list[str] | None,
    fallback_time: datetime,
) -> Signal:
    name = require_str(alert, "name", where)
    status_value = alert.get("status", "firing")
    if not isinstance(status_value, str) or status_value.lower() not in _STATUS:
        raise UnparseablePayload(
            f"{where}.status must be firing, resolved or acknowledged, got {status_value!r}"
        )
    severity = alert.get("severity")
    if severity is not None and not isinstance(severity, str):
        raise UnparseablePayload(f"{where}.severity must be a string")
    resource = optional_str(alert, "resource", where)
    labels = str_map(alert.get("labels"), f"{where}.labels")
    starts_at = optional_time(alert.get("starts_at"), f"{where}.starts_at")
    own = label_set(alert.get("fingerprint_labels"), f"{where}.fingerprint_labels")
    return Signal(
        source=SOURCE,
        fingerprint=optional_str(alert, "fingerprint", where)
        or fingerprint(name, resource, labels, own or fingerprint_labels),
        status=_STATUS[status_value.lower()],
        name=name,
        severity=map_severity(severity, SignalSeverity.WARNING),
        observed_at=starts_at or fallback_time,
        message=optional_str(alert, "message", where) or "",
        resource=resource,
        labels=labels,
        annotations=str_map(alert.get("annotations"), f"{where}.annotations"),
        url=optional_str(alert, "url", where),
        ends_at=optional_time(alert.get("ends_at"), f"{where}.ends_at"),
    )
