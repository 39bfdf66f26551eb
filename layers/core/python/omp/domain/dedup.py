"""Deduplication and state of one alert instance, keyed by (source, fingerprint). Pure: no I/O.

`apply(state, signal, now, policy)` reads the stored `AlertState` (or None) and one normalised
`Signal` and returns a `Decision` saying exactly what the store must write:

- CREATE       no state yet and the signal fires: a new alarm and a new state item.
- REPEAT       the alarm is open (or acknowledged) and fires again with a later `observed_at`:
               `occurrences + 1`, `last_seen = observed_at`. No state change and no timeline
               entry, so a store can do it as ONE conditional update (`Decision.repeat`).
- RESOLVE      a resolved signal (Alertmanager resolved, CloudWatch OK, PD resolve) for an
               open or acknowledged alarm.
- ACKNOWLEDGE  a source-side acknowledgement (PagerDuty acknowledge) for an open alarm.
- REOPEN       a firing signal after the alarm was resolved. Like PagerDuty (a trigger on a
               resolved dedup_key opens a new incident) and Alertmanager (a new `startsAt`
               begins a new alert), this is a NEW alarm with a new id, linked to the previous
               one; the fingerprint's state item (occurrences restart at 1) and its flapping
               history carry on. Exception: while the fingerprint is flapping the SAME alarm
               reopens (a new occurrence period), so one flapping alert stays one alarm.
- IGNORE       anything that must not change state: a replay (same `observed_at` as already
               seen), an out-of-order signal older than the last state change, a resolve or
               acknowledge for an unknown fingerprint, a state the source cannot tell
               (CloudWatch INSUFFICIENT_DATA).

Idempotence: a signal is applied only when its `observed_at` is later than the last time seen,
so the same payload delivered twice counts once. Alarm ids are derived from
(source, fingerprint, observed_at) (`alarm_id_for`), so two consumers racing on the same new
alert compute the same id and the store's "not exists" condition lets only one win.

Flapping (`DedupPolicy`): `flap_changes` state changes within `flap_window` mark the alert
flapping; its notifications are held (`Decision.notify` False) until it has had no state change
for `flap_quiet`, when flapping clears and one notification with the settled state goes out.
Clearing is evaluated on every signal and by `settle(state, now, policy)`, which a scheduled
sweep calls (a stable alert sends no further state changes to clear it by).

Everything is deterministic given the arguments: no clock, no randomness.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from omp.domain.signals import Signal, SignalStatus

ALARM_ID_PREFIX = "alm"
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class AlertStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    RESOLVED = "resolved"


class Action(StrEnum):
    CREATE = "create"
    REPEAT = "repeat"
    RESOLVE = "resolve"
    ACKNOWLEDGE = "acknowledge"
    REOPEN = "reopen"
    SETTLE = "settle"  # flapping cleared by `settle` (no signal)
    IGNORE = "ignore"


@dataclass(frozen=True)
class DedupPolicy:
    """Defaults: 5 state changes in 30 minutes is flapping (near Nagios's 20 % weighted
    state change over 21 checks, about 4-5 changes); 30 minutes without a state change is
    stable again. See docs/noise-reduction.md."""

    flap_changes: int = 5
    flap_window: timedelta = timedelta(minutes=30)
    flap_quiet: timedelta = timedelta(minutes=30)

    def __post_init__(self) -> None:
        if self.flap_changes < 2:
            raise ValueError("flap_changes must be at least 2")
        if self.flap_window <= timedelta(0) or self.flap_quiet <= timedelta(0):
            raise ValueError("flap_window and flap_quiet must be positive")


@dataclass(frozen=True)
class AlertState:
    """The stored state of one alert instance (one item per source and fingerprint).

    `version` increases on every write except a repeat (so concurrent repeats never conflict
    with each other); `changes` holds the times of the recent state changes (at most
    `flap_changes`, within `flap_window`) that flapping is decided on.
    """

    source: str
    fingerprint: str
    alarm_id: str
    status: AlertStatus
    occurrences: int
    first_seen: datetime
    last_seen: datetime
    last_change: datetime
    flapping: bool = False
    suppressed: bool = False  # set by silences/inhibition; dedup carries it unchanged
    changes: tuple[datetime, ...] = ()
    version: int = 1

    @property
    def key(self) -> tuple[str, str]:
        return (self.source, self.fingerprint)


@dataclass(frozen=True)
class TimelineEntry:
    """One line of `GET /v1/alarms/{id}/timeline`."""

    alarm_id: str
    at: datetime  # when the source says it happened
    recorded_at: datetime  # when the platform processed it
    kind: str  # created | resolved | acknowledged | reopened | flapping_started | flapping_ended
    status: AlertStatus
    occurrences: int
    note: str = ""
    actor: str = ""  # who made the change through the API; "" for the source's own changes


@dataclass(frozen=True)
class RepeatUpdate:
    """A repeat as one conditional update. For DynamoDB:

        UpdateExpression    ADD occurrences :one SET last_seen = :last_seen
                            [, flapping = :false]                 (when clear_flapping)
        ConditionExpression alarm_id = :alarm_id AND last_seen < :last_seen
                            AND #status IN (:open, :acknowledged)

    The condition makes a replay (same `last_seen`) and a repeat racing a resolve or a reopen
    fail harmlessly (`Conflict`; the consumer re-reads and re-applies)."""

    alarm_id: str
    last_seen: datetime
    add_occurrences: int = 1
    clear_flapping: bool = False
    expected_status: tuple[AlertStatus, ...] = (AlertStatus.OPEN, AlertStatus.ACKNOWLEDGED)


@dataclass(frozen=True)
class Decision:
    """What a store must do with one signal.

    - `state`: the item to write (None when nothing is written). For every action but REPEAT
      and IGNORE, write it with the condition "version = `expected_version`" (or "not exists"
      when `expected_version` is None); for REPEAT use `repeat`.
    - `new_alarm`: True when an alarm record must be created with id `alarm_id`
      (CREATE, and REOPEN unless the same alarm reopens); `previous_alarm_id` links a
      reopened alarm to the one before it.
    - `timeline`: entries to append to the alarm's timeline.
    - `notify`: False when notifications are held (flapping, or nothing changed).
    """

    action: Action
    reason: str
    state: AlertState | None = None
    expected_version: int | None = None
    alarm_id: str | None = None
    new_alarm: bool = False
    previous_alarm_id: str | None = None
    repeat: RepeatUpdate | None = None
    timeline: tuple[TimelineEntry, ...] = ()
    notify: bool = False
    flapping_started: bool = False
    flapping_ended: bool = False

    @property
    def writes(self) -> bool:
        return self.state is not None


def stable_id(prefix: str, at: datetime, *parts: str) -> str:
    """A prefixed ULID whose time part is `at` and whose random part is a hash of `parts`:
    the same inputs always give the same id (replays and racing consumers agree on it)."""
    ms = int(at.timestamp() * 1000)
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=10).digest()
    value = (ms << 80) | int.from_bytes(digest, "big")
    chars = []
    for _ in range(26):
        chars.append(_ALPHABET[value & 31])
        value >>= 5
    return f"{prefix}_{''.join(reversed(chars))}"


def alarm_id_for(source: str, fingerprint: str, started_at: datetime) -> str:
    return stable_id(ALARM_ID_PREFIX, started_at, source, fingerprint, started_at.isoformat())


def _ignore(reason: str) -> Decision:
    return Decision(action=Action.IGNORE, reason=reason)


def _recent(
    changes: tuple[datetime, ...], at: datetime, policy: DedupPolicy
) -> tuple[datetime, ...]:
    """The changes still inside the flap window ending at `at`, at most `flap_changes`."""
    kept = tuple(c for c in changes if at - c < policy.flap_window)
    return kept[-policy.flap_changes :]


def _state_change(
    state: AlertState,
    *,
    action: Action,
    kind: str,
    status: AlertStatus,
    at: datetime,
    now: datetime,
    policy: DedupPolicy,
    reason: str,
    alarm_id: str | None = None,
    new_alarm: bool = False,
    previous_alarm_id: str | None = None,
    restart: bool = False,
    counts: bool = True,
    expected_version: int | None,
) -> Decision:
    """A state change at `at`: clears flapping after a quiet period, records the change,
    sets flapping when the window is full, and builds the timeline and notify flag."""
    was_flapping = state.flapping
    ended = was_flapping and at - state.last_change >= policy.flap_quiet
    flapping = was_flapping and not ended
    changes = _recent((*state.changes, at) if counts else state.changes, at, policy)
    started = not flapping and len(changes) >= policy.flap_changes
    flapping = flapping or started
    the_id = alarm_id or state.alarm_id
    occurrences = 1 if restart else state.occurrences
    new_state = replace(
        state,
        alarm_id=the_id,
        status=status,
        occurrences=occurrences,
        first_seen=at if restart else state.first_seen,
        last_seen=max(at, state.last_seen),
        last_change=at,
        flapping=flapping,
        changes=changes,
        version=state.version + 1 if expected_version is not None else state.version,
    )
    entries: list[TimelineEntry] = []
    if ended:
        entries.append(
            _entry(new_state, at, now, "flapping_ended", f"stable for {policy.flap_quiet}")
        )
    entries.append(_entry(new_state, at, now, kind, reason))
    if started:
        entries.append(
            _entry(
                new_state,
                at,
                now,
                "flapping_started",
                f"{len(changes)} state changes within {policy.flap_window}; notifications held",
            )
        )
    return Decision(
        action=action,
        reason=reason,
        state=new_state,
        expected_version=expected_version,
        alarm_id=the_id,
        new_alarm=new_alarm,
        previous_alarm_id=previous_alarm_id,
        timeline=tuple(entries),
        notify=not flapping,
        flapping_started=started,
        flapping_ended=ended,
    )


def _entry(state: AlertState, at: datetime, now: datetime, kind: str, note: str) -> TimelineEntry:
    return TimelineEntry(
        alarm_id=state.alarm_id,
        at=at,
        recorded_at=now,
        kind=kind,
        status=state.status,
        occurrences=state.occurrences,
        note=note,
    )


def _create(signal: Signal, now: datetime, policy: DedupPolicy) -> Decision:
    at = signal.observed_at
    alarm_id = alarm_id_for(signal.source, signal.fingerprint, at)
    state = AlertState(
        source=signal.source,
        fingerprint=signal.fingerprint,
        alarm_id=alarm_id,
        status=AlertStatus.OPEN,
        occurrences=1,
        first_seen=at,
        last_seen=at,
        last_change=at,
        changes=(at,),
    )
    return Decision(
        action=Action.CREATE,
        reason="first signal for this fingerprint",
        state=state,
        expected_version=None,
        alarm_id=alarm_id,
        new_alarm=True,
        timeline=(_entry(state, at, now, "created", signal.name),),
        notify=True,
    )


def apply(
    state: AlertState | None,
    signal: Signal,
    now: datetime,
    policy: DedupPolicy | None = None,
) -> Decision:
    """Decide what one signal does to the stored state of its alert instance."""
    policy = policy or DEFAULT_POLICY
    if state is not None and state.key != (signal.source, signal.fingerprint):
        raise ValueError("the state belongs to another alert instance")
    at = signal.observed_at
    status = signal.status

    if status is SignalStatus.UNKNOWN:
        return _ignore("the source cannot tell the state (insufficient data)")

    if state is None:
        if status is SignalStatus.FIRING:
            return _create(signal, now, policy)
        return _ignore(f"{status.value} for an unknown fingerprint")

    if at < state.last_change:
        return _ignore("out of order: older than the last state change")

    if status is SignalStatus.FIRING:
        if state.status is AlertStatus.RESOLVED:
            if at == state.last_change:
                return _ignore("firing at the very time it resolved: replay or race")
            if state.flapping:
                return _state_change(
                    state,
                    action=Action.REOPEN,
                    kind="reopened",
                    status=AlertStatus.OPEN,
                    at=at,
                    now=now,
                    policy=policy,
                    reason="fired again while flapping: the same alarm reopens",
                    restart=False,
                    expected_version=state.version,
                )
            new_id = alarm_id_for(signal.source, signal.fingerprint, at)
            return _state_change(
                state,
                action=Action.REOPEN,
                kind="created",
                status=AlertStatus.OPEN,
                at=at,
                now=now,
                policy=policy,
                reason=f"fired again after {state.alarm_id} resolved: a new alarm",
                alarm_id=new_id,
                new_alarm=True,
                previous_alarm_id=state.alarm_id,
                restart=True,
                expected_version=state.version,
            )
        if at <= state.last_seen:
            return _ignore("replay: already seen at this time or later")
        ended = state.flapping and at - state.last_change >= policy.flap_quiet
        new_state = replace(
            state,
            occurrences=state.occurrences + 1,
            last_seen=at,
            flapping=state.flapping and not ended,
        )
        return Decision(
            action=Action.REPEAT,
            reason="repeat of an active alarm",
            state=None,
            alarm_id=state.alarm_id,
            repeat=RepeatUpdate(alarm_id=state.alarm_id, last_seen=at, clear_flapping=ended),
            timeline=(
                (_entry(new_state, at, now, "flapping_ended", f"stable for {policy.flap_quiet}"),)
                if ended
                else ()
            ),
            notify=ended,
            flapping_ended=ended,
        )

    if status is SignalStatus.RESOLVED:
        if state.status is AlertStatus.RESOLVED:
            return _ignore("already resolved")
        return _state_change(
            state,
            action=Action.RESOLVE,
            kind="resolved",
            status=AlertStatus.RESOLVED,
            at=at,
            now=now,
            policy=policy,
            # a source may say why (e.g. the anomaly sweep's `no_data`): the timeline keeps it
            reason=f"resolved by {signal.source}"
            + (f": {why}" if (why := signal.annotations.get("resolve_reason")) else ""),
            expected_version=state.version,
        )

    # ACKNOWLEDGED
    if state.status is not AlertStatus.OPEN:
        return _ignore(f"acknowledge for a {state.status.value} alarm")
    return _state_change(
        state,
        action=Action.ACKNOWLEDGE,
        kind="acknowledged",
        status=AlertStatus.ACKNOWLEDGED,
        at=at,
        now=now,
        policy=policy,
        reason=f"acknowledged in {signal.source}",
        counts=False,  # a person taking the alert is no sign of instability
        expected_version=state.version,
    )


def settle(state: AlertState, now: datetime, policy: DedupPolicy | None = None) -> Decision:
    """The scheduled sweep: a flapping alert with no state change for `flap_quiet` is stable;
    flapping clears and its settled state is notified once."""
    policy = policy or DEFAULT_POLICY
    if not state.flapping or now - state.last_change < policy.flap_quiet:
        return _ignore("not flapping" if not state.flapping else "still within the quiet period")
    new_state = replace(state, flapping=False, version=state.version + 1)
    return Decision(
        action=Action.SETTLE,
        reason=f"no state change for {policy.flap_quiet}",
        state=new_state,
        expected_version=state.version,
        alarm_id=state.alarm_id,
        timeline=(
            _entry(new_state, now, now, "flapping_ended", f"stable for {policy.flap_quiet}"),
        ),
        notify=True,
        flapping_ended=True,
    )


def with_suppressed(state: AlertState, suppressed: bool) -> AlertState:
    """The state with the silence/inhibition flag set (the silences engine decides it)."""
    return state if state.suppressed is suppressed else replace(state, suppressed=suppressed)


def apply_repeat(state: AlertState, update: RepeatUpdate) -> AlertState:
    """What a store's conditional repeat update does, for in-memory stores and tests.

    Raises `ValueError` when the condition does not hold (a store raises `Conflict`)."""
    if (
        state.alarm_id != update.alarm_id
        or not state.last_seen < update.last_seen
        or state.status not in update.expected_status
    ):
        raise ValueError("repeat condition failed")
    return replace(
        state,
        occurrences=state.occurrences + update.add_occurrences,
        last_seen=update.last_seen,
        flapping=False if update.clear_flapping else state.flapping,
    )


DEFAULT_POLICY = DedupPolicy()


def person_entry(
    alarm_id: str,
    status: AlertStatus,
    now: datetime,
    actor: str,
    comment: str | None = None,
    occurrences: int = 0,
) -> TimelineEntry:
    """The timeline entry of a person's acknowledge/resolve through the API. `occurrences`
    is the source's count at that moment (0 for an alarm created through the API)."""
    return TimelineEntry(
        alarm_id=alarm_id,
        at=now,
        recorded_at=now,
        kind=status.value,
        status=status,
        occurrences=occurrences,
        note=comment or "",
        actor=actor,
    )


