"""Incidents: alarms correlated into one problem, with a lifecycle and a timeline. Pure: no I/O.

An incident is a summary (status, counters, a bounded resource tally, a bounded timeline) and
members (`IncidentAlarm`: id, severity, resource, resolved or not), which a store keeps as items
of their own so an incident can take any number of alarms. Its severity is the highest of its
members', its affected resources theirs (up to MAX_RESOURCES). Transitions return a new
`Incident` (frozen) with `version + 1`; a store writes it conditionally on the previous version,
with the member items the transition concerns. Lifecycle: open -> acknowledged -> resolved,
open -> resolved; a merged incident ends `merged` with `merged_into` pointing at the incident
that took its alarms.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
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


MAX_RESOURCES = 20  # affected resources tracked on the incident item (see Incident.resources)
MAX_TIMELINE = 50  # incident-level timeline entries kept: the first and the latest
MAX_EVENT_ALARMS = 20  # alarm ids an incident event names
MAX_SPLIT = 48  # alarms one split moves: 2 + 2 x 48 items in one DynamoDB transaction (100)


@dataclass(frozen=True)
class IncidentAlarm:
    """A member of an incident. Stored as an item of its own, not inside the incident."""

    alarm_id: str
    severity: Severity
    resource: str | None = None
    name: str = ""
    resolved: bool = False


@dataclass(frozen=True)
class IncidentTimelineEntry:
    at: datetime
    kind: str  # opened | acknowledged | resolved | merged | merged_into | split | split_from
    actor: str
    alarm_id: str | None = None
    note: str = ""


@dataclass(frozen=True)
class Incident:
    """The incident's summary. Its alarms are members stored apart (an incident can take
    any number of them); the summary keeps counters that every transition moves with the
    members it adds, resolves or moves: `alarm_count`, `open_alarm_count` (unresolved),
    `severity_counts` (severity value -> members) and `resources` (resource -> members, for
    at most MAX_RESOURCES resources; `resources_truncated` once one more was left out)."""

    id: str
    status: IncidentStatus
    title: str
    group_key: str
    opened_at: datetime
    updated_at: datetime
    alarm_count: int = 0
    open_alarm_count: int = 0
    severity_counts: Mapping[str, int] = field(default_factory=dict)
    resources: Mapping[str, int] = field(default_factory=dict)
    resources_truncated: bool = False
    timeline: tuple[IncidentTimelineEntry, ...] = ()
    rule: str = ""
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    merged_into: str | None = None
    version: int = 1

    @property
    def severity(self) -> Severity:
        present = [s for s in SEVERITY_ORDER if self.severity_counts.get(s.value, 0) > 0]
        return present[0] if present else Severity.INFO

    @property
    def affected_resources(self) -> tuple[str, ...]:
        return tuple(sorted(self.resources))

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def all_alarms_resolved(self) -> bool:
        return self.open_alarm_count <= 0

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape of an incident in the API (without its alarms: they are paged)."""
        return {
            "id": self.id,
            "status": self.status.value,
            "title": self.title,
            "severity": self.severity.value,
            "group_key": self.group_key,
            "rule": self.rule,
            "alarm_count": self.alarm_count,
            "open_alarm_count": self.open_alarm_count,
            "affected_resources": list(self.affected_resources),
            "affected_resources_truncated": self.resources_truncated,
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


def alarm_dict(a: IncidentAlarm) -> dict[str, Any]:
    return {
        "alarm_id": a.alarm_id,
        "severity": a.severity.value,
        "resource": a.resource,
        "name": a.name,
        "resolved": a.resolved,
    }


def _add_counts(
    counts: Mapping[str, int], delta: Mapping[str, int], limit: int | None = None
) -> tuple[dict[str, int], bool]:
    """`counts + delta`, entries at 0 dropped; with `limit`, new keys beyond it are left out
    (the second value says whether any was)."""
    out = dict(counts)
    dropped = False
    for key, n in delta.items():
        if key not in out and n > 0 and limit is not None and len(out) >= limit:
            dropped = True
            continue
        value = out.get(key, 0) + n
        if value > 0:
            out[key] = value
        else:
            out.pop(key, None)
    return out, dropped


def _tally(alarms: Iterable[IncidentAlarm], sign: int) -> dict[str, Any]:
    severities: dict[str, int] = {}
    resources: dict[str, int] = {}
    count = unresolved = 0
    for a in alarms:
        count += sign
        unresolved += 0 if a.resolved else sign
        severities[a.severity.value] = severities.get(a.severity.value, 0) + sign
        if a.resource:
            resources[a.resource] = resources.get(a.resource, 0) + sign
    return {"n": count, "open": unresolved, "sev": severities, "res": resources}


def _counted(incident: Incident, tally: dict[str, Any], truncated: bool = False) -> dict[str, Any]:
    """The counter fields of `incident` with a tally of members added (or removed) applied."""
    severities, _ = _add_counts(incident.severity_counts, tally["sev"])
    resources, dropped = _add_counts(incident.resources, tally["res"], MAX_RESOURCES)
    return {
        "alarm_count": incident.alarm_count + tally["n"],
        "open_alarm_count": incident.open_alarm_count + tally["open"],
        "severity_counts": severities,
        "resources": resources,
        "resources_truncated": incident.resources_truncated or dropped or truncated,
    }


def _bump(incident: Incident, now: datetime, **changes: Any) -> Incident:
    """A change with no timeline entry (the per-alarm changes: members record those)."""
    return replace(incident, updated_at=now, version=incident.version + 1, **changes)


def _step(
    incident: Incident,
    entry: IncidentTimelineEntry,
    **changes: Any,
) -> Incident:
    timeline = (*incident.timeline, entry)
    if len(timeline) > MAX_TIMELINE:  # bounded: the first entry and the latest ones
        timeline = (timeline[0], *timeline[-(MAX_TIMELINE - 1) :])
    return replace(
        incident,
        updated_at=entry.at,
        timeline=timeline,
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
    """A new incident of `alarms` (the store writes them as its members)."""
    if not alarms:
        raise ValidationFailed("an incident needs at least one alarm")
    if len({a.alarm_id for a in alarms}) != len(alarms):
        raise ValidationFailed("an alarm appears twice")
    empty = Incident(
        id=incident_id,
        status=IncidentStatus.OPEN,
        title=title or _title(alarms),
        group_key=group_key,
        opened_at=now,
        updated_at=now,
        rule=rule,
        version=1,
        timeline=(
            IncidentTimelineEntry(
                at=now,
                kind="opened",
                actor=actor,
                note=f"{len(alarms)} alarm(s), rule {rule or '-'}, group {group_key}",
            ),
        ),
    )
    return replace(empty, **_counted(empty, _tally(alarms, 1)))


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
    """A new member joins (an acknowledged incident stays acknowledged). Whether it is new is
    the store's to say: it writes the member on "not exists" with the summary, so a
    redelivered join changes nothing."""
    _require_active(incident, "take alarms")
    return _bump(incident, now, **_counted(incident, _tally((alarm,), 1)))


def not_in(incident: Incident, alarm_id: str) -> NotFound:
    return NotFound(
        f"alarm {alarm_id} is not in incident {incident.id}",
        code="ALARM_NOT_IN_INCIDENT",
        details={"alarm_id": alarm_id},
    )


def alarm_resolved(
    incident: Incident,
    member: IncidentAlarm,
    now: datetime,
    policy: IncidentPolicy | None = None,
    actor: str = "dedup",
) -> Incident:
    """One of its members resolved (`member` as stored, before); with `auto_resolve` the last
    unresolved one resolves the incident. A member already resolved changes nothing."""
    policy = policy or DEFAULT_POLICY
    if member.resolved:
        return incident
    updated = _bump(incident, now, open_alarm_count=max(0, incident.open_alarm_count - 1))
    if policy.auto_resolve and updated.active and updated.all_alarms_resolved:
        return resolve(updated, now, actor="auto", comment="all alarms resolved")
    return updated


def alarm_reopened(
    incident: Incident, member: IncidentAlarm, now: datetime, actor: str = "dedup"
) -> Incident:
    """A flapping member fired again (same alarm id). On an active incident it counts as
    unresolved again; a resolved incident is not reopened (correlate the alarm anew)."""
    _require_active(incident, "reopen an alarm")
    if not member.resolved:
        return incident
    return _bump(incident, now, open_alarm_count=incident.open_alarm_count + 1)


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
    Returns (target, source) after the merge. Only the summaries: `target` takes `source`'s
    counters at once (its severity, open count and auto-resolve are right from the commit)
    and the store relocates the member items afterwards, in chunks. Merging an incident into
    itself, or a resolved or merged one (either side), is refused (422)."""
    if target.id == source.id:
        raise ValidationFailed(
            f"incident {target.id} cannot be merged into itself", code="MERGE_INTO_SELF"
        )
    _require_mergeable(target, "take a merge")
    _require_mergeable(source, "be merged")
    tally = {
        "n": source.alarm_count,
        "open": source.open_alarm_count,
        "sev": dict(source.severity_counts),
        "res": dict(source.resources),
    }
    merged_target = _step(
        target,
        IncidentTimelineEntry(
            at=now,
            kind="merged",
            actor=actor,
            note=f"{source.alarm_count} alarm(s) from {source.id}",
        ),
        **_counted(target, tally, truncated=source.resources_truncated),
    )
    closed_source = _step(
        source,
        IncidentTimelineEntry(at=now, kind="merged_into", actor=actor, note=target.id),
        status=IncidentStatus.MERGED,
        resolved_at=now,
        resolved_by=actor,
        merged_into=target.id,
        alarm_count=0,
        open_alarm_count=0,
        severity_counts={},
        resources={},
    )
    return merged_target, closed_source


def split_group_key(new_incident_id: str) -> str:
    """The correlation group key of an incident made by a split (one group per such incident,
    so the alert pipeline finds it from its alarms like any other)."""
    return f"split|{new_incident_id}"


def split(
    incident: Incident,
    moving: tuple[IncidentAlarm, ...],
    *,
    new_incident_id: str,
    now: datetime,
    actor: str,
    policy: IncidentPolicy | None = None,
) -> tuple[Incident, Incident]:
    """Take members (as stored) out into a new incident of their own. Returns (remaining,
    new). Not every alarm can be split out (the incident would be empty). With
    `auto_resolve`, a side left with only resolved alarms resolves."""
    policy = policy or DEFAULT_POLICY
    moving = tuple({a.alarm_id: a for a in moving}.values())
    if not moving:
        raise ValidationFailed("name at least one alarm to split out")
    if len(moving) > MAX_SPLIT:
        raise ValidationFailed(f"at most {MAX_SPLIT} alarms leave in one split")
    _require_active(incident, "split")
    if len(moving) >= incident.alarm_count:
        raise Conflict(
            f"splitting out every alarm of incident {incident.id} would leave it empty",
            code="INVALID_TRANSITION",
            details={"status": incident.status.value, "requested": "split"},
        )
    remaining = _step(
        incident,
        IncidentTimelineEntry(at=now, kind="split", actor=actor, note=new_incident_id),
        **_counted(incident, _tally(moving, -1)),
    )
    if policy.auto_resolve and remaining.all_alarms_resolved:
        remaining = resolve(remaining, now, actor="auto", comment="all alarms resolved")
        remaining = replace(remaining, version=incident.version + 1)  # one write
    new = open_incident(
        incident_id=new_incident_id,
        group_key=split_group_key(new_incident_id),
        alarms=moving,
        now=now,
        rule="split",
        actor=actor,
    )
    new = _step(
        new, IncidentTimelineEntry(at=now, kind="split_from", actor=actor, note=incident.id)
    )
    new = replace(new, version=1)
    if policy.auto_resolve and new.all_alarms_resolved:
        new = resolve(new, now, actor="auto", comment="all alarms resolved")
    return remaining, new


def splits_made(incident: Incident) -> list[str]:
    """The incidents splits of this one made, newest first (its `split` timeline entries):
    where a retried split looks for the alarms it names."""
    return [e.note for e in reversed(incident.timeline) if e.kind == "split" and e.note]


EVENT_OPENED = "IncidentOpened"
EVENT_UPDATED = "IncidentUpdated"
EVENT_RESOLVED = "IncidentResolved"


def event_for(
    before: Incident | None,
    after: Incident,
    actor: str,
    alarms: Iterable[IncidentAlarm] = (),
) -> DomainEvent:
    """`IncidentOpened` for a new incident, `IncidentResolved` when it became resolved,
    `IncidentUpdated` otherwise. `alarms`: the members the change concerned (those that
    opened it, the one that joined or resolved), at most MAX_EVENT_ALARMS of them, as
    `incident.alarm_ids` (the router reads their labels)."""
    if before is None:
        kind = EVENT_OPENED
    elif before.active and not after.active:
        kind = EVENT_RESOLVED
    else:
        kind = EVENT_UPDATED
    resources = [r for r in after.affected_resources if r.startswith("arn:")]
    ids = [a.alarm_id for a in alarms][:MAX_EVENT_ALARMS]
    return DomainEvent(
        source=SOURCE,
        detail_type=kind,
        detail={"incident": after.to_dict() | {"alarm_ids": ids}, "actor": actor},
        resources=resources,
    )
