"""Incidents: alarms correlated into one problem, with a lifecycle and a timeline. Pure: no I/O.

An incident holds its alarms (id, severity, resource, resolved or not); its severity is the
highest of its alarms', its affected resources the union of theirs. Transitions return a new
`Incident` (frozen) with `version + 1` and a timeline entry; a store writes it conditionally on
the previous version. Lifecycle: open -> acknowledged -> resolved, open -> resolved; a merged
incident ends `merged` with `merged_into` pointing at the incident that took its alarms.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from omp.domain.alarms import Severity
from omp.domain.errors import Conflict, NotFound, ValidationFailed
from omp.domain.events import DomainEvent
from omp.domain.timeutil import iso

SOURCE = "omp.monitoring"
ID_PREFIX = "inc"

# Highest first: an incident's severity is the first of these any of its alarms has.
SEVERITY_ORDER: tuple[Severity, ...] = (
    Severity.CRITICAL,
    Severity.MAJOR,
    Severity.MINOR,
    Severity.WARNING,
    Severity.INFO,
)
_RANK = {s: i for i, s in enumerate(SEVERITY_ORDER)}


class IncidentStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"
    MERGED = "merged"  # closed by a merge: `merged_into` names the incident that took its alarms


ACTIVE = frozenset({IncidentStatus.OPEN, IncidentStatus.ACKNOWLEDGED})

ALLOWED_FROM: dict[IncidentStatus, frozenset[IncidentStatus]] = {
    IncidentStatus.ACKNOWLEDGED: frozenset({IncidentStatus.OPEN}),
    IncidentStatus.RESOLVED: frozenset({IncidentStatus.OPEN, IncidentStatus.ACKNOWLEDGED}),
}


@dataclass(frozen=True)
class IncidentPolicy:
    """`auto_resolve`: the incident resolves when its last unresolved alarm resolves."""

    auto_resolve: bool = True


DEFAULT_POLICY = IncidentPolicy()


@dataclass(frozen=True)
class IncidentAlarm:
    alarm_id: str
    severity: Severity
    resource: str | None = None
    name: str = ""
    resolved: bool = False


@dataclass(frozen=True)
class IncidentTimelineEntry:
    at: datetime
    kind: str  # opened | alarm_added | alarm_resolved | acknowledged | resolved | merged | ...
    actor: str
    alarm_id: str | None = None
    note: str = ""


@dataclass(frozen=True)
class Incident:
    id: str
    status: IncidentStatus
    title: str
    group_key: str
    opened_at: datetime
    updated_at: datetime
    alarms: tuple[IncidentAlarm, ...]
    timeline: tuple[IncidentTimelineEntry, ...] = ()
    rule: str = ""
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    merged_into: str | None = None
    version: int = 1

    @property
    def alarm_ids(self) -> tuple[str, ...]:
        return tuple(a.alarm_id for a in self.alarms)

    @property
    def severity(self) -> Severity:
        return min((a.severity for a in self.alarms), key=_RANK.__getitem__, default=Severity.INFO)

    @property
    def affected_resources(self) -> tuple[str, ...]:
        return tuple(sorted({a.resource for a in self.alarms if a.resource}))

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def all_alarms_resolved(self) -> bool:
        return all(a.resolved for a in self.alarms)

    def alarm(self, alarm_id: str) -> IncidentAlarm | None:
        for a in self.alarms:
            if a.alarm_id == alarm_id:
                return a
        return None

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of `GET /v1/incidents/{id}`."""
        return {
            "id": self.id,
            "status": self.status.value,
            "title": self.title,
            "severity": self.severity.value,
            "group_key": self.group_key,
            "rule": self.rule,
            "alarm_ids": list(self.alarm_ids),
            "alarms": [
                {
                    "alarm_id": a.alarm_id,
                    "severity": a.severity.value,
                    "resource": a.resource,
                    "name": a.name,
                    "resolved": a.resolved,
                }
                for a in self.alarms
            ],
            "affected_resources": list(self.affected_resources),
            "opened_at": iso(self.opened_at),
            "updated_at": iso(self.updated_at),
            "acknowledged_at": iso(self.acknowledged_at) if self.acknowledged_at else None,
            "acknowledged_by": self.acknowledged_by,
            "resolved_at": iso(self.resolved_at) if self.resolved_at else None,
            "resolved_by": self.resolved_by,
            "merged_into": self.merged_into,
            "version": self.version,
            "timeline": [
                {
                    "at": iso(e.at),
                    "kind": e.kind,
                    "actor": e.actor,
                    "alarm_id": e.alarm_id,
                    "note": e.note,
                }
                for e in self.timeline
            ],
        }


def _step(
    incident: Incident,
    entry: IncidentTimelineEntry,
    **changes: Any,
) -> Incident:
    return replace(
        incident,
        updated_at=entry.at,
        timeline=(*incident.timeline, entry),
        version=incident.version + 1,
        **changes,
    )


def _title(alarms: tuple[IncidentAlarm, ...]) -> str:
    first = alarms[0].name or alarms[0].alarm_id
    more = len(alarms) - 1
    return first if more == 0 else f"{first} and {more} more"


