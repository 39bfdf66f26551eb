"""In-memory adapters: the unit tests' fakes and the domain benchmarks' ports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from omp.domain.alarms import ALLOWED_FROM, Alarm, AlarmQuery, AlarmStatus, check_transition
from omp.domain.audit import AuditEntry, AuditQuery
from omp.domain.errors import Conflict, NotFound
from omp.domain.events import DomainEvent
from omp.domain.pagination import Page, decode_token, encode_token
from omp.domain.timeutil import iso


class FixedClock:
    def __init__(self, start: datetime | None = None) -> None:
        self.current = start or datetime(2026, 1, 1, tzinfo=UTC)

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class MemoryPublisher:
    def __init__(self) -> None:
        self.events: list[DomainEvent] = []

    def publish(self, events: Sequence[DomainEvent]) -> None:
        self.events.extend(events)


def _page(items: list[Any], limit: int, token: str | None) -> tuple[list[Any], str | None]:
    offset = decode_token(token, required_keys=("o",))["o"] if token else 0
    chunk = items[offset : offset + limit]
    more = offset + limit < len(items)
    return chunk, encode_token({"o": offset + limit}) if more else None


class MemoryAlarmRepository:
    def __init__(self) -> None:
        self.alarms: dict[str, Alarm] = {}

    def put_new(self, alarm: Alarm) -> None:
        if alarm.id in self.alarms:
            raise Conflict(f"alarm {alarm.id} already exists", code="ALARM_EXISTS")
        self.alarms[alarm.id] = alarm

    def get(self, alarm_id: str) -> Alarm | None:
        return self.alarms.get(alarm_id)

    def change_status(
        self,
        alarm_id: str,
        target: AlarmStatus,
        changes: dict[str, Any],
        *,
        expected_version: int | None,
    ) -> Alarm:
        current = self.alarms.get(alarm_id)
        if current is None:
            raise NotFound(f"alarm {alarm_id} does not exist", code="ALARM_NOT_FOUND")
        if current.status not in ALLOWED_FROM[target]:
            check_transition(alarm_id, current.status, target)
        if expected_version is not None and expected_version != current.version:
            raise Conflict("stale version", code="VERSION_CONFLICT")
        updated = Alarm.model_validate(
            {**current.model_dump(), **changes, "version": current.version + 1}
        )
        self.alarms[alarm_id] = updated
        return updated

    def list(self, query: AlarmQuery) -> Page[Alarm]:
        lo, hi = iso(query.window.start), iso(query.window.end)
        wanted = {
            "status": query.status,
            "severity": query.severity,
            "source": query.source,
            "resource": query.resource,
            "name": query.name,
        }
        matches = [
            a
            for a in self.alarms.values()
            if lo <= a.triggered_at <= hi
            and all(v is None or getattr(a, k) == v for k, v in wanted.items())
        ]
        matches.sort(key=lambda a: (a.triggered_at, a.id), reverse=True)
        chunk, token = _page(matches, query.limit, query.next_token)
        return Page(chunk, token)


class MemoryAuditLog:
    def __init__(self) -> None:
        self.entries: dict[str, AuditEntry] = {}

    def record(self, entry: AuditEntry) -> bool:
        if entry.event_id in self.entries:
            return False
        self.entries[entry.event_id] = entry
        return True

    def list(self, query: AuditQuery) -> Page[AuditEntry]:
        matches = sorted(self.entries.values(), key=lambda e: e.time, reverse=True)
        chunk, token = _page(matches, query.limit, query.next_token)
        return Page(chunk, token)


class MemoryApiKeyStore:
    def __init__(self) -> None:
        self.keys: dict[str, dict[str, Any]] = {}

    def find(self, key_hash: str) -> dict[str, Any] | None:
        return self.keys.get(key_hash)

    def put(self, key_hash: str, record: dict[str, Any]) -> None:
        self.keys[key_hash] = record

    def create(self, key_hash: str, record: dict[str, Any]) -> None:
        if key_hash in self.keys or self.get(record["id"]) is not None:
            raise Conflict("key exists", code="KEY_EXISTS")
        self.keys[key_hash] = dict(record)

    def get(self, key_id: str) -> dict[str, Any] | None:
        return next((r for r in self.keys.values() if r.get("id") == key_id), None)

    def list(self, limit: int, next_token: str | None) -> Page[dict[str, Any]]:
        records = sorted(
            (r for r in self.keys.values() if "id" in r),
            key=lambda r: (r["created_at"], r["id"]),
            reverse=True,
        )
        chunk, token = _page(records, limit, next_token)
        return Page(chunk, token)

    def revoke(self, key_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        record = self.get(key_id)
        if record is None:
            raise NotFound(f"integration key {key_id} does not exist", code="KEY_NOT_FOUND")
        if not record.get("revoked"):
            record.update(changes)
        return record
