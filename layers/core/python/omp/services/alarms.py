"""Alarm use cases. Each takes its ports as arguments and does one store write at most."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from omp.domain import alarms as domain
from omp.domain import dedup
from omp.domain.alarms import Alarm, AlarmStatus, CreateAlarm
from omp.domain.errors import Conflict, NotFound, TransientError
from omp.domain.ids import is_id, new_id
from omp.domain.pagination import Page

if TYPE_CHECKING:  # ports are types only: importing them would load every model
    from omp.domain.alarms import AlarmQuery
    from omp.domain.dedup import TimelineEntry
    from omp.ports import AlarmRepository, AlertStateStore, Clock, EventPublisher

logger = logging.getLogger("omp.alarms")

STATE_ATTEMPTS = 3  # a racing source message bumps the state's version; re-read and retry


def _not_found(alarm_id: str) -> NotFound:
    return NotFound(f"alarm {alarm_id} does not exist", code="ALARM_NOT_FOUND")


def create_alarm(
    request: CreateAlarm,
    *,
    actor: str,
    repo: AlarmRepository,
    events: EventPublisher,
    clock: Clock,
) -> Alarm:
    now = clock.now()
    # The id's time is the trigger time, so a store can find the alarm's day partition from
    # the id alone (no read before a conditional update).
    triggered = request.triggered_at or now
    alarm_id = new_id(domain.ID_PREFIX, int(triggered.timestamp() * 1000))
    alarm = domain.new_alarm(request, alarm_id=alarm_id, now=now, actor=actor)
    repo.put_new(alarm)
    events.publish([domain.event_for(alarm, actor)])
    return alarm


def get_alarm(alarm_id: str, *, repo: AlarmRepository) -> Alarm:
    alarm = repo.get(alarm_id) if is_id(alarm_id, domain.ID_PREFIX) else None
    if alarm is None:
        raise _not_found(alarm_id)
    return alarm


def list_alarms(query: AlarmQuery, *, repo: AlarmRepository) -> Page[Alarm]:
    return repo.list(query)


def change_status(
    alarm_id: str,
    target: AlarmStatus,
    *,
    actor: str,
    comment: str | None,
    expected_version: int | None,
    repo: AlarmRepository,
    events: EventPublisher,
    clock: Clock,
    states: AlertStateStore | None = None,
) -> Alarm:
    """Acknowledge or resolve: one conditional write, which also puts the change on the
    alarm's timeline, then the event. That write decides: a retry of the request finds the
    alarm already changed (409) rather than writing twice. With `states`, an alarm from a
    source also moves its dedup state (`dedup.by_person`), best effort after that write."""
    if not is_id(alarm_id, domain.ID_PREFIX):
        raise _not_found(alarm_id)
    now = clock.now()
    changes = domain.transition_changes(target, now=now, actor=actor, comment=comment)
    entry = dedup.person_entry(alarm_id, dedup.AlertStatus(target.value), now, actor, comment)
    alarm = repo.change_status(
        alarm_id, target, changes, expected_version=expected_version, entry=entry
    )
    if states is not None and alarm.fingerprint:
        try:
            _follow_in_dedup(alarm, alarm.fingerprint, now, actor, comment, states)
        except TransientError:
            # The change is made and on the timeline: answering 503 now would only make the
            # client's retry a 409 and lose the event. The state catches up with the source's
            # next resolve; until then a new firing counts as a repeat of this alarm.
            logger.exception("alarm %s: the dedup state did not follow the person", alarm.id)
    events.publish([domain.event_for(alarm, actor)])
    return alarm


def _follow_in_dedup(
    alarm: Alarm,
    fingerprint: str,
    now: datetime,
    actor: str,
    comment: str | None,
    states: AlertStateStore,
) -> None:
    """The dedup state follows the person. The timeline entry is on the alarm already; it is
    written again, in the same key, only to add the source's occurrence count to it."""
    status = dedup.AlertStatus(alarm.status.value)
    for _ in range(STATE_ATTEMPTS):
        state = states.get(alarm.source, fingerprint)
        changed, entry = dedup.by_person(state, alarm.id, status, now, actor, comment)
        counted = [entry] if entry.occurrences else []
        if changed is None or state is None:
            if counted:
                states.append_timeline(counted)
            return
        try:
            states.put(changed, state.version, counted)
        except Conflict:
            continue  # a source message landed in between: judge again on the new state
        return
    logger.warning("alarm %s: the dedup state kept changing; left as it is", alarm.id)


def alarm_timeline(
    alarm_id: str,
    limit: int,
    next_token: str | None,
    *,
    repo: AlarmRepository,
    states: AlertStateStore,
) -> Page[TimelineEntry]:
    """Every state change of an alarm, oldest first: the pipeline's (created, resolved,
    reopened, flapping, correlated) and people's (acknowledged, resolved through the API)."""
    people = repo.people_timeline(alarm_id) if is_id(alarm_id, domain.ID_PREFIX) else None
    if people is None:
        raise _not_found(alarm_id)
    return states.timeline(alarm_id, limit=limit, next_token=next_token, people=people)
