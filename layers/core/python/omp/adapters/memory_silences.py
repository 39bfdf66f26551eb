"""In-memory silence, maintenance-window and inhibition-rule stores: the unit tests' fakes.

They follow the DynamoDB stores' contracts (`omp.ports`), orderings included; `reads` counts
the loads the alert consumer makes (at most one of each per batch)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from omp.adapters.memory import _page
from omp.domain.errors import Conflict, NotFound
from omp.domain.inhibition import InhibitionRuleRecord
from omp.domain.pagination import DEFAULT_LIMIT, Page
from omp.domain.silences import MaintenanceWindow, Silence, SilenceRecord, SilenceState

FLAGS = ("warned_at", "expiry_announced_at")


def _with_flag(record: SilenceRecord, flag: str, at: datetime | None) -> SilenceRecord:
    if flag == "warned_at":
        return replace(record, warned_at=at)
    return replace(record, expiry_announced_at=at)


class MemorySilenceStore:
    def __init__(self) -> None:
        self.records: dict[str, SilenceRecord] = {}
        self.reads = 0

    def put_new(self, record: SilenceRecord) -> None:
        if record.silence.id in self.records:
            raise Conflict(f"silence {record.silence.id} already exists", code="SILENCE_EXISTS")
        self.records[record.silence.id] = record

    def get(self, silence_id: str) -> SilenceRecord | None:
        return self.records.get(silence_id)

    def save(self, record: SilenceRecord, expected_version: int) -> SilenceRecord:
        current = self.records.get(record.silence.id)
        if current is None:
            raise NotFound(f"silence {record.silence.id} does not exist", code="SILENCE_NOT_FOUND")
        if current.version != expected_version:
            raise Conflict("stale version", code="VERSION_CONFLICT")
        saved = replace(current, silence=record.silence, version=current.version + 1)
        self.records[record.silence.id] = saved
        return saved

    def unexpired(self, now: datetime) -> list[Silence]:
        self.reads += 1
        return [r.silence for r in self.records.values() if r.silence.ends_at >= now]

    def ending_between(self, start: datetime, end: datetime) -> list[SilenceRecord]:
        found = [r for r in self.records.values() if start <= r.silence.ends_at <= end]
        return sorted(found, key=lambda r: (r.silence.ends_at, r.silence.id))

    def mark(self, silence_id: str, flag: str, at: datetime) -> bool:
        if flag not in FLAGS:
            raise ValueError(f"not a silence flag: {flag}")
        current = self.records.get(silence_id)
        if current is None or getattr(current, flag) is not None:
            return False
        self.records[silence_id] = _with_flag(current, flag, at)
        return True

    def unmark(self, silence_id: str, flag: str) -> None:
        if flag not in FLAGS:
            raise ValueError(f"not a silence flag: {flag}")
        current = self.records.get(silence_id)
        if current is not None:
            self.records[silence_id] = _with_flag(current, flag, None)

    def list(
        self,
        state: SilenceState | None,
        now: datetime,
        limit: int = DEFAULT_LIMIT,
        next_token: str | None = None,
    ) -> Page[SilenceRecord]:
        found = sorted(
            (r for r in self.records.values() if state is None or r.silence.state(now) is state),
            key=lambda r: (r.silence.ends_at, r.silence.id),
            reverse=True,
        )
        chunk, token = _page(found, limit, next_token)
        return Page(chunk, token)


class MemoryMaintenanceWindowStore:
    def __init__(self) -> None:
        self.windows: dict[str, MaintenanceWindow] = {}
        self.reads = 0

    def put_new(self, window: MaintenanceWindow) -> None:
        if window.id in self.windows:
            raise Conflict(f"window {window.id} exists", code="MAINTENANCE_WINDOW_EXISTS")
        self.windows[window.id] = window

    def get(self, window_id: str) -> MaintenanceWindow | None:
        return self.windows.get(window_id)

    def delete(self, window_id: str) -> MaintenanceWindow:
        if window_id not in self.windows:
            raise NotFound(
                f"maintenance window {window_id} does not exist",
                code="MAINTENANCE_WINDOW_NOT_FOUND",
            )
        return self.windows.pop(window_id)

    def all(self) -> list[MaintenanceWindow]:
        self.reads += 1
        return list(self.windows.values())

    def list(
        self, limit: int = DEFAULT_LIMIT, next_token: str | None = None
    ) -> Page[MaintenanceWindow]:
        ordered = sorted(self.windows.values(), key=lambda w: (w.created_at, w.id), reverse=True)
        chunk, token = _page(ordered, limit, next_token)
        return Page(chunk, token)


class MemoryInhibitionRuleStore:
    def __init__(self) -> None:
        self.rules: dict[str, InhibitionRuleRecord] = {}
        self.reads = 0

    def put_new(self, record: InhibitionRuleRecord) -> None:
        if record.id in self.rules:
            raise Conflict(f"inhibition rule {record.id} exists", code="INHIBITION_RULE_EXISTS")
        self.rules[record.id] = record

    def get(self, rule_id: str) -> InhibitionRuleRecord | None:
        return self.rules.get(rule_id)

    def delete(self, rule_id: str) -> InhibitionRuleRecord:
        if rule_id not in self.rules:
            raise NotFound(
                f"inhibition rule {rule_id} does not exist", code="INHIBITION_RULE_NOT_FOUND"
            )
        return self.rules.pop(rule_id)

    def _ordered(self) -> list[InhibitionRuleRecord]:
        return sorted(self.rules.values(), key=lambda r: (r.created_at, r.id))

    def all(self) -> list[InhibitionRuleRecord]:
        self.reads += 1
        return self._ordered()

    def list(
        self, limit: int = DEFAULT_LIMIT, next_token: str | None = None
    ) -> Page[InhibitionRuleRecord]:
        chunk, token = _page(self._ordered(), limit, next_token)
        return Page(chunk, token)