def open_incident(
    *,
    incident_id: str,
    group_key: str,
    alarms: tuple[IncidentAlarm, ...],
    now: datetime,
    rule: str = "",
    title: str | None = None,
    actor: str = "correlation",
) -> Incident:
    if not alarms:
        raise ValidationFailed("an incident needs at least one alarm")
    if len({a.alarm_id for a in alarms}) != len(alarms):
        raise ValidationFailed("an alarm appears twice")
    return Incident(
        id=incident_id,
        status=IncidentStatus.OPEN,
        title=title or _title(alarms),
        group_key=group_key,
        opened_at=now,
        updated_at=now,
        alarms=alarms,
        rule=rule,
        timeline=(
            IncidentTimelineEntry(
                at=now,
                kind="opened",
                actor=actor,
                note=f"{len(alarms)} alarm(s), rule {rule or '-'}, group {group_key}",
            ),
        ),
    )


def _require_active(incident: Incident, doing: str) -> None:
    if not incident.active:
        raise Conflict(
            f"incident {incident.id} is resolved; it cannot {doing}",
            code="INVALID_TRANSITION",
            details={"status": incident.status.value, "requested": doing},
        )


def add_alarm(
    incident: Incident, alarm: IncidentAlarm, now: datetime, actor: str = "correlation"
) -> Incident:
    """An alarm joins (an acknowledged incident stays acknowledged). Adding one already there
    is a no-op (redelivery)."""
    if incident.alarm(alarm.alarm_id) is not None:
        return incident
    _require_active(incident, "take alarms")
    entry = IncidentTimelineEntry(at=now, kind="alarm_added", actor=actor, alarm_id=alarm.alarm_id)
    return _step(incident, entry, alarms=(*incident.alarms, alarm))


def _set_resolved(incident: Incident, alarm_id: str, resolved: bool) -> tuple[IncidentAlarm, ...]:
    if incident.alarm(alarm_id) is None:
        raise NotFound(
            f"alarm {alarm_id} is not in incident {incident.id}", code="ALARM_NOT_IN_INCIDENT"
        )
    return tuple(
        replace(a, resolved=resolved) if a.alarm_id == alarm_id else a for a in incident.alarms
    )


def alarm_resolved(
    incident: Incident,
    alarm_id: str,
    now: datetime,
    policy: IncidentPolicy | None = None,
    actor: str = "dedup",
) -> Incident:
    """One of its alarms resolved; with `auto_resolve` the last one resolves the incident."""
    policy = policy or DEFAULT_POLICY
    current = incident.alarm(alarm_id)
    if current is not None and current.resolved:
        return incident
    alarms = _set_resolved(incident, alarm_id, True)
    entry = IncidentTimelineEntry(at=now, kind="alarm_resolved", actor=actor, alarm_id=alarm_id)
    updated = _step(incident, entry, alarms=alarms)
    if policy.auto_resolve and updated.active and updated.all_alarms_resolved:
        return resolve(updated, now, actor="auto", comment="all alarms resolved")
    return updated


def alarm_reopened(
    incident: Incident, alarm_id: str, now: datetime, actor: str = "dedup"
) -> Incident:
    """A flapping alarm fired again (same alarm id). On an active incident it counts as
    unresolved again; a resolved incident is not reopened (correlate the alarm anew)."""
    _require_active(incident, "reopen an alarm")
    current = incident.alarm(alarm_id)
    if current is not None and not current.resolved:
        return incident
    alarms = _set_resolved(incident, alarm_id, False)
    entry = IncidentTimelineEntry(at=now, kind="alarm_reopened", actor=actor, alarm_id=alarm_id)
    return _step(incident, entry, alarms=alarms)


def acknowledge(
    incident: Incident, now: datetime, actor: str, comment: str | None = None
) -> Incident:
    _check(incident, IncidentStatus.ACKNOWLEDGED)
    entry = IncidentTimelineEntry(at=now, kind="acknowledged", actor=actor, note=comment or "")
    return _step(
        incident,
        entry,
        status=IncidentStatus.ACKNOWLEDGED,
        acknowledged_at=now,
        acknowledged_by=actor,
    )


def resolve(incident: Incident, now: datetime, actor: str, comment: str | None = None) -> Incident:
    _check(incident, IncidentStatus.RESOLVED)
    entry = IncidentTimelineEntry(at=now, kind="resolved", actor=actor, note=comment or "")
    return _step(
        incident, entry, status=IncidentStatus.RESOLVED, resolved_at=now, resolved_by=actor
    )


def _check(incident: Incident, target: IncidentStatus) -> None:
    if incident.status not in ALLOWED_FROM[target]:
        raise Conflict(
            f"incident {incident.id} is {incident.status.value}; it cannot become {target.value}",
            code="INVALID_TRANSITION",
            details={"status": incident.status.value, "requested": target.value},
        )


def _require_mergeable(incident: Incident, doing: str) -> None:
    if not incident.active:
        raise ValidationFailed(
            f"incident {incident.id} is {incident.status.value}; it cannot {doing}",
            code="INCIDENT_NOT_ACTIVE",
            details={"incident_id": incident.id, "status": incident.status.value},
        )


