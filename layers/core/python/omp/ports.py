"""The ports the services depend on. Adapters implement them; tests pass in-memory fakes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from omp.domain.alarms import Alarm, AlarmQuery, AlarmStatus
from omp.domain.audit import AuditEntry, AuditQuery
from omp.domain.events import DomainEvent
from omp.domain.pagination import Page


class Clock(Protocol):
    def now(self) -> datetime: ...


class EventPublisher(Protocol):
    def publish(self, events: Sequence[DomainEvent]) -> None: ...


class AlarmRepository(Protocol):
    def put_new(self, alarm: Alarm) -> None:
        """Store a new alarm; `Conflict` if the id exists."""

    def get(self, alarm_id: str) -> Alarm | None: ...

    def change_status(
        self,
        alarm_id: str,
        target: AlarmStatus,
        changes: dict[str, Any],
        *,
        expected_version: int | None,
    ) -> Alarm:
        """One conditional write; `NotFound`, `Conflict` (INVALID_TRANSITION, VERSION_CONFLICT)."""

    def list(self, query: AlarmQuery) -> Page[Alarm]: ...


class AuditLog(Protocol):
    def record(self, entry: AuditEntry) -> bool:
        """Store once; False when this entry was already recorded (a redelivery)."""

    def list(self, query: AuditQuery) -> Page[AuditEntry]: ...


class ApiKeyStore(Protocol):
    def find(self, key_hash: str) -> dict[str, Any] | None: ...

    def put(self, key_hash: str, record: dict[str, Any]) -> None: ...


class IntegrationKeyStore(ApiKeyStore, Protocol):
    def create(self, key_hash: str, record: dict[str, Any]) -> None:
        """Store a new key and its id pointer together; `Conflict` if either exists."""

    def get(self, key_id: str) -> dict[str, Any] | None: ...

    def list(self, limit: int, next_token: str | None) -> Page[dict[str, Any]]: ...

    def revoke(self, key_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        """Mark revoked (idempotent); `NotFound` for an unknown id. Returns the record."""
