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
# in a partition key: 2,048 bytes at most; the resource in the correlation index's sort keys:
# 1,024) and parts of items (400 KB). `bounded` keeps every signal inside those limits, so an
# oversized alert is stored, not retried into the dead-letter queue.
MAX_KEY_BYTES = 512  # fingerprint and resource, as UTF-8
MAX_NAME = 256
MAX_MESSAGE = 4096
MAX_LABELS = 64  # labels and annotations each: the first ones are kept
MAX_LABEL_KEY = 128
MAX_LABEL_VALUE = 1024
MAX_ANNOTATION_VALUE = 4096


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def bounded_key(value: str) -> str:
    """`value`, or when over MAX_KEY_BYTES its head and a digest of the whole: still one value
    per distinct input, and still readable."""
    raw = value.encode()
    if len(raw) <= MAX_KEY_BYTES:
        return value
    head = raw[: MAX_KEY_BYTES - 25].decode(errors="ignore")
    return f"{head}~sha256:{_digest(value)[:16]}"


def _bounded_map(values: dict[str, str], max_value: int) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in values.items():
        if len(out) == MAX_LABELS:
            break
        out.setdefault(key[:MAX_LABEL_KEY], value[:max_value])
    return out


def bounded(signal: Signal) -> Signal:
    """The signal with every field inside the limits above (unchanged when it already is)."""
    fingerprint = bounded_key(signal.fingerprint)
    resource = bounded_key(signal.resource) if signal.resource is not None else None
    labels = _bounded_map(signal.labels, MAX_LABEL_VALUE)
    annotations = _bounded_map(signal.annotations, MAX_ANNOTATION_VALUE)
    if (
        fingerprint == signal.fingerprint
        and resource == signal.resource
        and len(signal.name) <= MAX_NAME
        and len(signal.message) <= MAX_MESSAGE
        and labels == signal.labels
        and annotations == signal.annotations
    ):
        return signal
    return replace(
        signal,
        fingerprint=fingerprint,
        resource=resource,
        name=signal.name[:MAX_NAME],
        message=signal.message[:MAX_MESSAGE],
        labels=labels,
        annotations=annotations,
    )


class UnparseablePayload(ValueError):
    """A payload that no retry can fix: it goes to the DLQ with this reason."""


# The sources a webhook or integration key can name (`/v1/ingest/{source}`).
INGEST_SOURCES = ("cloudwatch", "alertmanager", "grafana", "pagerduty", "generic")
# Sources only the platform itself queues (not a webhook): the anomaly scorer's alarms.
INTERNAL_SOURCES = ("anomaly",)
