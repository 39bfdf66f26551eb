"""Routing, notification delivery and escalation, the engine (docs/notifications.md). The
configuration, escalation policies and the notification log are `omp.services.notify_config`.

- `handle_event`: an alarm or incident event from the `notifications` queue. An alarm event is
  routed through the tree and its alert stored in each matched aggregation group (a redelivered
  event changes nothing: `put_alert` refuses the same or an older change); an incident event
  starts or stops the incident's escalation.
- `flush_due`: the per-minute flush. Each due group is claimed by one conditional write of its
  timer (a second, concurrent tick finds the version moved and skips it), then every
  integration whose own notification log says it is owed something (`GroupScheduler`) is sent
  to, with bounded retries; the log is written after success. A failure leaves that
  integration's log as it was, so the next tick sends again: at-least-once. A re-run tick finds
  the group not due; a redelivered event adds nothing new: no duplicate within
  repeat_interval. The window between a send and its log write can repeat one notification
  after a crash (as in Alertmanager).
- `escalate_due`: the per-minute escalation sweep: an open (unacknowledged) incident's due
  level is notified, then the next is scheduled after that level's delay; acknowledged,
  resolved or gone incidents stop. Sent first, then one conditional write: a rerun finds it
  not due.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol

from omp.domain import notifications as n
from omp.domain.errors import Conflict
from omp.domain.events import DomainEvent
from omp.domain.ids import new_id
from omp.domain.notifications import (
    DeliveryError,
    Notification,
    NotifyAlert,
    RetryPolicy,
)
from omp.domain.notify_config import NotificationRecordView, NotificationStatus
from omp.domain.routing import (
    AlertStatus,
    GroupAlert,
    GroupScheduler,
    GroupState,
    GroupTiming,
    MatchedRoute,
    NotificationRecord,
    RoutingTree,
    group_key,
    group_labels,
    route_muted,
)
from omp.domain.timeutil import iso

if TYPE_CHECKING:
    from omp.adapters.dynamo_notifications import StoredGroup
    from omp.domain.notify_config import EscalationPolicy
    from omp.domain.routing_config import Receiver, RoutingConfig
    from omp.domain.silences import RecurringSchedule
    from omp.ports import AlarmRepository, Clock, EventPublisher, IncidentRepository
    from omp.services.notify_config import ConfigStore, EscalationStore, NotificationLog

logger = logging.getLogger("omp.notifications")

RETRY_FAILED_AFTER = timedelta(minutes=1)  # a failed flush is tried again at the next tick
MAX_INCIDENT_ALARMS_ROUTED = 20  # alarms read to find an incident's escalation policy


# ---- ports ----------------------------------------------------------------------------------


class GroupStore(Protocol):
    def put_alert(self, group_id: str, alert: NotifyAlert) -> bool: ...

    def touch(
        self,
        *,
        group_id: str,
        group_key: str,
        receiver: str,
        route_id: str,
        group_labels: dict[str, str],
        settings: dict[str, Any],
        now: datetime,
        first_flush_at: datetime,
        due_now: bool,
    ) -> None: ...

    def due(self, now: datetime, limit: int = 100) -> list[str]: ...

    def load(self, group_id: str) -> StoredGroup | None: ...

    def save_timer(
        self,
        group_id: str,
        *,
        next_flush_at: datetime,
        flushed: bool,
        logs: dict[str, NotificationRecord] | None,
        expected_version: int,
    ) -> int: ...

    def drop_resolved(
        self, group_id: str, alerts: tuple[NotifyAlert, ...], now: datetime
    ) -> None: ...

    def delete_if_unchanged(self, group_id: str, alerts_rev: int) -> bool: ...

    def delete(self, group_id: str) -> None: ...


Send = Callable[[Any, Notification], None]


@dataclass(frozen=True)
class NotifyPorts:
    configs: ConfigStore
    groups: GroupStore
    log: NotificationLog
    escalations: EscalationStore
    incidents: IncidentRepository
    alarms: AlarmRepository
    events: EventPublisher | None  # None for the queue consumer (it publishes nothing)
    clock: Clock
    send: Send
    sleep: Callable[[float], None] = time.sleep
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    # Silences and maintenance windows asked again at each flush, as Alertmanager does: read
    # once per tick, `(now) -> (alert) -> silenced?`. None: nothing is silenced at flush.
    silences: Callable[[datetime], Callable[[NotifyAlert], bool]] | None = None


def silence_checker(
    silence_store: Any, window_store: Any, now: datetime
) -> Callable[[NotifyAlert], bool]:
    """Whether an alert is silenced now (active silences, open maintenance windows), matched on
    the labels the silences engine uses."""
    from omp.domain.silences import is_silenced, match_labels

    active, windows = silence_store.unexpired(now), window_store.all()
    if not active and not windows:
        return lambda alert: False

    def silenced(alert: NotifyAlert) -> bool:
        labels = match_labels(
            alert.labels, name=alert.name, severity=alert.severity, source=alert.source
        )
        return bool(is_silenced(labels, active, now, windows))

    return silenced


_trees: dict[int, tuple[RoutingConfig, RoutingTree]] = {}


def tree_of(config: RoutingConfig) -> RoutingTree:
    """The built tree of a configuration, built once per loaded configuration (a consumer batch
    routes every event through the same one)."""
    cached = _trees.get(id(config))
    if cached is None or cached[0] is not config:
        _trees.clear()
        cached = (config, config.tree())
        _trees[id(config)] = cached
    return cached[1]


# ---- events from the queue ------------------------------------------------------------------


def _settings(route: MatchedRoute) -> dict[str, Any]:
    return {
        "group_wait": route.group_wait.total_seconds(),
        "group_interval": route.group_interval.total_seconds(),
        "repeat_interval": route.repeat_interval.total_seconds(),
        "mute_time_intervals": list(route.mute_time_intervals),
        "active_time_intervals": list(route.active_time_intervals),
    }


def _timing(settings: Mapping[str, Any]) -> GroupTiming:
    return GroupTiming(
        group_wait=timedelta(seconds=float(settings["group_wait"])),
        group_interval=timedelta(seconds=float(settings["group_interval"])),
        repeat_interval=timedelta(seconds=float(settings["repeat_interval"])),
    )


def handle_event(
    detail_type: str, detail: Mapping[str, Any], ports: NotifyPorts, config: RoutingConfig | None
) -> str:
    """One bus event; returns what happened (for the log line). Raises `ValueError` for an
    event that can never be handled, domain errors for ones a retry may fix."""
    if detail_type in n.ALARM_EVENTS:
        return _on_alarm(n.alarm_change(detail_type, detail), ports, config)
    if detail_type in n.INCIDENT_EVENTS:
        incident = detail.get("incident")
        if not isinstance(incident, Mapping) or not incident.get("id"):
            raise ValueError("the event has no incident")
        if detail_type == "IncidentOpened":
            return _start_escalation(incident, ports, config)
        if incident.get("status") != "open":
            return _stop_escalation(str(incident["id"]), str(incident.get("status")), ports)
        return "ignored"
    raise ValueError(f"not an event the notifier handles: {detail_type}")


def _on_alarm(change: n.AlarmChange, ports: NotifyPorts, config: RoutingConfig | None) -> str:
    if config is None:
        return "no configuration"
    if not change.notify:
        # Held: a flapping or suppressed alarm's changes do not reach its groups.
        return f"held ({change.held_because})"
    now = ports.clock.now()
    alert = change.alert
    touched = 0
    for route in tree_of(config).route(change.labels):
        key = group_key(route, change.labels)
        gid = n.group_id(route.receiver, key)
        if not ports.groups.put_alert(gid, alert):
            continue  # the same or a newer change is there already (a redelivery)
        starts = alert.starts_at or now
        old = starts + route.group_wait < now
        ports.groups.touch(
            group_id=gid,
            group_key=key,
            receiver=route.receiver,
            route_id=route.route_id,
            group_labels=group_labels(route, change.labels),
            settings=_settings(route),
            now=now,
            first_flush_at=now if old else now + route.group_wait,
            due_now=old,
        )
        touched += 1
    return f"{alert.status.value} in {touched} group(s)"


def _start_escalation(
    incident: Mapping[str, Any], ports: NotifyPorts, config: RoutingConfig | None
) -> str:
    if config is None:
        return "no configuration"
    policy_id = _policy_for(incident, ports, config)
    if policy_id is None:
        return "no escalation policy"
    esc = n.start_escalation(str(incident["id"]), policy_id, ports.clock.now())
    started = ports.escalations.start(esc)
    return f"escalation {'started' if started else 'already started'} ({policy_id})"


def _policy_for(
    incident: Mapping[str, Any], ports: NotifyPorts, config: RoutingConfig
) -> str | None:
    """The first route (in tree order) naming an escalation policy that any of the incident's
    alarms is routed to. Suppressed (silenced, inhibited) alarms do not count: an incident of
    held alarms pages nobody."""
    tree = tree_of(config)
    for alarm_id in list(incident.get("alarm_ids") or [])[:MAX_INCIDENT_ALARMS_ROUTED]:
        alarm = ports.alarms.get(str(alarm_id))
        if alarm is None or getattr(alarm, "suppressed", False):
            continue
        labels = n.routing_labels(alarm.model_dump(mode="json"))
        for route in tree.route(labels):
            if route.escalation_policy:
                return route.escalation_policy
    return None


def _stop_escalation(incident_id: str, status: str, ports: NotifyPorts) -> str:
    from dataclasses import replace

    esc = ports.escalations.get(incident_id)
    if esc is None or not esc.active:
        return "no active escalation"
    try:
        ports.escalations.save(
            replace(esc, active=False, stopped_reason=f"incident {status}"), esc.version
        )
    except Conflict:
        return "escalation moved meanwhile (the sweep stops it)"
    return f"escalation stopped (incident {status})"


# ---- delivery -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    ok: bool
    attempts: int
    error: str | None = None


def deliver(
    send: Send,
    integration: Any,
    notification: Notification,
    retry: RetryPolicy,
    sleep: Callable[[float], None],
) -> Delivery:
    """Send with bounded retries and exponential backoff; never raises."""
    delays = retry.delays()
    error = ""
    for attempt in range(1, retry.attempts + 1):
        try:
            send(integration, notification)
            return Delivery(True, attempt)
        except DeliveryError as exc:
            error = str(exc)
            if not exc.retryable:
                return Delivery(False, attempt, error)
        except Exception as exc:  # a bug in rendering must not stop the other groups
            logger.exception("sending to %s failed", notification.receiver)
            return Delivery(False, attempt, f"{type(exc).__name__}: {exc}")
        if attempt < retry.attempts:
            sleep(delays[attempt - 1].total_seconds())
    return Delivery(False, retry.attempts, error)


def _record(
    ports: NotifyPorts,
    notification: Notification,
    integration_key: str,
    result: Delivery,
    now: datetime,
    events: list[DomainEvent],
) -> None:
    alarm_ids, firing, resolved = n.summarize(notification.alerts)
    entry = NotificationRecordView(
        id=new_id(n.NOTIFICATION_PREFIX, int(now.timestamp() * 1000)),
        at=iso(now),
        kind=notification.kind,
        receiver=notification.receiver,
        integration=integration_key,
        status=NotificationStatus.SENT if result.ok else NotificationStatus.FAILED,
        reason=notification.reason,
        attempts=result.attempts,
        error=result.error,
        group_key=notification.group_key or None,
        incident_id=str(notification.incident["id"]) if notification.incident else None,
        level=notification.level,
        alarm_ids=alarm_ids,
        firing=firing,
        resolved=resolved,
    )
    ports.log.record(entry)
    events.append(n.sent_event(entry))


# ---- the flush tick -------------------------------------------------------------------------


@dataclass
class FlushSummary:
    groups: int = 0
    sent: int = 0
    failed: int = 0
    skipped: int = 0
    silenced: int = 0


def flush_due(
    ports: NotifyPorts,
    config: RoutingConfig | None,
    limit: int = 100,
    time_left: Callable[[], bool] = lambda: True,
) -> FlushSummary:
    """Flush up to `limit` due groups while `time_left()`; the rest stay due for the next
    tick (slow or failing receivers cannot push the invocation past its timeout)."""
    summary = FlushSummary()
    now = ports.clock.now()
    schedules = config.schedules() if config else {}
    receivers = {r.name: r for r in config.receivers} if config else {}
    silenced: Callable[[NotifyAlert], bool] | None = None
    for gid in ports.groups.due(now, limit):
        if not time_left():
            summary.skipped += 1
            continue
        if silenced is None:  # read on the first due group only
            silenced = ports.silences(now) if ports.silences else (lambda alert: False)
        events: list[DomainEvent] = []
        try:
            _flush_group(gid, ports, receivers, schedules, now, summary, events, silenced)
        finally:
            if events and ports.events is not None:
                ports.events.publish(events)
    return summary


def _flush_group(
    gid: str,
    ports: NotifyPorts,
    receivers: Mapping[str, Receiver],
    schedules: Mapping[str, RecurringSchedule],
    now: datetime,
    summary: FlushSummary,
    events: list[DomainEvent],
    silenced: Callable[[NotifyAlert], bool],
) -> None:
    group = ports.groups.load(gid)
    if group is None or now < group.next_flush_at:
        summary.skipped += 1
        return
    receiver = receivers.get(group.receiver)
    if receiver is None:
        logger.warning("group %s: receiver %s is no longer configured", gid, group.receiver)
        ports.groups.delete(gid)
        return
    summary.groups += 1
    timing = _timing(group.settings)
    route = MatchedRoute(
        route_id=group.route_id,
        receiver=group.receiver,
        group_by=(),
        group_by_all=False,
        group_wait=timing.group_wait,
        group_interval=timing.group_interval,
        repeat_interval=timing.repeat_interval,
        # an interval removed from the configuration no longer mutes
        mute_time_intervals=tuple(
            x for x in group.settings.get("mute_time_intervals", []) if x in schedules
        ),
        active_time_intervals=tuple(
            x for x in group.settings.get("active_time_intervals", []) if x in schedules
        ),
    )
    muted = route_muted(route, now, schedules)
    by_id = {a.alarm_id: a for a in group.alerts}
    alerts = [
        GroupAlert(
            a.alarm_id,
            AlertStatus(a.status.value),
            a.starts_at or group.created_at,
        )
        for a in group.alerts
    ]
    next_flush = now + timing.group_interval
    # Claim the tick: a concurrent flusher finds the version moved and leaves the group.
    try:
        version = ports.groups.save_timer(
            gid, next_flush_at=next_flush, flushed=True, logs=None, expected_version=group.version
        )
    except Conflict:
        summary.skipped += 1
        return
    # A firing alert silenced since it was raised is left out of this flush (not out of the
    # group); when every firing alert is, nothing is sent and nothing leaves the group.
    held = {a.alarm_id for a in group.alerts if a.status is n.AlertStatus.FIRING and silenced(a)}
    if held:
        alerts = [a for a in alerts if a.fingerprint not in held]
        if not any(a.status is AlertStatus.FIRING for a in alerts):
            summary.silenced += 1
            return
    logs = dict(group.logs)
    failed = False
    for index, integration in enumerate(receiver.integrations):
        key = n.integration_key(index, integration)
        scheduler = GroupScheduler(timing=timing, send_resolved=integration.send_resolved)
        state = GroupState(
            created_at=group.created_at,
            next_flush_at=group.next_flush_at,
            flushed=group.flushed,
            last_notification=logs.get(key),
        )
        decision = scheduler.flush(state, alerts, now, muted=muted)
        if not decision.notify:
            continue
        if decision.deliver:
            notification = Notification(
                receiver=receiver.name,
                group_key=group.group_key,
                group_labels=group.group_labels,
                alerts=tuple(by_id[a.fingerprint] for a in decision.deliver),
                reason=decision.reason.value,
            )
            result = deliver(ports.send, integration, notification, ports.retry, ports.sleep)
            _record(ports, notification, key, result, now, events)
            if not result.ok:
                failed = True
                summary.failed += 1
                continue
            summary.sent += 1
        assert decision.state.last_notification is not None
        logs[key] = decision.state.last_notification
    if failed:
        next_flush = now + min(timing.group_interval, RETRY_FAILED_AFTER)
    if logs != group.logs or failed:
        try:
            ports.groups.save_timer(
                gid, next_flush_at=next_flush, flushed=True, logs=logs, expected_version=version
            )
        except Conflict:
            logger.warning("group %s: the log write lost a race; the next tick re-checks", gid)
            return
    if failed:
        return  # keep the resolved alerts: they are still owed to the failed integration
    resolved = tuple(a for a in group.alerts if a.status is n.AlertStatus.RESOLVED)
    if resolved:
        ports.groups.drop_resolved(gid, resolved, now)
    if len(resolved) == len(group.alerts):
        ports.groups.delete_if_unchanged(gid, group.alerts_rev)


# ---- escalation -----------------------------------------------------------------------------


@dataclass
class EscalationSummary:
    due: int = 0
    notified: int = 0
    stopped: int = 0
    failed: int = 0


def _incident_alerts(incident: Mapping[str, Any]) -> tuple[NotifyAlert, ...]:
    return tuple(
        NotifyAlert(
            alarm_id=str(a["alarm_id"]),
            status=n.AlertStatus.RESOLVED if a.get("resolved") else n.AlertStatus.FIRING,
            name=str(a.get("name") or a["alarm_id"]),
            severity=str(a.get("severity") or ""),
            labels={},
            resource=a.get("resource"),
        )
        for a in incident.get("alarms") or []
    )


def escalate_due(
    ports: NotifyPorts,
    config: RoutingConfig | None,
    time_left: Callable[[], bool] = lambda: True,
) -> EscalationSummary:
    summary = EscalationSummary()
    now = ports.clock.now()
    receivers = {r.name: r for r in config.receivers} if config else {}
    for incident_id in list(ports.escalations.due(now)):
        if not time_left():
            break  # still due: the next tick
        events: list[DomainEvent] = []
        try:
            _escalate_one(incident_id, ports, receivers, now, summary, events)
        finally:
            if events and ports.events is not None:
                ports.events.publish(events)
    return summary


def _escalate_one(
    incident_id: str,
    ports: NotifyPorts,
    receivers: Mapping[str, Receiver],
    now: datetime,
    summary: EscalationSummary,
    events: list[DomainEvent],
) -> None:
    esc = ports.escalations.get(incident_id)
    if esc is None or not esc.active or now < esc.next_at:
        return
    summary.due += 1
    policy = ports.escalations.get_policy(esc.policy_id)
    incident = ports.incidents.get(incident_id)
    status = incident.status.value if incident is not None else None
    step = n.escalation_step(esc, policy, status, now)
    if step.notify_level is not None:
        assert policy is not None and incident is not None
        view = incident.to_dict()
        view.pop("timeline", None)
        level = step.notify_level
        delivered = _notify_level(ports, policy, level, view, receivers, now, events, summary)
        if not delivered:
            return  # nothing reached anyone: the next tick tries this level again
        summary.notified += 1
    elif not step.after.active:
        summary.stopped += 1
    if step.after == esc:
        return
    try:
        ports.escalations.save(step.after, esc.version)
    except Conflict:
        logger.warning("escalation of %s moved meanwhile (a concurrent sweep)", incident_id)


def _notify_level(
    ports: NotifyPorts,
    policy: EscalationPolicy,
    level: int,
    incident: dict[str, Any],
    receivers: Mapping[str, Receiver],
    now: datetime,
    events: list[DomainEvent],
    summary: EscalationSummary,
) -> bool:
    """True when at least one integration of the level got the page (or none exists)."""
    any_ok, any_tried = False, False
    for name in policy.levels[level].receivers:
        receiver = receivers.get(name)
        notification = Notification(
            receiver=name,
            group_key="",
            group_labels={},
            alerts=_incident_alerts(incident),
            reason=f"escalation level {level + 1}",
            kind="escalation",
            incident=incident,
            level=level,
        )
        if receiver is None:
            result = Delivery(False, 0, f"receiver {name} is not in the notification config")
            _record(ports, notification, "-", result, now, events)
            summary.failed += 1
            continue
        for index, integration in enumerate(receiver.integrations):
            any_tried = True
            result = deliver(ports.send, integration, notification, ports.retry, ports.sleep)
            _record(ports, notification, n.integration_key(index, integration), result, now, events)
            any_ok = any_ok or result.ok
            if not result.ok:
                summary.failed += 1
    return any_ok or not any_tried


def summary_line(items: Sequence[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for item in items:
        counts[item] = counts.get(item, 0) + 1
    return counts
