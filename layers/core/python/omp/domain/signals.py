"""A normalised alert signal: what every source format becomes before deduplication.

One signal is one state report about one alert instance from one source. Normalisers
(`omp.sources`) produce them; deduplication, correlation, silencing and routing consume them.
Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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


class UnparseablePayload(ValueError):
    """A payload that no retry can fix: it goes to the DLQ with this reason."""


# The sources a webhook or integration key can name (`/v1/ingest/{source}`).
INGEST_SOURCES = ("cloudwatch", "alertmanager", "grafana", "pagerduty", "generic")
# Sources only the platform itself queues (not a webhook): the anomaly scorer's alarms.
INTERNAL_SOURCES = ("anomaly",)
