"""Incident use cases for people: read, acknowledge, resolve, merge, split. (The alert
pipeline opens, grows and auto-resolves incidents: omp.services.pipeline.)

Merge and split keep the pipeline able to find each moved alarm's incident: it goes from an
alarm's last `correlated` timeline entry to a correlation group, and from the group to the
incident. A merge points the merged incidents' groups at the target; a split makes a group for
the new incident and appends a `correlated` entry to each moved alarm's timeline. The incidents
are written first, in one transaction (the commit point); the group and timeline writes after
it are idempotent, and a retried merge or split does them again.

Members are items of their own (docs/noise-reduction.md, "Storage"). A merge commits the
summaries only (the target takes the merged incidents' counters, each merged one ends `merged`)
and then relocates the member items in chunks (`IncidentRepository.move_alarms`), so merging
two incidents of thousands of alarms never needs one giant transaction; a retried merge
finishes a move a crash cut short. A split moves at most `MAX_SPLIT` alarms in one
transaction."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from omp.domain import incidents as domain
from omp.domain.dedup import AlertStatus, TimelineEntry, stable_id
from omp.domain.errors import Conflict, NotFound, ValidationFailed
from omp.domain.events import DomainEvent
from omp.domain.ids import is_id
from omp.domain.incidents import Incident, IncidentPolicy, IncidentStatus
from omp.domain.pagination import Page
from omp.domain.queries import TimeRange

if TYPE_CHECKING:  # ports are types only
    from omp.ports import (
        AlertStateStore,
        Clock,
        CorrelationGroupStore,
        EventPublisher,
        IncidentRepository,
    )

CORRELATED = "correlated"  # omp.services.pipeline.CORRELATED (not imported: a heavy module)


def _not_found(incident_id: str) -> NotFound:
    return NotFound(f"incident {incident_id} does not exist", code="INCIDENT_NOT_FOUND")


def incident_alarms(
    incident_id: str, limit: int, next_token: str | None, *, repo: IncidentRepository
) -> Page[domain.IncidentAlarm]:
    """A page of the incident's alarms, by alarm id."""
    return repo.alarms(incident_id, limit, next_token)


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
    if target is IncidentStatus.MERGED:
        raise ValidationFailed("merge with POST /v1/incidents/{id}/merge")
    move = domain.acknowledge if target is IncidentStatus.ACKNOWLEDGED else domain.resolve
    after = move(before, clock.now(), actor, comment)
    repo.save(after, before.version)
    events.publish([domain.event_for(before, after, actor)])
    return after


