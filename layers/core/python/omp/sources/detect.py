"""Which format is this body? Structural signatures only, most specific first.

Used by `POST /v1/ingest`, which accepts any payload the per-source endpoints accept.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from omp.domain.signals import Signal, UnparseablePayload, bounded
from omp.sources import alertmanager, cloudwatch, generic, grafana, pagerduty

SOURCES = ("cloudwatch", "alertmanager", "grafana", "pagerduty", "generic")

NORMALISERS: dict[str, Callable[[dict[str, Any]], list[Signal]]] = {
    "cloudwatch": cloudwatch.normalise,
    "alertmanager": alertmanager.normalise,
    "grafana": grafana.normalise,
    "pagerduty": pagerduty.normalise,
    "generic": generic.normalise,
}

_GRAFANA_ALERT_KEYS = frozenset({"values", "valueString", "dashboardURL", "panelURL", "silenceURL"})


def detect(payload: object) -> str:
    """-> "cloudwatch" | "alertmanager" | "grafana" | "pagerduty" | "generic"."""
    if not isinstance(payload, dict):
        raise UnparseablePayload("unrecognised format: the body is not a JSON object")
    refusal = cloudwatch.sns_control_refusal(payload)
    if refusal is not None:
        raise refusal
    if _is_cloudwatch(payload):
        return "cloudwatch"
    if "event_action" in payload and ("routing_key" in payload or "payload" in payload):
        return "pagerduty"
    alerts = payload.get("alerts")
    if isinstance(alerts, list):
        if _is_grafana(payload, alerts):
            return "grafana"
        if "groupKey" in payload or str(payload.get("version")) == "4":
            return "alertmanager"
        return "generic"
    if isinstance(payload.get("name"), str) and ("status" in payload or "severity" in payload):
        return "generic"
    raise UnparseablePayload("unrecognised format")


def normalise_any(payload: object) -> tuple[str, list[Signal]]:
    source = detect(payload)
    assert isinstance(payload, dict)  # detect() refused anything else
    return source, [bounded(s) for s in NORMALISERS[source](payload)]


def _is_cloudwatch(payload: dict[str, Any]) -> bool:
    if payload.get("source") == "aws.cloudwatch" and (
        "detail-type" in payload or "alarmData" in payload
    ):
        return True
    records = payload.get("Records")
    if isinstance(records, list) and records:
        first = records[0]
        sns = first.get("Sns") if isinstance(first, dict) else None
        return isinstance(sns, dict) and cloudwatch.is_alarm_notification(sns.get("Message"))
    if "Message" in payload and payload.get("Type") == "Notification":
        return cloudwatch.is_alarm_notification(payload.get("Message"))
    return cloudwatch.is_alarm_notification(payload)


def _is_grafana(payload: dict[str, Any], alerts: list[Any]) -> bool:
    if "orgId" in payload or ("title" in payload and "state" in payload):
        return True
    return any(isinstance(a, dict) and _GRAFANA_ALERT_KEYS & a.keys() for a in alerts)