def merge(
    target: Incident, source: Incident, now: datetime, actor: str
) -> tuple[Incident, Incident]:
    """`source`'s alarms move into `target`; `source` ends `merged` with `merged_into`.
    Returns (target, source) after the merge; a store writes both conditionally. Merging an
    incident into itself, or a resolved or merged one (either side), is refused (422)."""
    if target.id == source.id:
        raise ValidationFailed(
            f"incident {target.id} cannot be merged into itself", code="MERGE_INTO_SELF"
        )
    _require_mergeable(target, "take a merge")
    _require_mergeable(source, "be merged")
    have = set(target.alarm_ids)
    moved = tuple(a for a in source.alarms if a.alarm_id not in have)
    merged_target = _step(
        target,
        IncidentTimelineEntry(
            at=now, kind="merged", actor=actor, note=f"{len(moved)} alarm(s) from {source.id}"
        ),
        alarms=(*target.alarms, *moved),
    )
    closed_source = _step(
        source,
        IncidentTimelineEntry(at=now, kind="merged_into", actor=actor, note=target.id),
        status=IncidentStatus.MERGED,
        resolved_at=now,
        resolved_by=actor,
        merged_into=target.id,
    )
    return merged_target, closed_source


def split_group_key(new_incident_id: str) -> str:
    """The correlation group key of an incident made by a split (one group per such incident,
    so the alert pipeline finds it from its alarms like any other)."""
    return f"split|{new_incident_id}"


def split(
    incident: Incident,
    alarm_ids: str | tuple[str, ...],
    *,
    new_incident_id: str,
    now: datetime,
    actor: str,
    policy: IncidentPolicy | None = None,
) -> tuple[Incident, Incident]:
    """Take alarms out into a new incident of their own. Returns (remaining, new). Not every
    alarm can be split out (the incident would be empty); an alarm named twice counts once.
    With `auto_resolve`, a side left with only resolved alarms resolves."""
    policy = policy or DEFAULT_POLICY
    wanted = (alarm_ids,) if isinstance(alarm_ids, str) else tuple(dict.fromkeys(alarm_ids))
    if not wanted:
        raise ValidationFailed("name at least one alarm to split out")
    _require_active(incident, "split")
    moving = []
    for alarm_id in wanted:
        alarm = incident.alarm(alarm_id)
        if alarm is None:
            raise NotFound(
                f"alarm {alarm_id} is not in incident {incident.id}",
                code="ALARM_NOT_IN_INCIDENT",
                details={"alarm_id": alarm_id},
            )
        moving.append(alarm)
    if len(moving) == len(incident.alarms):
        raise Conflict(
            f"splitting out every alarm of incident {incident.id} would leave it empty",
            code="INVALID_TRANSITION",
            details={"status": incident.status.value, "requested": "split"},
        )
    remaining = incident
    for alarm in moving:
        remaining = _step(
            remaining,
            IncidentTimelineEntry(
                at=now,
                kind="alarm_split",
                actor=actor,
                alarm_id=alarm.alarm_id,
                note=new_incident_id,
            ),
            alarms=tuple(a for a in remaining.alarms if a.alarm_id != alarm.alarm_id),
        )
    remaining = replace(remaining, version=incident.version + 1)  # one write
    if policy.auto_resolve and remaining.all_alarms_resolved:
        remaining = resolve(remaining, now, actor="auto", comment="all alarms resolved")
    new = open_incident(
        incident_id=new_incident_id,
        group_key=split_group_key(new_incident_id),
        alarms=tuple(moving),
        now=now,
        rule="split",
        actor=actor,
    )
    if policy.auto_resolve and new.all_alarms_resolved:
        new = resolve(new, now, actor="auto", comment="all alarms resolved")
    return remaining, new


def split_from(incident: Incident, alarm_ids: tuple[str, ...]) -> str | None:
    """The incident an earlier split of `alarm_ids` out of `incident` made (its timeline's
    `alarm_split` entries name it), or None: a retried split is answered, not refused."""
    if not alarm_ids or set(incident.alarm_ids) & set(alarm_ids):
        return None
    made = {e.alarm_id: e.note for e in incident.timeline if e.kind == "alarm_split"}
    targets = {made.get(a) for a in alarm_ids}
    return targets.pop() if len(targets) == 1 and None not in targets else None


EVENT_OPENED = "IncidentOpened"
EVENT_UPDATED = "IncidentUpdated"
EVENT_RESOLVED = "IncidentResolved"


def event_for(before: Incident | None, after: Incident, actor: str) -> DomainEvent:
    """`IncidentOpened` for a new incident, `IncidentResolved` when it became resolved,
    `IncidentUpdated` otherwise."""
    if before is None:
        kind = EVENT_OPENED
    elif before.active and not after.active:
        kind = EVENT_RESOLVED
    else:
        kind = EVENT_UPDATED
    resources = [r for r in after.affected_resources if r.startswith("arn:")]
    return DomainEvent(
        source=SOURCE,
        detail_type=kind,
        detail={"incident": after.to_dict(), "actor": actor},
        resources=resources,
    )
