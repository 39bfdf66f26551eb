"""Routing tree, aggregation groups and the notification schedule, after Prometheus
Alertmanager's dispatcher. Pure: no I/O, no sending; the clock is passed in.

Routing (`RoutingTree.route`, as Alertmanager's `Route.Match`)
---------------------------------------------------------------
- The root route matches every alert; it has a receiver and no matchers, no `continue`, no
  mute/active time intervals.
- A route matches when all its matchers hold (AND, a missing label is ""). Its children are
  tried depth first, left to right; the first matching child ends the search at that level
  unless that child has `continue: true`, in which case its later siblings are tried too.
- When no child matches, the route itself is the result. So an alert gets one or more
  `MatchedRoute`s, each a leaf-most matching node.
- Settings are inherited from the parent when a child leaves them unset: `receiver`,
  `group_by` (an explicit `[]` resets it), `group_wait`, `group_interval`, `repeat_interval`.
  `mute_time_intervals` and `active_time_intervals` are NOT inherited (Alertmanager neither).
  Defaults at the root: group_wait 30s, group_interval 5m, repeat_interval 4h, group_by [].
- `group_by: ["..."]` groups by all labels (every distinct label set is its own group).

Grouping (`group_key`): the group's labels are the route's `group_by` labels that the alert
carries (all labels with `...`); the key is `<route id>:{a="1", b="2"}`. The route id is
Alertmanager's `Route.ID()` shape: the path of matcher sets from the root plus the position
among siblings, so two siblings with equal matchers still get distinct groups.

Notification schedule (`GroupScheduler`, as Alertmanager's aggregation group + DedupStage)
-----------------------------------------------------------------------------------------
Per aggregation group there is one timer and one notification-log entry (what was last sent:
the time, the firing and the resolved alert fingerprints).

1. A new group's first flush is due `group_wait` after the group was created. While the group
   has never flushed, inserting an alert whose `starts_at + group_wait` is already before `now`
   makes the flush due immediately (an old alert does not wait again).
2. Each time the timer fires (a *flush*), the next flush is set to `now + group_interval`:
   flushes happen on ticks `group_interval` apart, whether or not anything is sent.
3. At a flush the group's alerts split into firing and resolved, and a notification is sent when
   (first rule that applies):
   a. nothing was ever sent: send if any alert fires (a group of only resolved alerts is never
      announced) - reason `first`;
   b. some firing alert was not firing in the last notification - `new_alerts` (`first` if the
      last notification had no firing alert, i.e. the group was all resolved);
   c. no alert fires: send if the last notification had firing alerts - `all_resolved`
      (regardless of `send_resolved`, to clear the log; with `send_resolved` false nothing is
      delivered but the log is updated); otherwise nothing (alerts that fired and resolved
      between two ticks were never announced and are not);
   d. `send_resolved` and some resolved alert was not in the last notification's resolved set -
      `new_resolved`;
   e. the last notification is older than `repeat_interval`: strictly
      `last.at < now - repeat_interval` - `repeat`. Because this is checked only on flush ticks,
      an unchanged group is re-sent on the first tick after `repeat_interval` has passed; when
      `repeat_interval` is an exact multiple of `group_interval` that is the tick one
      `group_interval` later (4h + 5m with the defaults), exactly as Alertmanager behaves.
   Alerts are identified by fingerprint: an alert whose labels change is a new alert; a changed
   annotation alone is not a change.
4. After a successful flush the resolved alerts are removed from the group (they were sent once,
   or not at all with `send_resolved` false); a group left empty is deleted. A failed delivery
   leaves the log and the group's alerts as they were; the next tick tries again.
5. A flush inside a mute time interval (or outside all active ones) sends nothing and updates no
   log, but still drops the resolved alerts, as Alertmanager's mute stage does.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from omp.domain.matchers import Matcher, matches_all
from omp.domain.routing_config import GROUP_BY_ALL, RouteConfig, check_root

if TYPE_CHECKING:
    from omp.domain.silences import RecurringSchedule

DEFAULT_GROUP_WAIT = timedelta(seconds=30)
DEFAULT_GROUP_INTERVAL = timedelta(minutes=5)
DEFAULT_REPEAT_INTERVAL = timedelta(hours=4)


# -- the tree ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class RouteOptions:
    receiver: str
    group_by: frozenset[str] = frozenset()
    group_by_all: bool = False
    group_wait: timedelta = DEFAULT_GROUP_WAIT
    group_interval: timedelta = DEFAULT_GROUP_INTERVAL
    repeat_interval: timedelta = DEFAULT_REPEAT_INTERVAL
    mute_time_intervals: tuple[str, ...] = ()
    active_time_intervals: tuple[str, ...] = ()
    escalation_policy: str | None = None


@dataclass(frozen=True)
class GroupTiming:
    group_wait: timedelta = DEFAULT_GROUP_WAIT
    group_interval: timedelta = DEFAULT_GROUP_INTERVAL
    repeat_interval: timedelta = DEFAULT_REPEAT_INTERVAL


@dataclass(frozen=True)
class MatchedRoute:
    """Where one alert goes: the receiver and the grouping settings of one matched node."""

    route_id: str
    receiver: str
    group_by: tuple[str, ...]
    group_by_all: bool
    group_wait: timedelta
    group_interval: timedelta
    repeat_interval: timedelta
    mute_time_intervals: tuple[str, ...] = ()
    active_time_intervals: tuple[str, ...] = ()
    escalation_policy: str | None = None  # incidents of alerts routed here escalate by it

    @property
    def timing(self) -> GroupTiming:
        return GroupTiming(self.group_wait, self.group_interval, self.repeat_interval)


@dataclass(frozen=True)
class RouteNode:
    route_id: str
    key: str
    matchers: tuple[Matcher, ...]
    options: RouteOptions
    continue_: bool = False
    routes: tuple[RouteNode, ...] = ()

    def match(self, labels: Mapping[str, str]) -> list[RouteNode]:
        if not matches_all(self.matchers, labels):
            return []
        found: list[RouteNode] = []
        for child in self.routes:
            matched = child.match(labels)
            found.extend(matched)
            if matched and not child.continue_:
                break
        return found or [self]

    def matched(self) -> MatchedRoute:
        o = self.options
        return MatchedRoute(
            route_id=self.route_id,
            receiver=o.receiver,
            group_by=tuple(sorted(o.group_by)),
            group_by_all=o.group_by_all,
            group_wait=o.group_wait,
            group_interval=o.group_interval,
            repeat_interval=o.repeat_interval,
            mute_time_intervals=o.mute_time_intervals,
            active_time_intervals=o.active_time_intervals,
            escalation_policy=o.escalation_policy,
        )

    def walk(self) -> Iterable[RouteNode]:
        yield self
        for child in self.routes:
            yield from child.walk()


@dataclass(frozen=True)
class RoutingTree:
    root: RouteNode

    def route(self, labels: Mapping[str, str]) -> list[MatchedRoute]:
        return [node.matched() for node in self.root.match(labels)]

    @classmethod
    def build(cls, config: RouteConfig) -> RoutingTree:
        check_root(config)
        return cls(_build(config, None, None, 0))


def route(tree: RoutingTree, labels: Mapping[str, str]) -> list[MatchedRoute]:
    return tree.route(labels)


def _matchers_key(matchers: Sequence[Matcher]) -> str:
    ordered = sorted(matchers, key=lambda m: (m.name, m.type.value, m.value))
    return "{" + ",".join(str(m) for m in ordered) + "}"


def _build(
    config: RouteConfig, parent: RouteOptions | None, parent_key: str | None, position: int
) -> RouteNode:
    base = parent or RouteOptions(receiver="")
    receiver = config.receiver or base.receiver
    group_by, group_by_all = base.group_by, base.group_by_all
    if config.group_by is not None:
        group_by_all = GROUP_BY_ALL in config.group_by
        group_by = frozenset() if group_by_all else frozenset(config.group_by)
    options = RouteOptions(
        receiver=receiver,
        group_by=group_by,
        group_by_all=group_by_all,
        group_wait=config.group_wait if config.group_wait is not None else base.group_wait,
        group_interval=(
            config.group_interval if config.group_interval is not None else base.group_interval
        ),
        repeat_interval=(
            config.repeat_interval if config.repeat_interval is not None else base.repeat_interval
        ),
        mute_time_intervals=tuple(config.mute_time_intervals),
        active_time_intervals=tuple(config.active_time_intervals),
        escalation_policy=config.escalation_policy,
    )
    matchers = tuple(m.to_matcher() for m in config.matchers)
    own = _matchers_key(matchers)
    key = own if parent_key is None else f"{parent_key}/{own}"
    route_id = key if parent_key is None else f"{key}/{position}"
    children = tuple(
        _build(child, options, key, index) for index, child in enumerate(config.routes)
    )
    return RouteNode(
        route_id=route_id,
        key=key,
        matchers=matchers,
        options=options,
        continue_=config.continue_,
        routes=children,
    )


def group_labels(route: MatchedRoute, labels: Mapping[str, str]) -> dict[str, str]:
    if route.group_by_all:
        return dict(labels)
    return {name: labels[name] for name in route.group_by if name in labels}


def group_key(route: MatchedRoute, labels: Mapping[str, str]) -> str:
    grouped = group_labels(route, labels)
    body = ", ".join(
        f'{k}="{v}"'.replace("\n", "\\n") for k, v in sorted(grouped.items(), key=lambda i: i[0])
    )
    return f"{route.route_id}:{{{body}}}"


def route_muted(
    route: MatchedRoute, now: datetime, intervals: Mapping[str, RecurringSchedule]
) -> bool:
    """Alertmanager's time-interval stages: muted inside any mute interval, and outside every
    active interval when the route names some. An unknown name raises KeyError (the config
    validation refuses those)."""
    if any(intervals[name].active(now) for name in route.mute_time_intervals):
        return True
    if route.active_time_intervals:
        return not any(intervals[name].active(now) for name in route.active_time_intervals)
    return False


# -- the notification schedule of one aggregation group ---------------------------------------


class AlertStatus(StrEnum):
    FIRING = "firing"
    RESOLVED = "resolved"


@dataclass(frozen=True)
class GroupAlert:
    fingerprint: str
    status: AlertStatus
    starts_at: datetime


@dataclass(frozen=True)
class NotificationRecord:
    """Alertmanager's notification-log entry: what the receiver was last told."""

    at: datetime
    firing: frozenset[str]
    resolved: frozenset[str]


