"""PagerDuty Events API v2 (`POST /v2/enqueue` bodies), validated by PagerDuty's rules.

`event_action` trigger -> firing, acknowledge -> acknowledged, resolve -> resolved.
Fingerprint: `dedup_key`. A trigger without one gets a deterministic key,
`omp-<sha256(routing_key, payload)[:32]>`, so a replayed trigger never opens a second alarm
(PagerDuty itself would generate a random key and return it; the ingest API returns ours the
same way, and the sender must use it to acknowledge or resolve).

Observed time: `payload.timestamp` when given, else `received_at` (pass the time the body was
accepted, e.g. the SQS SentTimestamp, so a replay normalises identically), else now.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from omp.domain.signals import Signal, SignalSeverity, SignalStatus, UnparseablePayload
from omp.sources._common import (
    optional_dict,
    optional_str,
    parse_time,
    require_dict,
    require_list,
    require_str,
    stable_hash,
    str_map,
)

SOURCE = "pagerduty"
MAX_SUMMARY = 1024
MAX_DEDUP_KEY = 255

_ACTIONS = {
    "trigger": SignalStatus.FIRING,
    "acknowledge": SignalStatus.ACKNOWLEDGED,
    "resolve": SignalStatus.RESOLVED,
}
_SEVERITY = {
    "critical": SignalSeverity.CRITICAL,
    "error": SignalSeverity.MAJOR,
    "warning": SignalSeverity.WARNING,
    "info": SignalSeverity.INFO,
}


def normalise(payload: dict[str, Any], *, received_at: datetime | None = None) -> list[Signal]:
    body = require_dict(payload, "payload")
    routing_key = require_str(body, "routing_key", "body")
    action = body.get("event_action")
    if not isinstance(action, str) or action not in _ACTIONS:
        raise UnparseablePayload(
            f"body.event_action must be trigger, acknowledge or resolve, got {action!r}"
        )
    dedup_key = optional_str(body, "dedup_key", "body")
    if dedup_key is not None and len(dedup_key) > MAX_DEDUP_KEY:
        raise UnparseablePayload(f"body.dedup_key is longer than {MAX_DEDUP_KEY} characters")
    fallback_time = received_at or datetime.now(UTC)

    if action != "trigger":
        if dedup_key is None:
            raise UnparseablePayload(f"body.dedup_key is required for {action}")
        return [
            Signal(
                source=SOURCE,
                fingerprint=dedup_key,
                status=_ACTIONS[action],
                name=dedup_key,
                severity=SignalSeverity.INFO,
                observed_at=fallback_time,
                labels={"routing_key_hash": stable_hash([routing_key], 12)},
            )
        ]

    event = require_dict(body.get("payload"), "body.payload")
    summary = require_str(event, "summary", "body.payload")
    if len(summary) > MAX_SUMMARY:
        raise UnparseablePayload(
            f"body.payload.summary is {len(summary)} characters, the limit is {MAX_SUMMARY}"
        )
    source = require_str(event, "source", "body.payload")
    severity = event.get("severity")
    if not isinstance(severity, str) or severity not in _SEVERITY:
        raise UnparseablePayload(
            f"body.payload.severity must be critical, error, warning or info, got {severity!r}"
        )
    timestamp = event.get("timestamp")
    observed_at = parse_time(timestamp, "body.payload.timestamp") if timestamp is not None else None
    labels = {"routing_key_hash": stable_hash([routing_key], 12), "pd_severity": severity}
    for key in ("component", "group", "class"):
        value = optional_str(event, key, "body.payload")
        if value:
            labels[key] = value
    annotations: dict[str, str] = {}
    details = event.get("custom_details")
    if isinstance(details, dict):
        annotations.update({f"detail_{k}": v for k, v in _flat(details).items()})
    elif details is not None:
        annotations["custom_details"] = details if isinstance(details, str) else repr(details)
    client = optional_str(body, "client", "body")
    if client:
        annotations["client"] = client
    links = _links(body)
    for index, href in enumerate(links):
        annotations[f"link_{index}"] = href
    _images(body)
    return [
        Signal(
            source=SOURCE,
            fingerprint=dedup_key or generated_dedup_key(routing_key, event),
            status=SignalStatus.FIRING,
            name=summary,
            severity=_SEVERITY[severity],
            observed_at=observed_at or fallback_time,
            message=summary,
            resource=source,
            labels=labels,
            annotations=annotations,
            url=optional_str(body, "client_url", "body"),
        )
    ]


def generated_dedup_key(routing_key: str, event: dict[str, Any]) -> str:
    """The key for a trigger that brought none: same routing key and payload, same key."""
    return "omp-" + stable_hash([routing_key, event])


def _flat(details: dict[str, Any]) -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in details.items():
        if isinstance(value, dict | list):
            flat[key] = stable_json(value)
        else:
            flat.update(str_map({key: value}, "body.payload.custom_details"))
    return flat


def stable_json(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _links(body: dict[str, Any]) -> list[str]:
    hrefs = []
    for index, raw in enumerate(require_list(body.get("links", []) or [], "body.links")):
        link = require_dict(raw, f"body.links[{index}]")
        hrefs.append(require_str(link, "href", f"body.links[{index}]"))
    return hrefs


def _images(body: dict[str, Any]) -> None:
    for index, raw in enumerate(require_list(body.get("images", []) or [], "body.images")):
        require_str(optional_dict(raw, f"body.images[{index}]"), "src", f"body.images[{index}]")
