"""Audit log use cases."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from omp.domain.audit import AuditEntry, AuditQuery, entry_from_event
from omp.domain.pagination import Page

if TYPE_CHECKING:  # ports are types only: importing them would load every model
    from omp.ports import AuditLog


def record_event(event: dict[str, Any], *, log: AuditLog) -> bool:
    """Record one delivered EventBridge event; a redelivery is a no-op (returns False)."""
    return log.record(entry_from_event(event))


def record_events(events: Iterable[dict[str, Any]], *, log: AuditLog) -> int:
    return sum(record_event(e, log=log) for e in events)


def list_entries(query: AuditQuery, *, log: AuditLog) -> Page[AuditEntry]:
    return log.list(query)
