"""A normalised alert signal: what every source format becomes before deduplication.

One signal is one state report about one alert instance from one source. Normalisers
(`omp.sources`) produce them; deduplication, correlation, silencing and routing consume them.
Pure: no I/O.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum


class SignalStatus(StrEnum):
    FIRING = "firing"  # the condition holds (CloudWatch ALARM, Alertmanager firing, PD trigger)
    RESOLVED = "resolved"  # it cleared (CloudWatch OK, Alertmanager resolved, PD resolve)
    ACKNOWLEDGED = "acknowledged"  # someone took it (PagerDuty acknowledge)
    UNKNOWN = "unknown"  # the source cannot tell (CloudWatch INSUFFICIENT_DATA)


class SignalSeverity(StrEnum):
    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True)
class Signal:
    """`fingerprint` identifies the alert instance within its `source`: repeats share it."""

    source: str  # cloudwatch | alertmanager | grafana | pagerduty | generic | anomaly
    fingerprint: str  # Alertmanager's fingerprint, the CloudWatch alarm ARN, PD dedup_key, ...
    status: SignalStatus
    name: str
    severity: SignalSeverity
    observed_at: datetime  # when the source says the state began (aware, UTC)
    message: str = ""
    resource: str | None = None  # ARN, instance id, host: what the alert is about
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    url: str | None = None  # back-link to the source (generatorURL, console link)
    account: str | None = None  # AWS account for cloud sources (cross-account ingestion)
    region: str | None = None
    ends_at: datetime | None = None
    group_key: str | None = None  # the source's own grouping (Alertmanager groupKey)


# Sources send fields of any size, but a signal's fields become DynamoDB keys (the fingerprint
# in the alert state's partition key and, while flapping, in a 1,024-byte index sort key; the
# resource and the correlation group key in the correlation index's sort keys: 1,024 bytes),
# parts of items (400 KB) and of the alarm's EventBridge event (256 KB). `bounded` keeps every
# signal inside those limits, so an oversized alert is stored, not retried into the DLQ. The key
# bound sits just under what always worked, so no alert that was stored before changes identity.
MAX_KEY_BYTES = 900  # fingerprint, resource, group key, as UTF-8
_DIGEST_HEX = 32  # 128 bits of SHA-256: no practical way to craft a colliding value
MAX_NAME = 256
MAX_MESSAGE = 4096
# Labels are kept while their keys and values total this many UTF-8 bytes (in payload order), so
# an alarm's event stays far under 256 KB even with every character escaped in JSON; no count cap,
# so the labels silences, routes and rules match on are kept in every real-world payload.
MAX_LABEL_BYTES = 24 * 1024
MAX_ANNOTATION_BYTES = 32 * 1024
MAX_LABEL_KEY = 128
MAX_LABEL_VALUE = 1024
MAX_ANNOTATION_VALUE = 4096


def _valid(value: str) -> str:
    """`value` as valid UTF-8 text: a lone surrogate (JSON's `\\ud800`) becomes U+FFFD, which
    DynamoDB and EventBridge accept."""
    try:
        value.encode()
    except UnicodeEncodeError:
        return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in value)
    return value


def bounded_key(value: str) -> str:
    """`value`, or when over MAX_KEY_BYTES its head and a digest of the whole: still one value
    per distinct input, and still readable."""
    value = _valid(value)
    raw = value.encode()
    if len(raw) <= MAX_KEY_BYTES:
        return value
    digest = hashlib.sha256(raw).hexdigest()[:_DIGEST_HEX]
    head = raw[: MAX_KEY_BYTES - len("~sha256:") - _DIGEST_HEX].decode(errors="ignore")
    return f"{head}~sha256:{digest}"


def _bounded_map(values: dict[str, str], max_value: int, budget: int) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in values.items():
        key, value = _valid(key)[:MAX_LABEL_KEY], _valid(value)[:max_value]
        budget -= len(key.encode()) + len(value.encode())
        if budget < 0:
            break
        out.setdefault(key, value)
    return out


def bounded(signal: Signal) -> Signal:
    """The signal with every field inside the limits above (equal to it when it already is)."""
    return replace(
        signal,
        fingerprint=bounded_key(signal.fingerprint),
        resource=bounded_key(signal.resource) if signal.resource is not None else None,
        name=_valid(signal.name)[:MAX_NAME],
        message=_valid(signal.message)[:MAX_MESSAGE],
        labels=_bounded_map(signal.labels, MAX_LABEL_VALUE, MAX_LABEL_BYTES),
        annotations=_bounded_map(signal.annotations, MAX_ANNOTATION_VALUE, MAX_ANNOTATION_BYTES),
    )


class UnparseablePayload(ValueError):
    """A payload that no retry can fix: it goes to the DLQ with this reason."""


# The sources a webhook or integration key can name (`/v1/ingest/{source}`).
INGEST_SOURCES = ("cloudwatch", "alertmanager", "grafana", "pagerduty", "generic")
# Sources only the platform itself queues (not a webhook): the anomaly scorer's alarms.
INTERNAL_SOURCES = ("anomaly",)
