"""The audit log: every domain event, who caused it, kept append-only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from omp.domain.model import Model
from omp.domain.pagination import DEFAULT_LIMIT
from omp.domain.queries import TimeRange


class AuditEntry(Model):
    event_id: str
    time: str
    source: str
    detail_type: str
    actor: str | None
    resources: list[str]
    detail: dict[str, Any]


@dataclass(frozen=True)
class AuditQuery:
    window: TimeRange
    limit: int = DEFAULT_LIMIT
    source: str | None = None
    detail_type: str | None = None
    next_token: str | None = None


def entry_from_event(event: dict[str, Any]) -> AuditEntry:
    """An EventBridge event (as delivered) as an audit entry; KeyError/ValueError if malformed."""
    detail = event["detail"]
    if not isinstance(detail, dict):
        raise ValueError("detail is not an object")
    actor = detail.get("actor")
    return AuditEntry(
        event_id=str(event["id"]),
        time=str(event["time"]),
        source=str(event["source"]),
        detail_type=str(event["detail-type"]),
        actor=actor if isinstance(actor, str) else None,
        resources=[str(r) for r in event.get("resources") or []],
        detail=detail,
    )
