"""In-memory adapters: the unit tests' fakes and the domain benchmarks' ports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

# Re-exported: the tests import the clocks from here.
from omp.adapters.clock import FixedClock as FixedClock
from omp.adapters.clock import SystemClock as SystemClock
from omp.domain.alarms import ALLOWED_FROM, Alarm, AlarmQuery, AlarmStatus, check_transition
from omp.domain.audit import AuditEntry, AuditQuery
from omp.domain.dedup import AlertState, RepeatUpdate, TimelineEntry, apply_repeat
from omp.domain.errors import Conflict, NotFound
from omp.domain.events import DomainEvent
from omp.domain.incidents import Incident, IncidentAlarm, IncidentStatus
from omp.domain.pagination import DEFAULT_LIMIT, Page, decode_token, encode_token
from omp.domain.queries import TimeRange
from omp.domain.timeutil import iso


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
        self.people: dict[str, list[TimelineEntry]] = {}

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
        entry: TimelineEntry | None = None,
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
        if entry is not None:
            self.people.setdefault(alarm_id, []).append(entry)
        return updated

    def people_timeline(self, alarm_id: str) -> list[TimelineEntry] | None:
        if alarm_id not in self.alarms:
            return None
        return list(self.people.get(alarm_id, []))

    def reopen(self, alarm_id: str, changes: dict[str, Any]) -> Alarm:
        """The pipeline's flapping reopen (`AlarmReopener`): resolved -> open, same id."""
        current = self.alarms.get(alarm_id)
        if current is None:
            raise NotFound(f"alarm {alarm_id} does not exist", code="ALARM_NOT_FOUND")
        if current.status is AlarmStatus.OPEN:
            return current
        if current.status is not AlarmStatus.RESOLVED:
            check_transition(alarm_id, current.status, AlarmStatus.OPEN)
        cleared = {"resolved_at": None, "resolved_by": None, "status": AlarmStatus.OPEN}
        updated = Alarm.model_validate(
            {**current.model_dump(), **changes, **cleared, "version": current.version + 1}
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
            "suppressed": query.suppressed,
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


class MemoryAlertStateStore:
    """`AlertStateStore` in memory; `calls` counts store calls (a repeat must cost one)."""

    def __init__(self) -> None:
        self.states: dict[tuple[str, str], AlertState] = {}
        self.entries: dict[str, list[TimelineEntry]] = {}
        self.keyed: dict[str, dict[tuple[datetime, int, str], TimelineEntry]] = {}
        self.calls: list[str] = []

    def get(self, source: str, fingerprint: str) -> AlertState | None:
        self.calls.append("get")
        return self.states.get((source, fingerprint))

    def put(
        self,
        state: AlertState,
        expected_version: int | None,
        timeline: Sequence[TimelineEntry] = (),
    ) -> None:
        self.calls.append("put")
        current = self.states.get(state.key)
        if (current is None) != (expected_version is None) or (
            current is not None and current.version != expected_version
        ):
            raise Conflict(
                f"the state of {state.source}/{state.fingerprint} changed",
                code="VERSION_CONFLICT",
            )
        self.states[state.key] = state
        self._keep(timeline)

    def repeat(self, source: str, fingerprint: str, update: RepeatUpdate) -> bool:
        self.calls.append("repeat")
        current = self.states.get((source, fingerprint))
        if current is None:
            return False
        try:
            self.states[(source, fingerprint)] = apply_repeat(current, update)
        except ValueError:
            return False
        return True

    def append_timeline(self, entries: Sequence[TimelineEntry]) -> None:
        self.calls.append("append_timeline")
        self._keep(entries)

    def _keep(self, entries: Sequence[TimelineEntry]) -> None:
        # Keyed like the DynamoDB items (time, position in the decision, kind): a retry
        # overwrites, never adds.
        for seq, entry in enumerate(entries):
            keyed = self.keyed.setdefault(entry.alarm_id, {})
            keyed[(entry.at, seq, entry.kind)] = entry
            self.entries[entry.alarm_id] = [keyed[k] for k in sorted(keyed)]

    def timeline(
        self,
        alarm_id: str,
        limit: int = DEFAULT_LIMIT,
        next_token: str | None = None,
        people: Sequence[TimelineEntry] = (),
    ) -> Page[TimelineEntry]:
        self.calls.append("timeline")
        # As in DynamoDB: people's entries join by key, and a stored one with the same key wins.
        keyed = {(e.at, 0, e.kind): e for e in people} | self.keyed.get(alarm_id, {})
        chunk, token = _page([keyed[k] for k in sorted(keyed)], limit, next_token)
        return Page(chunk, token)

    def flapping(
        self, limit: int = DEFAULT_LIMIT, next_token: str | None = None
    ) -> Page[AlertState]:
        states = sorted(
            (s for s in self.states.values() if s.flapping), key=lambda s: s.last_change
        )
        chunk, token = _page(states, limit, next_token)
        return Page(chunk, token)


class MemoryIncidentRepository:
    """Summaries and members kept apart, as in DynamoDB (`members[incident_id][alarm_id]`)."""

    def __init__(self) -> None:
        self.incidents: dict[str, Incident] = {}
        self.members: dict[str, dict[str, IncidentAlarm]] = {}

    def get(self, incident_id: str) -> Incident | None:
        return self.incidents.get(incident_id)

    def alarm_ids(self, incident_id: str) -> tuple[str, ...]:
        """Every member's id (tests)."""
        return tuple(sorted(self.members.get(incident_id, {})))

    def put_new(self, incident: Incident, alarms: Sequence[IncidentAlarm]) -> None:
        if incident.id in self.incidents:
            raise Conflict(f"incident {incident.id} already exists", code="INCIDENT_EXISTS")
        self.members.setdefault(incident.id, {}).update({a.alarm_id: a for a in alarms})
        self.incidents[incident.id] = incident

    def _check(self, incident: Incident, expected_version: int) -> None:
        current = self.incidents.get(incident.id)
        if current is None:
            raise NotFound(f"incident {incident.id} does not exist", code="INCIDENT_NOT_FOUND")
        if current.version != expected_version:
            raise Conflict("stale version", code="VERSION_CONFLICT")

    def save(self, incident: Incident, expected_version: int) -> None:
        self._check(incident, expected_version)
        self.incidents[incident.id] = incident

    def add_alarm(self, incident: Incident, expected_version: int, alarm: IncidentAlarm) -> bool:
        if alarm.alarm_id in self.members.get(incident.id, {}):
            return False
        self._check(incident, expected_version)
        self.members.setdefault(incident.id, {})[alarm.alarm_id] = alarm
        self.incidents[incident.id] = incident
        return True

    def update_alarm(
        self,
        incident: Incident,
        expected_version: int,
        alarm: IncidentAlarm,
        holder_id: str | None = None,
    ) -> None:
        holder = self.members.get(holder_id or incident.id, {})
        if alarm.alarm_id not in holder:
            raise Conflict("the member moved", code="CONFLICT")
        self._check(incident, expected_version)
        holder[alarm.alarm_id] = alarm
        self.incidents[incident.id] = incident

    def alarm(self, incident_id: str, alarm_id: str) -> IncidentAlarm | None:
        return self.members.get(incident_id, {}).get(alarm_id)

    def alarms_of(self, incident_id: str, alarm_ids: Sequence[str]) -> dict[str, IncidentAlarm]:
        held = self.members.get(incident_id, {})
        return {a: held[a] for a in alarm_ids if a in held}

    def alarms(
        self, incident_id: str, limit: int = DEFAULT_LIMIT, next_token: str | None = None
    ) -> Page[IncidentAlarm]:
        held = self.members.get(incident_id, {})
        chunk, token = _page([held[k] for k in sorted(held)], limit, next_token)
        return Page(chunk, token)

    def save_all(self, writes: Sequence[tuple[Incident, int | None]]) -> None:
        for incident, expected in writes:
            current = self.incidents.get(incident.id)
            if (current is None) != (expected is None) or (
                current is not None and current.version != expected
            ):
                raise Conflict("a condition in the transaction failed", code="CONFLICT")
        for incident, _ in writes:
            self.incidents[incident.id] = incident

    def split(
        self,
        remaining: Incident,
        expected_version: int,
        new: Incident,
        moving: Sequence[IncidentAlarm],
    ) -> None:
        held = self.members.get(remaining.id, {})
        if new.id in self.incidents or any(a.alarm_id not in held for a in moving):
            raise Conflict("a condition in the transaction failed", code="CONFLICT")
        self._check(remaining, expected_version)
        for a in moving:
            del held[a.alarm_id]
        self.members.setdefault(new.id, {}).update({a.alarm_id: a for a in moving})
        self.incidents[remaining.id] = remaining
        self.incidents[new.id] = new

    def move_alarms(self, source_id: str, target_id: str) -> int:
        moving = self.members.pop(source_id, {})
        self.members.setdefault(target_id, {}).update(moving)
        return len(moving)

    def list(
        self,
        window: TimeRange,
        status: IncidentStatus | None = None,
        limit: int = DEFAULT_LIMIT,
        next_token: str | None = None,
    ) -> Page[Incident]:
        matches = sorted(
            (
                i
                for i in self.incidents.values()
                if window.start <= i.opened_at <= window.end
                and (status is None or i.status is status)
            ),
            key=lambda i: (i.opened_at, i.id),
            reverse=True,
        )
        chunk, token = _page(matches, limit, next_token)
        return Page(chunk, token)
