"""Alarm use cases. Each takes its ports as arguments and does one store write at most."""

from __future__ import annotations

from typing import TYPE_CHECKING

from omp.domain import alarms as domain
from omp.domain.alarms import Alarm, AlarmStatus, CreateAlarm
from omp.domain.errors import NotFound
from omp.domain.ids import is_id, new_id
from omp.domain.pagination import Page

if TYPE_CHECKING:  # ports are types only: importing them would load every model
    from omp.domain.alarms import AlarmQuery
    from omp.ports import AlarmRepository, Clock, EventPublisher


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
) -> Alarm:
    """Acknowledge or resolve: one conditional write, then the event."""
    if not is_id(alarm_id, domain.ID_PREFIX):
        raise _not_found(alarm_id)
    changes = domain.transition_changes(target, now=clock.now(), actor=actor, comment=comment)
    alarm = repo.change_status(alarm_id, target, changes, expected_version=expected_version)
    events.publish([domain.event_for(alarm, actor)])
    return alarm
