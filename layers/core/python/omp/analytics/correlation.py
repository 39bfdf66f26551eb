"""Correlation: which incident a new alarm joins, or whether a new one opens. Pure: no I/O.

A rule set is evaluated in order; the first rule that applies decides (`correlate`):

- `TopologyRule`: the alarm's CI (or resource) is related within `k` hops (through
  `TopologyPort`, the CMDB graph) to a CI or resource of an active incident that had an alarm
  within `window`: JOIN it.
- `LabelGroupRule`: alarms with equal values of the `by` labels, each within `window` of the
  group's previous alarm (a sliding window, as long as the group's incident is active), form
  one group, like Alertmanager's `group_by` and Keep's correlation rules. With
  `open_after_alarms` (N) and/or `open_after` (T) the group is held PENDING, with no incident,
  until N distinct alarms are firing in it or one of them has been firing for T (whichever
  comes first); `tick` opens a group whose oldest alarm reached T. A pending alarm that
  resolves leaves the group (`on_alarm_resolved`), so a blip never becomes an incident.
- when no rule applies, the alarm opens an incident of its own.

The decision names the incident to join, or the incident to open (with every alarm that
opens it) or the group to hold, and carries the group's new state for the store to write.
Incident ids are derived from the group key and its first alarm's time, so a replay or a
racing consumer computes the same id.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Protocol

from omp.domain.alarms import Severity
from omp.domain.dedup import stable_id
from omp.domain.incidents import ID_PREFIX as INCIDENT_PREFIX
from omp.domain.incidents import IncidentAlarm
from omp.domain.signals import bounded_key

DEFAULT_WINDOW = timedelta(minutes=30)
DEFAULT_HOPS = 2
# Resources a group keeps on itself (the first ones, for people and for skipping known index
# entries). Its full resource set is the store's resource index (one entry per resource), so the
# stored group stays small however many distinct resources a storm brings (see Group.resources).
MAX_GROUP_RESOURCES = 20
# A pending group lists its held alarms on its stored item (DynamoDB: 400 KB an item). Once the
# held alarms take this many bytes the group opens whatever its thresholds: a storm held that
# long is an incident, and the item stays writable. `PENDING_ENTRY_BYTES` is an entry's size
# besides its name and resource (attribute names, ids, time, severity) as stored, rounded up.
MAX_PENDING_BYTES = 256 * 1024
PENDING_ENTRY_BYTES = 200


def pending_bytes(pending: Iterable[Pending]) -> int:
    """The stored size of held alarms, as `MAX_PENDING_BYTES` counts it (UTF-8 bytes)."""
    return sum(
        PENDING_ENTRY_BYTES + len(p.alarm.name.encode()) + len((p.alarm.resource or "").encode())
        for p in pending
    )


class TopologyPort(Protocol):
    """The CI graph, as correlation needs it: `omp.adapters.cmdb_topology.CmdbTopology` over
    the CMDB (Neptune / gremlite), `MemoryTopology` in tests and benchmarks."""

    def neighbours(self, resource: str, k: int) -> set[str]:
        """Every resource within `k` hops of `resource` (either direction), itself excluded."""
        ...


@dataclass(frozen=True)
class AlarmFacts:
    """What correlation needs of an alarm."""

    alarm_id: str
    at: datetime  # when it began firing (its first_seen)
    severity: Severity = Severity.WARNING
    name: str = ""
    resource: str | None = None
    labels: Mapping[str, str] = field(default_factory=dict)
    # The CMDB CI its resource names (None: not resolved, or no CMDB). Groups index it next to
    # the resource, so `TopologyRule` finds an incident by the CIs near another alarm's CI.
    ci_id: str | None = None

    @property
    def resources(self) -> frozenset[str]:
        """What a group indexes this alarm by: its resource and its CI."""
        return frozenset(r for r in (self.resource, self.ci_id) if r)

    def member(self) -> IncidentAlarm:
        return IncidentAlarm(
            alarm_id=self.alarm_id, severity=self.severity, resource=self.resource, name=self.name
        )


@dataclass(frozen=True)
class Pending:
    alarm_id: str
    at: datetime
    alarm: IncidentAlarm


@dataclass(frozen=True)
class Group:
    """A correlation group as stored: pending (no incident yet, its alarms in `pending`) or
    bound to `incident_id`. `closed` once its incident resolved: the next alarm for the same
    key starts a new group."""

    key: str
    rule: str
    first_at: datetime
    last_at: datetime
    size: int
    # At most MAX_GROUP_RESOURCES: the first resources (and CIs) of its alarms. Every resource
    # is in the store's resource index (`GroupView.groups_with_resource`), which is what
    # correlation matches on; `resources_truncated` once one was left out of this sample.
    resources: frozenset[str] = frozenset()
    incident_id: str | None = None
    pending: tuple[Pending, ...] = ()
    closed: bool = False
    resources_truncated: bool = False

    @property
    def is_pending(self) -> bool:
        return self.incident_id is None and not self.closed

    @property
    def is_active(self) -> bool:
        return self.incident_id is not None and not self.closed


class Outcome(StrEnum):
    JOIN = "join"  # add the alarm to `incident_id`
    OPEN = "open"  # open `incident_id` with `alarms`
    PENDING = "pending"  # store the group; no incident yet


@dataclass(frozen=True)
class CorrelationDecision:
    outcome: Outcome
    rule: str
    group: Group  # the group's state after this decision (write it)
    reason: str
    incident_id: str | None = None
    alarms: tuple[IncidentAlarm, ...] = ()  # JOIN: the alarm; OPEN: every alarm that opens it
    # The alarm's resources to add to the group's resource index (write them with the group):
    # those not already in the group's sample, so a join on a known resource writes none.
    new_resources: frozenset[str] = frozenset()


class GroupView(Protocol):
    """Read access to the stored groups (a store implements it)."""

    def group(self, key: str) -> Group | None: ...

    def groups_with_resource(self, resource: str) -> Iterable[Group]: ...


class Rule(Protocol):
    @property
    def name(self) -> str: ...

    def evaluate(
        self, alarm: AlarmFacts, view: GroupView, now: datetime
    ) -> CorrelationDecision | None:
        """The decision, or None when this rule does not apply to the alarm."""
        ...


def incident_id_for(group_key: str, first_at: datetime) -> str:
    return stable_id(INCIDENT_PREFIX, first_at, group_key, first_at.isoformat())


def sample_resources(
    kept: frozenset[str], truncated: bool, more: Iterable[str]
) -> tuple[frozenset[str], bool]:
    """`kept` grown by `more` up to MAX_GROUP_RESOURCES (the smallest names first, so replays
    keep the same sample), and whether any resource is now left out."""
    missing = sorted(set(more) - kept)
    room = max(MAX_GROUP_RESOURCES - len(kept), 0)
    return kept | frozenset(missing[:room]), truncated or len(missing) > room


def _grow(group: Group, alarm: AlarmFacts) -> Group:
    resources, truncated = sample_resources(
        group.resources, group.resources_truncated, alarm.resources
    )
    return replace(
        group,
        last_at=max(group.last_at, alarm.at),
        size=group.size + 1,
        resources=resources,
        resources_truncated=truncated,
    )


def _join(rule: str, group: Group, alarm: AlarmFacts, reason: str) -> CorrelationDecision:
    return CorrelationDecision(
        outcome=Outcome.JOIN,
        rule=rule,
        group=_grow(group, alarm),
        reason=reason,
        incident_id=group.incident_id,
        alarms=(alarm.member(),),
        new_resources=alarm.resources - group.resources,
    )


def _open(
    rule: str, group: Group, reason: str, new_resources: frozenset[str] = frozenset()
) -> CorrelationDecision:
    incident_id = incident_id_for(group.key, group.first_at)
    alarms = tuple(p.alarm for p in group.pending)
    return CorrelationDecision(
        outcome=Outcome.OPEN,
        rule=rule,
        group=replace(group, incident_id=incident_id, pending=()),
        reason=reason,
        incident_id=incident_id,
        alarms=alarms,
        new_resources=new_resources,
    )


@dataclass(frozen=True)
class LabelGroupRule:
    """Group alarms whose `by` labels are equal (and that carry every one of them), optionally
    only those matching `match` (label equality). Defaults open at once; set
    `open_after_alarms` and/or `open_after` to hold the group pending."""

    name: str
    by: tuple[str, ...]
    window: timedelta = DEFAULT_WINDOW
    open_after_alarms: int | None = None
    open_after: timedelta | None = None
    match: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.by:
            raise ValueError("group by at least one label")
        if self.open_after_alarms is not None and self.open_after_alarms < 1:
            raise ValueError("open_after_alarms must be at least 1")

    def key(self, labels: Mapping[str, str]) -> str | None:
        if any(labels.get(k) != v for k, v in self.match.items()):
            return None
        try:
            values = [f"{label}={labels[label]}" for label in self.by]
        except KeyError:
            return None
        # The key is in DynamoDB keys (the group's partition key, the resource index's sort
        # key: 1,024 bytes); long label values make it a readable head and a digest.
        return bounded_key(f"{self.name}|{','.join(values)}")

    def _ready(self, group: Group, now: datetime) -> str | None:
        if self.open_after_alarms is None and self.open_after is None:
            return "opens at once"
        held = pending_bytes(group.pending)
        if held >= MAX_PENDING_BYTES:
            return f"{len(group.pending)} alarms held ({held} bytes, the most a group holds)"
        if self.open_after_alarms is not None and len(group.pending) >= self.open_after_alarms:
            return f"{len(group.pending)} alarms firing (threshold {self.open_after_alarms})"
        if self.open_after is not None and group.pending:
            oldest = min(p.at for p in group.pending)
            if now - oldest >= self.open_after:
                return f"an alarm firing for {now - oldest} (threshold {self.open_after})"
        return None

    def evaluate(
        self, alarm: AlarmFacts, view: GroupView, now: datetime
    ) -> CorrelationDecision | None:
        key = self.key(alarm.labels)
        if key is None:
            return None
        group = view.group(key)
        live = group is not None and not group.closed and alarm.at - group.last_at <= self.window
        if group is not None and live and group.incident_id is not None:
            return _join(self.name, group, alarm, f"same {', '.join(self.by)} within window")
        entry = Pending(alarm.alarm_id, alarm.at, alarm.member())
        new_resources = alarm.resources
        if group is not None and live:
            if any(p.alarm_id == alarm.alarm_id for p in group.pending):
                return CorrelationDecision(
                    outcome=Outcome.PENDING, rule=self.name, group=group, reason="already pending"
                )
            held = replace(_grow(group, alarm), pending=(*group.pending, entry))
            new_resources = alarm.resources - group.resources
        else:
            held = Group(
                key=key,
                rule=self.name,
                first_at=alarm.at,
                last_at=alarm.at,
                size=1,
                resources=alarm.resources,
                pending=(entry,),
            )
        ready = self._ready(held, now)
        if ready is not None:
            return _open(self.name, held, ready, new_resources)
        return CorrelationDecision(
            outcome=Outcome.PENDING,
            rule=self.name,
            group=held,
            reason=f"held: {len(held.pending)} alarm(s) below the threshold",
            new_resources=new_resources,
        )

    def due(self, group: Group, now: datetime) -> CorrelationDecision | None:
        """For a scheduled tick: open a pending group whose threshold is now reached."""
        if not group.is_pending or not group.pending:
            return None
        ready = self._ready(group, now)
        return _open(self.name, group, ready) if ready is not None else None


@dataclass(frozen=True)
class TopologyRule:
    """Join the active incident that holds a CI (or resource) within `k` hops of the alarm's
    CI (its resource where it has none) and had an alarm within `window`; the most recently
    active one when several do."""

    name: str
    topology: TopologyPort
    k: int = DEFAULT_HOPS
    window: timedelta = DEFAULT_WINDOW

    def evaluate(
        self, alarm: AlarmFacts, view: GroupView, now: datetime
    ) -> CorrelationDecision | None:
        origin = alarm.ci_id or alarm.resource
        if origin is None:
            return None
        near = self.topology.neighbours(origin, self.k) | alarm.resources
        best: Group | None = None
        for resource in near:
            for group in view.groups_with_resource(resource):
                if not group.is_active or alarm.at - group.last_at > self.window:
                    continue
                if best is None or (group.last_at, group.key) > (best.last_at, best.key):
                    best = group
        if best is None:
            return None
        return _join(self.name, best, alarm, f"resource within {self.k} hops of the incident's")


FALLBACK_RULE = "alone"


def correlate(
    alarm: AlarmFacts, rules: Sequence[Rule], view: GroupView, now: datetime
) -> CorrelationDecision:
    """The first rule that applies decides; without one the alarm opens its own incident."""
    for rule in rules:
        decision = rule.evaluate(alarm, view, now)
        if decision is not None:
            return decision
    group = Group(
        key=f"{FALLBACK_RULE}|{alarm.alarm_id}",
        rule=FALLBACK_RULE,
        first_at=alarm.at,
        last_at=alarm.at,
        size=1,
        resources=alarm.resources,
        pending=(Pending(alarm.alarm_id, alarm.at, alarm.member()),),
    )
    return _open(FALLBACK_RULE, group, "no rule applies", alarm.resources)


def tick(
    groups: Iterable[Group], rules: Sequence[Rule], now: datetime
) -> list[CorrelationDecision]:
    """Open every pending group whose persist threshold (`open_after`) has been reached, and
    every pending group whose rule is no longer configured (the alerting settings dropped or
    renamed it): nothing else would ever open it, and its alarms must not stay unseen."""
    by_name = {r.name: r for r in rules if isinstance(r, LabelGroupRule)}
    decisions = []
    for group in groups:
        rule = by_name.get(group.rule)
        if rule is not None:
            decision = rule.due(group, now)
        elif group.is_pending and group.pending:
            decision = _open(group.rule, group, "its rule is no longer configured")
        else:
            decision = None
        if decision is not None:
            decisions.append(decision)
    return decisions


def on_alarm_resolved(group: Group, alarm_id: str) -> Group | None:
    """A pending alarm resolved: it leaves the group (None when the group is then empty and
    can be deleted). A group with an incident is unchanged: the incident tracks resolution."""
    if not group.is_pending:
        return group
    left = tuple(p for p in group.pending if p.alarm_id != alarm_id)
    if not left:
        return None
    return replace(group, pending=left, size=len(left))


def close(group: Group) -> Group:
    """Its incident resolved (or was merged away): the next alarm starts a new group."""
    return replace(group, closed=True)


class MemoryTopology:
    """An undirected in-memory graph: the tests' and the benchmark's `TopologyPort`."""

    def __init__(self, edges: Iterable[tuple[str, str]] = ()) -> None:
        self.adjacent: dict[str, set[str]] = {}
        for a, b in edges:
            self.link(a, b)

    def link(self, a: str, b: str) -> None:
        self.adjacent.setdefault(a, set()).add(b)
        self.adjacent.setdefault(b, set()).add(a)

    def neighbours(self, resource: str, k: int) -> set[str]:
        seen = {resource}
        frontier: deque[tuple[str, int]] = deque([(resource, 0)])
        while frontier:
            node, depth = frontier.popleft()
            if depth == k:
                continue
            for nxt in self.adjacent.get(node, ()):
                if nxt not in seen:
                    seen.add(nxt)
                    frontier.append((nxt, depth + 1))
        seen.discard(resource)
        return seen

    def related(self, a: str, b: str, k: int) -> bool:
        return a == b or b in self.neighbours(a, k)


class MemoryGroupStore:
    """In-memory groups with a resource index: the tests' and the benchmark's `GroupView`. It
    indexes exactly what `save` is told to, as the DynamoDB store does, so a caller that drops
    a decision's `new_resources` fails here too."""

    def __init__(self) -> None:
        self.groups: dict[str, Group] = {}
        # resource -> group key -> the group's first_at when indexed (a later group under the
        # same key is another group: an entry of an earlier one does not find it)
        self._by_resource: dict[str, dict[str, datetime]] = {}

    def group(self, key: str) -> Group | None:
        return self.groups.get(key)

    def groups_with_resource(self, resource: str) -> Iterable[Group]:
        found = []
        for key, first_at in sorted(self._by_resource.get(resource, {}).items()):
            group = self.groups.get(key)
            if group is not None and not group.closed and group.first_at == first_at:
                found.append(group)
        return found

    def save(self, group: Group, new_resources: Iterable[str] | None = None) -> None:
        """`new_resources`: what to add to the resource index (a decision's); None: the
        group's own `resources` (a group built whole, as a split's)."""
        self.groups[group.key] = group
        if group.closed:
            return
        for resource in group.resources if new_resources is None else new_resources:
            self._by_resource.setdefault(resource, {})[group.key] = group.first_at

    def delete(self, key: str) -> None:
        self.groups.pop(key, None)

    def pending(self) -> list[Group]:
        return [g for g in self.groups.values() if g.is_pending]