@dataclass(frozen=True)
class GroupState:
    created_at: datetime
    next_flush_at: datetime
    flushed: bool = False
    last_notification: NotificationRecord | None = None


class NotifyReason(StrEnum):
    NONE = "none"
    FIRST = "first"
    NEW_ALERTS = "new_alerts"
    NEW_RESOLVED = "new_resolved"
    ALL_RESOLVED = "all_resolved"
    REPEAT = "repeat"


@dataclass(frozen=True)
class FlushDecision:
    due: bool
    reason: NotifyReason
    deliver: tuple[GroupAlert, ...]  # what the receiver gets; may be empty even when notifying
    drop: frozenset[str]  # resolved fingerprints to remove from the group after success
    state: GroupState  # the group's state once this flush succeeded
    state_on_failure: GroupState  # ... or once its delivery failed
    next_wake: datetime  # when the group's timer fires next
    group_empty: bool = False  # every alert is dropped: delete the group after success

    @property
    def notify(self) -> bool:
        return self.reason is not NotifyReason.NONE


@dataclass(frozen=True)
class GroupScheduler:
    timing: GroupTiming = GroupTiming()
    send_resolved: bool = True

    def open(self, now: datetime) -> GroupState:
        """A new aggregation group, created at `now` by its first alert."""
        return GroupState(created_at=now, next_flush_at=now + self.timing.group_wait)

    def on_alert(self, state: GroupState, alert: GroupAlert, now: datetime) -> GroupState:
        """An alert was inserted at `now`: an old one makes a not-yet-flushed group due now."""
        if not state.flushed and alert.starts_at + self.timing.group_wait < now:
            return replace(state, next_flush_at=min(state.next_flush_at, now))
        return state

    def next_wake(self, state: GroupState, now: datetime | None = None) -> datetime:
        return state.next_flush_at

    def is_due(self, state: GroupState, now: datetime) -> bool:
        return now >= state.next_flush_at

    def should_notify(self, state: GroupState, alerts: Sequence[GroupAlert], now: datetime) -> bool:
        return self.flush(state, alerts, now).notify

    def reason(
        self, last: NotificationRecord | None, alerts: Sequence[GroupAlert], now: datetime
    ) -> NotifyReason:
        firing = {a.fingerprint for a in alerts if a.status is AlertStatus.FIRING}
        resolved = {a.fingerprint for a in alerts if a.status is AlertStatus.RESOLVED}
        if last is None:
            return NotifyReason.FIRST if firing else NotifyReason.NONE
        if not firing <= last.firing:
            return NotifyReason.NEW_ALERTS if last.firing else NotifyReason.FIRST
        if not firing:
            return NotifyReason.ALL_RESOLVED if last.firing else NotifyReason.NONE
        if self.send_resolved and not resolved <= last.resolved:
            return NotifyReason.NEW_RESOLVED
        if last.at < now - self.timing.repeat_interval:
            return NotifyReason.REPEAT
        return NotifyReason.NONE

    def flush(
        self,
        state: GroupState,
        alerts: Sequence[GroupAlert],
        now: datetime,
        *,
        muted: bool = False,
    ) -> FlushDecision:
        """What the group does at `now` with its current `alerts`."""
        if not self.is_due(state, now):
            return FlushDecision(
                due=False,
                reason=NotifyReason.NONE,
                deliver=(),
                drop=frozenset(),
                state=state,
                state_on_failure=state,
                next_wake=state.next_flush_at,
            )
        ticked = replace(state, next_flush_at=now + self.timing.group_interval, flushed=True)
        resolved = frozenset(a.fingerprint for a in alerts if a.status is AlertStatus.RESOLVED)
        reason = NotifyReason.NONE
        if alerts and not muted:
            reason = self.reason(state.last_notification, alerts, now)
        deliver: tuple[GroupAlert, ...] = ()
        after = ticked
        if reason is not NotifyReason.NONE:
            ordered = sorted(alerts, key=lambda a: (a.starts_at, a.fingerprint))
            deliver = tuple(
                a for a in ordered if self.send_resolved or a.status is AlertStatus.FIRING
            )
            firing = frozenset(a.fingerprint for a in alerts if a.status is AlertStatus.FIRING)
            after = replace(ticked, last_notification=NotificationRecord(now, firing, resolved))
        return FlushDecision(
            due=True,
            reason=reason,
            deliver=deliver,
            drop=resolved,
            state=after,
            state_on_failure=ticked,
            group_empty=len(resolved) == len(alerts),
            next_wake=ticked.next_flush_at,
        )