def by_person(
    state: AlertState | None,
    alarm_id: str,
    status: AlertStatus,
    now: datetime,
    actor: str,
    comment: str | None = None,
) -> tuple[AlertState | None, TimelineEntry]:
    """A person acknowledged or resolved `alarm_id` through the API: the alarm's timeline
    entry, and the dedup state the change implies (None: no state write, because the alarm
    did not come from a source, or the state has moved on to another alarm, or it is already
    there).

    The state follows the person, so the source's next messages are judged against it: after
    an acknowledgement, repeats still count and the source's resolve still resolves; after a
    resolve, the source's resolve is ignored, and its next firing (observed after anything
    seen so far) opens a new alarm. `last_change` moves up to `last_seen`, never to `now`: it
    stays in the source's time, and a replay of an observation already counted stays ignored
    rather than reopening. Not a flapping change: people do not flap."""
    counted = state is not None and state.alarm_id == alarm_id
    entry = person_entry(
        alarm_id, status, now, actor, comment, state.occurrences if counted and state else 0
    )
    if state is None or state.alarm_id != alarm_id or state.status is status:
        return None, entry
    if state.status is AlertStatus.RESOLVED:
        return None, entry  # the source resolved it first; a person cannot go backwards here
    changed = replace(
        state,
        status=status,
        last_change=max(state.last_change, state.last_seen),
        version=state.version + 1,
    )
    return changed, entry
