"""Silences, maintenance windows and inhibition rules: the API's use cases and the expiry sweep.

Each takes its ports as arguments. Guardrails are `SilencePolicy` (omp.domain.silences); the
share-of-active check reads the active (open and acknowledged) alarms, only once the request
has passed every check that needs no read.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from omp.domain import inhibition as inhibition_domain
from omp.domain import silences as domain
from omp.domain.alarms import AlarmQuery, AlarmStatus
from omp.domain.errors import NotFound
from omp.domain.events import DomainEvent
from omp.domain.ids import is_id, new_id
from omp.domain.inhibition import InhibitionRuleRecord, InhibitRuleIn
from omp.domain.pagination import MAX_LIMIT, Page
from omp.domain.queries import TimeRange
from omp.domain.silences import (
    CreateMaintenanceWindow,
    CreateSilence,
    MaintenanceWindow,
    SilencePolicy,
    SilenceRecord,
    SilenceState,
)

if TYPE_CHECKING:
    from omp.ports import (
        AlarmRepository,
        Clock,
        EventPublisher,
        InhibitionRuleStore,
        MaintenanceWindowStore,
        SilenceStore,
    )

logger = logging.getLogger("omp.silences")

DEFAULT_ACTIVE_LOOKBACK = timedelta(days=14)
DEFAULT_ACTIVE_CAP = 5000
DEFAULT_WARN_BEFORE = timedelta(minutes=15)
# How far back the sweep looks for silences that ended without a `SilenceExpired` yet.
DEFAULT_ENDED_LOOKBACK = timedelta(days=1)


@dataclass(frozen=True)
class ActiveAlarms:
    """Where the active alarms are read from: open or acknowledged, triggered within
    `lookback`, at most `cap` of them (newest first)."""

    lookback: timedelta = DEFAULT_ACTIVE_LOOKBACK
    cap: int = DEFAULT_ACTIVE_CAP


def active_alarm_labels(
    alarms: AlarmRepository, now: datetime, scope: ActiveAlarms
) -> list[dict[str, str]]:
    """The label sets (`match_labels`) of the active (open, acknowledged) alarms."""
    window = TimeRange(now - scope.lookback, now)
    found: list[dict[str, str]] = []
    for status in (AlarmStatus.OPEN, AlarmStatus.ACKNOWLEDGED):
        token: str | None = None
        while len(found) < scope.cap:
            limit = min(MAX_LIMIT, scope.cap - len(found))
            page = alarms.list(AlarmQuery(window, limit, status=status, next_token=token))
            found.extend(
                domain.match_labels(
                    a.labels, name=a.name, severity=a.severity.value, source=a.source
                )
                for a in page.items
            )
            token = page.next_token
            if not token:
                break
    return found


# ---- silences -------------------------------------------------------------------------------


def _silence_not_found(silence_id: str) -> NotFound:
    return NotFound(f"silence {silence_id} does not exist", code="SILENCE_NOT_FOUND")


def create_silence(
    request: CreateSilence,
    *,
    actor: str,
    policy: SilencePolicy,
    scope: ActiveAlarms,
    store: SilenceStore,
    alarms: AlarmRepository,
    events: EventPublisher,
    clock: Clock,
) -> SilenceRecord:
    now = clock.now()
    silence_id = new_id(domain.ID_PREFIX, int(now.timestamp() * 1000))
    policy.admit(request, silence_id=silence_id, created_by=actor, now=now)  # no read yet
    active = active_alarm_labels(alarms, now, scope)
    silence = policy.admit(
        request, silence_id=silence_id, created_by=actor, now=now, active_alarms=active
    )
    record = SilenceRecord(silence)
    store.put_new(record)
    events.publish([domain.silence_event(domain.SILENCE_CREATED, silence, now, actor)])
    return record


def get_silence(silence_id: str, *, store: SilenceStore) -> SilenceRecord:
    record = store.get(silence_id) if is_id(silence_id, domain.ID_PREFIX) else None
    if record is None:
        raise _silence_not_found(silence_id)
    return record


def list_silences(
    state: SilenceState | None,
    limit: int,
    next_token: str | None,
    *,
    store: SilenceStore,
    clock: Clock,
) -> Page[SilenceRecord]:
    return store.list(state, clock.now(), limit, next_token)


def expire_silence(
    silence_id: str,
    *,
    actor: str,
    store: SilenceStore,
    events: EventPublisher,
    clock: Clock,
) -> SilenceRecord:
    """DELETE: an active silence ends now, a pending one never starts. Expiring an expired
    silence changes nothing (a retried DELETE answers the same silence)."""
    now = clock.now()
    record = get_silence(silence_id, store=store)
    if record.silence.state(now) is SilenceState.EXPIRED:
        return record
    saved = store.save(SilenceRecord(record.silence.expire(now)), record.version)
    _announce(
        store,
        events,
        saved,
        "expiry_announced_at",
        domain.silence_event(domain.SILENCE_EXPIRED, saved.silence, now, actor, reason="deleted"),
        now,
    )
    return saved


def _announce(
    store: SilenceStore,
    events: EventPublisher,
    record: SilenceRecord,
    flag: str,
    event: DomainEvent,
    now: datetime,
) -> bool:
    """Claim `flag` with a conditional write, then publish: one event per silence even with
    overlapping sweeps. A failed publish releases the claim, so the next sweep retries."""
    if not store.mark(record.silence.id, flag, now):
        return False
    try:
        events.publish([event])
    except Exception:
        store.unmark(record.silence.id, flag)
        raise
    return True


def warn_expiring(
    *,
    store: SilenceStore,
    events: EventPublisher,
    clock: Clock,
    warn_before: timedelta = DEFAULT_WARN_BEFORE,
    ended_lookback: timedelta = DEFAULT_ENDED_LOOKBACK,
) -> dict[str, int]:
    """The scheduled sweep: `SilenceExpiring` once per active silence that ends within
    `warn_before`, `SilenceExpired` (reason `ended`) once per silence that ran out."""
    now = clock.now()
    counts = {"expiring": 0, "expired": 0, "seen": 0}
    for record in store.ending_between(now - ended_lookback, now + warn_before):
        counts["seen"] += 1
        silence = record.silence
        state = silence.state(now)
        if state is SilenceState.ACTIVE and record.warned_at is None:
            left = int((silence.ends_at - now).total_seconds())
            event = domain.silence_event(
                domain.SILENCE_EXPIRING, silence, now, "scheduler", expires_in_seconds=left
            )
            counts["expiring"] += _announce(store, events, record, "warned_at", event, now)
        elif state is SilenceState.EXPIRED and record.expiry_announced_at is None:
            event = domain.silence_event(
                domain.SILENCE_EXPIRED, silence, now, "scheduler", reason="ended"
            )
            counts["expired"] += _announce(store, events, record, "expiry_announced_at", event, now)
    return counts


# ---- maintenance windows --------------------------------------------------------------------


def _window_event(detail_type: str, window: MaintenanceWindow, now: datetime, actor: str) -> Any:
    detail = {"maintenance_window": domain.describe_window(window, now), "actor": actor}
    return DomainEvent(source=domain.EVENT_SOURCE, detail_type=detail_type, detail=detail)


def _window_not_found(window_id: str) -> NotFound:
    return NotFound(
        f"maintenance window {window_id} does not exist", code="MAINTENANCE_WINDOW_NOT_FOUND"
    )


def create_window(
    request: CreateMaintenanceWindow,
    *,
    actor: str,
    store: MaintenanceWindowStore,
    events: EventPublisher,
    clock: Clock,
) -> MaintenanceWindow:
    now = clock.now()
    window = request.to_window(
        window_id=new_id(domain.WINDOW_ID_PREFIX, int(now.timestamp() * 1000)),
        created_by=actor,
        created_at=now,
    )
    store.put_new(window)
    events.publish([_window_event("MaintenanceWindowCreated", window, now, actor)])
    return window


def get_window(window_id: str, *, store: MaintenanceWindowStore) -> MaintenanceWindow:
    window = store.get(window_id) if is_id(window_id, domain.WINDOW_ID_PREFIX) else None
    if window is None:
        raise _window_not_found(window_id)
    return window


def delete_window(
    window_id: str,
    *,
    actor: str,
    store: MaintenanceWindowStore,
    events: EventPublisher,
    clock: Clock,
) -> MaintenanceWindow:
    if not is_id(window_id, domain.WINDOW_ID_PREFIX):
        raise _window_not_found(window_id)
    window = store.delete(window_id)
    events.publish([_window_event("MaintenanceWindowDeleted", window, clock.now(), actor)])
    return window


# ---- inhibition rules -----------------------------------------------------------------------


def _rule_event(detail_type: str, record: InhibitionRuleRecord, actor: str) -> DomainEvent:
    detail: Mapping[str, Any] = {"inhibition_rule": record.describe(), "actor": actor}
    return DomainEvent(source=domain.EVENT_SOURCE, detail_type=detail_type, detail=dict(detail))


def create_rule(
    request: InhibitRuleIn,
    *,
    actor: str,
    store: InhibitionRuleStore,
    events: EventPublisher,
    clock: Clock,
) -> InhibitionRuleRecord:
    now = clock.now()
    record = InhibitionRuleRecord(
        id=new_id(inhibition_domain.ID_PREFIX, int(now.timestamp() * 1000)),
        rule=request.to_rule(),
        created_by=actor,
        created_at=now,
    )
    store.put_new(record)
    events.publish([_rule_event("InhibitionRuleCreated", record, actor)])
    return record


def delete_rule(
    rule_id: str, *, actor: str, store: InhibitionRuleStore, events: EventPublisher
) -> InhibitionRuleRecord:
    if not is_id(rule_id, inhibition_domain.ID_PREFIX):
        raise NotFound(
            f"inhibition rule {rule_id} does not exist", code="INHIBITION_RULE_NOT_FOUND"
        )
    record = store.delete(rule_id)
    events.publish([_rule_event("InhibitionRuleDeleted", record, actor)])
    return record