def _check_version(incident: Incident, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != incident.version:
        raise Conflict(
            f"incident {incident.id} is at version {incident.version}, not {expected_version}",
            code="VERSION_CONFLICT",
            details={"version": incident.version},
        )


def _save_together(repo: IncidentRepository, writes: list[tuple[Incident, int | None]]) -> None:
    try:
        repo.save_all(writes)
    except Conflict as exc:
        raise Conflict(
            "an incident changed while it was being merged or split; read it and retry",
            code="VERSION_CONFLICT",
        ) from exc


def merge(
    target_id: str,
    source_ids: list[str],
    *,
    actor: str,
    expected_version: int | None,
    repo: IncidentRepository,
    groups: CorrelationGroupStore,
    events: EventPublisher,
    clock: Clock,
) -> tuple[Incident, list[Incident]]:
    """Merge `source_ids` into `target_id`: their alarms move to the target, and each ends
    `merged` with `merged_into`. Returns (target, merged sources). Idempotent: a source
    already merged into this target is left as it is (and its group re-pointed again), so a
    retry answers the same. 404 for an unknown id; 422 for the target itself among the
    sources or an incident that is resolved or merged elsewhere; 409 on a version conflict
    (`expected_version` is the target's)."""
    wanted = list(dict.fromkeys(source_ids))
    if target_id in wanted:
        raise ValidationFailed(
            f"incident {target_id} cannot be merged into itself", code="MERGE_INTO_SELF"
        )
    target = get_incident(target_id, repo=repo)
    sources = [get_incident(i, repo=repo) for i in wanted]
    _check_version(target, expected_version)
    done = [s for s in sources if s.status is IncidentStatus.MERGED and s.merged_into == target.id]
    todo = [s for s in sources if s not in done]
    now = clock.now()
    after, closed = target, []
    for source in todo:
        after, merged_source = domain.merge(after, source, now, actor)
        closed.append(merged_source)
    if todo:
        writes: list[tuple[Incident, int | None]] = [(after, target.version)]
        writes += [(c, s.version) for c, s in zip(closed, todo, strict=True)]
        _save_together(repo, writes)
    for source in [*done, *closed]:
        repo.move_alarms(source.id, target.id)  # chunked; a retry finishes it
        _repoint_group(groups, source, target.id)
    if todo:
        published: list[DomainEvent] = [domain.event_for(target, after, actor)]
        published += [domain.event_for(s, c, actor) for s, c in zip(todo, closed, strict=True)]
        events.publish(published)
    return after, [*done, *closed]


def _repoint_group(groups: CorrelationGroupStore, source: Incident, target_id: str) -> None:
    """The merged incident's group now names the target: its alarms' later resolves, and new
    alarms of the same group, go to the target."""
    group = groups.group(source.group_key)
    if group is not None and group.incident_id == source.id and not group.closed:
        groups.save(replace(group, incident_id=target_id), ())  # its resources are indexed


def split(
    incident_id: str,
    alarm_ids: list[str],
    *,
    actor: str,
    expected_version: int | None,
    repo: IncidentRepository,
    groups: CorrelationGroupStore,
    states: AlertStateStore,
    events: EventPublisher,
    clock: Clock,
    policy: IncidentPolicy | None = None,
) -> tuple[Incident, Incident, bool]:
    """Move `alarm_ids` out of the incident into a new one. Returns (remaining, new, created):
    `created` is False when an earlier split already did exactly this (a retry). 404 for an
    unknown incident or an alarm not in it; 409 when every alarm would leave, on a resolved
    incident, or on a version conflict."""
    wanted = tuple(dict.fromkeys(alarm_ids))
    if len(wanted) > domain.MAX_SPLIT:
        raise ValidationFailed(f"at most {domain.MAX_SPLIT} alarms leave in one split")
    before = get_incident(incident_id, repo=repo)
    members = repo.alarms_of(before.id, wanted)
    missing = [a for a in wanted if a not in members]
    if missing:
        made = _earlier_split(before, wanted, repo)
        if made is not None:
            moved = tuple(repo.alarms_of(made.id, wanted).values())
            _link_split(made, moved, groups, states, actor)
            return before, made, False
        raise domain.not_in(before, missing[0])
    _check_version(before, expected_version)
    now = clock.now()
    new_id = stable_id(
        domain.ID_PREFIX, now, "split", before.id, str(before.version), *sorted(wanted)
    )
    moving = tuple(members[a] for a in wanted)
    remaining, new = domain.split(
        before, moving, new_incident_id=new_id, now=now, actor=actor, policy=policy
    )
    try:
        repo.split(remaining, before.version, new, moving)
    except Conflict as exc:
        raise Conflict(
            "an incident changed while it was being merged or split; read it and retry",
            code="VERSION_CONFLICT",
        ) from exc
    _link_split(new, moving, groups, states, actor)
    if before.active and not remaining.active:
        group = groups.group(remaining.group_key)
        if group is not None and group.incident_id == remaining.id and not group.closed:
            groups.save(replace(group, closed=True))
    events.publish(
        [
            domain.event_for(before, remaining, actor),
            domain.event_for(None, new, actor, moving),
        ]
    )
    return remaining, new, True


def _earlier_split(
    incident: Incident, wanted: tuple[str, ...], repo: IncidentRepository
) -> Incident | None:
    """The incident an earlier split of exactly `wanted` out of `incident` made (one its
    `split` timeline entries name that holds them all), or None: a retried split is answered,
    not refused."""
    for made_id in domain.splits_made(incident):
        if len(repo.alarms_of(made_id, wanted)) == len(wanted):
            return repo.get(made_id)
    return None


def _link_split(
    new: Incident,
    moved: tuple[domain.IncidentAlarm, ...],
    groups: CorrelationGroupStore,
    states: AlertStateStore,
    actor: str,
) -> None:
    """The new incident's correlation group and each moved alarm's `correlated` entry (both
    derived from the incident: writing them again changes nothing)."""
    from omp.analytics.correlation import Group

    key = domain.split_group_key(new.id)
    # On a retry the group may exist, grown or closed by the pipeline since: leave it.
    if groups.group(key) is None:
        groups.save(
            Group(
                key=key,
                rule="split",
                first_at=new.opened_at,
                last_at=new.opened_at,
                size=new.alarm_count,
                resources=frozenset(new.affected_resources),
                incident_id=new.id,
                closed=not new.active,
                resources_truncated=new.resources_truncated,
            )
        )  # indexed by those resources (the incident's first 20)
    states.append_timeline([_moved_entry(a, new.opened_at, key, actor) for a in moved])


def _moved_entry(
    alarm: domain.IncidentAlarm, at: datetime, group_key: str, actor: str
) -> TimelineEntry:
    return TimelineEntry(
        alarm_id=alarm.alarm_id,
        at=at,
        recorded_at=at,
        kind=CORRELATED,
        status=AlertStatus.RESOLVED if alarm.resolved else AlertStatus.OPEN,
        occurrences=0,  # not known here: the split does not read the dedup state
        note=group_key,
        actor=actor,
    )
