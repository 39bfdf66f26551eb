"""Prometheus Alertmanager webhook, version 4.

One signal per entry of `alerts`. Fingerprint: the alert's `fingerprint`, else Prometheus'
label-set fingerprint (FNV-1a 64 of the sorted labels, what Alertmanager itself computes).
Severity: the `severity` label (critical/error/high -> critical, major, warning/warn -> warning,
minor, info/none/low -> info; missing or unknown -> warning). `truncatedAlerts` is reported by
`truncated_alerts(payload)`: those alerts never reach us, so callers record the count.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from omp.domain.signals import Signal, SignalSeverity, SignalStatus, UnparseablePayload
from omp.sources._common import (
    label_set_fingerprint,
    map_severity,
    optional_str,
    optional_time,
    parse_time,
    require_dict,
    require_list,
    str_map,
)

SOURCE = "alertmanager"
SUPPORTED_VERSIONS = frozenset({"4"})
RESOURCE_LABELS = ("instance", "pod", "resource")

_STATUS = {"firing": SignalStatus.FIRING, "resolved": SignalStatus.RESOLVED}


def normalise(payload: dict[str, Any]) -> list[Signal]:
    payload = require_dict(payload, "payload")
    version = payload.get("version")
    if version is not None and str(version) not in SUPPORTED_VERSIONS:
        raise UnparseablePayload(f"unsupported Alertmanager webhook version {version!r}")
    return normalise_alerts(payload, source=SOURCE)


def truncated_alerts(payload: dict[str, Any]) -> int:
    """How many alerts Alertmanager dropped from this notification (`max_alerts`)."""
    payload = require_dict(payload, "payload")
    value: object = payload.get("truncatedAlerts", 0)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise UnparseablePayload("payload.truncatedAlerts must be a non-negative integer")
    return value


def normalise_alerts(
    payload: dict[str, Any],
    *,
    source: str,
    extra_annotations: tuple[tuple[str, str], ...] = (),
) -> list[Signal]:
    """The Alertmanager-shaped body shared with Grafana: group fields plus `alerts[]`."""
    alerts = require_list(payload.get("alerts"), "payload.alerts")
    if not alerts:
        raise UnparseablePayload("payload.alerts is empty")
    truncated_alerts(payload)  # validates the type
    group_key = optional_str(payload, "groupKey", "payload")
    common_labels = str_map(payload.get("commonLabels"), "payload.commonLabels")
    common_annotations = str_map(payload.get("commonAnnotations"), "payload.commonAnnotations")
    group_status = payload.get("status")
    signals = []
    for index, raw in enumerate(alerts):
        where = f"payload.alerts[{index}]"
        alert = require_dict(raw, where)
        labels = {**common_labels, **str_map(alert.get("labels"), f"{where}.labels")}
        annotations = {
            **common_annotations,
            **str_map(alert.get("annotations"), f"{where}.annotations"),
        }
        for field, key in extra_annotations:
            value = optional_str(alert, field, where)
            if value:
                annotations[key] = value
        status = _status(alert.get("status", group_status), f"{where}.status")
        starts_at = optional_time(alert.get("startsAt"), f"{where}.startsAt")
        ends_at = optional_time(alert.get("endsAt"), f"{where}.endsAt")
        observed_at = _observed_at(status, starts_at, ends_at, where)
        fingerprint = optional_str(alert, "fingerprint", where) or label_set_fingerprint(
            str_map(alert.get("labels"), f"{where}.labels")
        )
        name = labels.get("alertname") or labels.get("__alert_rule_title__")
        if not name:
            raise UnparseablePayload(f"{where}.labels.alertname is required")
        signals.append(
            Signal(
                source=source,
                fingerprint=fingerprint,
                status=status,
                name=name,
                severity=map_severity(labels.get("severity"), SignalSeverity.WARNING),
                observed_at=observed_at,
                message=annotations.get("summary") or annotations.get("description") or "",
                resource=next((labels[k] for k in RESOURCE_LABELS if labels.get(k)), None),
                labels=labels,
                annotations=annotations,
                url=optional_str(alert, "generatorURL", where),
                ends_at=ends_at,
                group_key=group_key,
            )
        )
    return signals


def _status(value: object, where: str) -> SignalStatus:
    if not isinstance(value, str) or value not in _STATUS:
        raise UnparseablePayload(f"{where} must be 'firing' or 'resolved', got {value!r}")
    return _STATUS[value]


def _observed_at(
    status: SignalStatus, starts_at: datetime | None, ends_at: datetime | None, where: str
) -> datetime:
    """When the reported state began: startsAt while firing, endsAt once resolved."""
    if status is SignalStatus.RESOLVED and ends_at is not None:
        return ends_at
    if starts_at is None:
        # parse_time gives the precise reason (missing, wrong type)
        return parse_time(None, f"{where}.startsAt")
    return starts_at
