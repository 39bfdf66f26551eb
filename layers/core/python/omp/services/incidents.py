"""Incident use cases for people: read, acknowledge, resolve. (The alert pipeline opens,
grows and auto-resolves incidents: omp.services.pipeline.)"""

from __future__ import annotations

from typing import TYPE_CHECKING

from omp.domain import incidents as domain
from omp.domain.errors import Conflict, NotFound
from omp.domain.ids import is_id
from omp.domain.incidents import Incident, IncidentStatus
from omp.domain.pagination import Page
from omp.domain.queries import TimeRange

if TYPE_CHECKING:  # ports are types only
    from omp.ports import Clock, EventPublisher, IncidentRepository


def _not_found(incident_id: str) -> NotFound:
    return NotFound(f"incident {incident_id} does not exist", code="INCIDENT_NOT_FOUND")


def get_incident(incident_id: str, *, repo: IncidentRepository) -> Incident:
    incident = repo.get(incident_id) if is_id(incident_id, domain.ID_PREFIX) else None
    if incident is None:
        raise _not_found(incident_id)
    return incident


def list_incidents(
    window: TimeRange,
    status: IncidentStatus | None,
    limit: int,
    next_token: str | None,
    *,
    repo: IncidentRepository,
) -> Page[Incident]:
    return repo.list(window, status, limit, next_token)


def change_status(
    incident_id: str,
    target: IncidentStatus,
    *,
    actor: str,
    comment: str | None,
    expected_version: int | None,
    repo: IncidentRepository,
    events: EventPublisher,
    clock: Clock,
) -> Incident:
    """Read, apply the domain transition, one conditional write on the version read, event."""
    before = get_incident(incident_id, repo=repo)
    if expected_version is not None and expected_version != before.version:
        raise Conflict(
            f"incident {incident_id} is at version {before.version}, not {expected_version}",
            code="VERSION_CONFLICT",
            details={"version": before.version},
        )
    move = domain.acknowledge if target is IncidentStatus.ACKNOWLEDGED else domain.resolve
    after = move(before, clock.now(), actor, comment)
    repo.save(after, before.version)
    events.publish([domain.event_for(before, after, actor)])
    return after
