from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from omp.domain import dedup
from omp.domain.dedup import Action, AlertState, AlertStatus, DedupPolicy, apply, settle
from omp.domain.ids import is_id
from omp.domain.signals import Signal, SignalSeverity, SignalStatus

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
F = SignalStatus.FIRING
R = SignalStatus.RESOLVED
A = SignalStatus.ACKNOWLEDGED
U = SignalStatus.UNKNOWN


def sig(status, minute, *, source="alertmanager", fp="fp1"):
    return Signal(
        source=source,
        fingerprint=fp,
        status=status,
        name="HighLatency",
        severity=SignalSeverity.MAJOR,
        observed_at=T0 + timedelta(minutes=minute),
    )


def store_apply(state, decision):
    """What a store does with a decision (the in-memory reference of the contract)."""
    if decision.action is Action.REPEAT:
        return dedup.apply_repeat(state, decision.repeat)
    if decision.state is not None:
        if decision.expected_version is None:
            assert state is None
        else:
            assert state.version == decision.expected_version
        return decision.state
    return state


def run(signals, policy=None):
    state, decisions = None, []
    for s in signals:
        d = apply(state, s, s.observed_at, policy)
        state = store_apply(state, d)
        decisions.append(d)
    return state, decisions


@pytest.mark.parametrize(
    ("name", "signals", "actions", "status", "occurrences"),
    [
        ("new", [sig(F, 0)], ["create"], "open", 1),
        (
            "repeats counted once each",
            [sig(F, 0), sig(F, 1), sig(F, 2)],
            ["create", "repeat", "repeat"],
            "open",
            3,
        ),
        (
            "replay not double-counted",
            [sig(F, 0), sig(F, 1), sig(F, 1), sig(F, 0)],
            ["create", "repeat", "ignore", "ignore"],
            "open",
            2,
        ),
        ("resolve", [sig(F, 0), sig(R, 3)], ["create", "resolve"], "resolved", 1),
        (
            "resolve replayed",
            [sig(F, 0), sig(R, 3), sig(R, 3)],
            ["create", "resolve", "ignore"],
            "resolved",
            1,
        ),
        (
            "out-of-order firing after resolve",
            [sig(F, 0), sig(R, 3), sig(F, 2)],
            ["create", "resolve", "ignore"],
            "resolved",
            1,
        ),
        ("out-of-order resolve", [sig(F, 5), sig(R, 3)], ["create", "ignore"], "open", 1),
        ("resolved for unknown", [sig(R, 0)], ["ignore"], None, None),
        ("ack for unknown", [sig(A, 0)], ["ignore"], None, None),
        ("unknown state", [sig(F, 0), sig(U, 1)], ["create", "ignore"], "open", 1),
        ("reopen", [sig(F, 0), sig(R, 3), sig(F, 6)], ["create", "resolve", "reopen"], "open", 1),
        (
            "ack then repeat then resolve",
            [sig(F, 0), sig(A, 1), sig(F, 2), sig(R, 3)],
            ["create", "acknowledge", "repeat", "resolve"],
            "resolved",
            2,
        ),
        (
            "ack twice",
            [sig(F, 0), sig(A, 1), sig(A, 2)],
            ["create", "acknowledge", "ignore"],
            "acknowledged",
            1,
        ),
        (
            "firing at the resolve time",
            [sig(F, 0), sig(R, 3), sig(F, 3)],
            ["create", "resolve", "ignore"],
            "resolved",
            1,
        ),
    ],
)
def test_signal_sequences(name, signals, actions, status, occurrences):
    state, decisions = run(signals)
    assert [d.action.value for d in decisions] == actions, name
    if status is None:
        assert state is None
    else:
        assert state.status.value == status
        assert state.occurrences == occurrences


def test_cloudwatch_ok_after_alarm_resolves_and_ok_alone_is_ignored():
    arn = "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:cpu"
    state, decisions = run(
        [sig(F, 0, source="cloudwatch", fp=arn), sig(R, 4, source="cloudwatch", fp=arn)]
    )
    assert [d.action for d in decisions] == [Action.CREATE, Action.RESOLVE]
    assert state.status is AlertStatus.RESOLVED
    assert decisions[1].timeline[0].kind == "resolved"
    assert apply(None, sig(R, 0, source="cloudwatch", fp=arn), T0).action is Action.IGNORE


def test_create_decision_contents():
    d = apply(None, sig(F, 0), T0 + timedelta(seconds=5))
    assert d.new_alarm and d.notify and d.expected_version is None
    assert is_id(d.alarm_id, "alm")
    assert d.state.first_seen == d.state.last_seen == d.state.last_change == T0
    assert [e.kind for e in d.timeline] == ["created"]
    assert d.timeline[0].recorded_at == T0 + timedelta(seconds=5)


def test_alarm_id_is_deterministic_so_replays_and_racing_consumers_agree():
    a = apply(None, sig(F, 0), T0)
    b = apply(None, sig(F, 0), T0 + timedelta(minutes=9))
    c = apply(None, sig(F, 0, fp="other"), T0)
    assert a.alarm_id == b.alarm_id != c.alarm_id


def test_repeat_is_one_conditional_update_without_timeline_or_version_change():
    state, _ = run([sig(F, 0)])
    d = apply(state, sig(F, 1), T0)
    assert d.state is None and d.timeline == () and not d.notify
    assert d.repeat.alarm_id == state.alarm_id
    assert d.repeat.last_seen == T0 + timedelta(minutes=1)
    after = dedup.apply_repeat(state, d.repeat)
    assert after.version == state.version and after.occurrences == 2
    # the same update applied twice fails its condition: a replay never double-counts
    with pytest.raises(ValueError):
        dedup.apply_repeat(after, d.repeat)
    # a repeat racing a resolve fails its condition
    resolved = store_apply(state, apply(state, sig(R, 1), T0))
    with pytest.raises(ValueError):
        dedup.apply_repeat(resolved, dedup.apply(state, sig(F, 2), T0).repeat)


def test_reopen_is_a_new_alarm_linked_to_the_previous_one():
    state, decisions = run([sig(F, 0), sig(F, 1), sig(R, 3), sig(F, 10)])
    reopen = decisions[-1]
    assert reopen.action is Action.REOPEN and reopen.new_alarm and reopen.notify
    assert reopen.previous_alarm_id == decisions[0].alarm_id
    assert reopen.alarm_id != decisions[0].alarm_id
    assert state.alarm_id == reopen.alarm_id
    assert state.occurrences == 1 and state.first_seen == T0 + timedelta(minutes=10)
    assert len(state.changes) == 3  # flapping history spans alarms


def test_state_changes_bump_the_version_for_conditional_writes():
    state, decisions = run([sig(F, 0), sig(R, 1), sig(F, 2)])
    assert [d.expected_version for d in decisions] == [None, 1, 2]
    assert state.version == 3


FLAP = DedupPolicy(
    flap_changes=5, flap_window=timedelta(minutes=30), flap_quiet=timedelta(minutes=30)
)


def flaps(n, start=0, step=2):
    return [sig(F if i % 2 == 0 else R, start + i * step) for i in range(n)]


def test_flapping_set_after_n_changes_in_window_and_notifications_held():
    state, decisions = run(flaps(8), FLAP)
    assert [d.flapping_started for d in decisions] == [False] * 4 + [True] + [False] * 3
    assert [d.notify for d in decisions] == [True] * 4 + [False] * 4
    assert state.flapping
    assert "flapping_started" in [e.kind for e in decisions[4].timeline]
    # while flapping, firing again reopens the same alarm
    refires = [d for d in decisions[5:] if d.action is Action.REOPEN]
    assert refires and all(not d.new_alarm and d.alarm_id == decisions[4].alarm_id for d in refires)


def test_changes_spread_wider_than_window_do_not_flap():
    # 5 changes 8 minutes apart span 32 minutes > 30
    state, decisions = run(flaps(5, step=8), FLAP)
    assert not state.flapping and all(d.notify for d in decisions)


def test_five_changes_just_inside_window_flap():
    state, _ = run(flaps(5, step=7), FLAP)  # span 28 minutes
    assert state.flapping


def test_flapping_clears_on_next_change_after_quiet_period():
    state, _ = run(flaps(5), FLAP)  # last change firing at minute 8
    assert state.flapping and state.status is AlertStatus.OPEN
    early = apply(state, sig(R, 8 + 29), T0)
    assert not early.flapping_ended and not early.notify
    d = apply(state, sig(R, 8 + 30), T0)
    assert d.flapping_ended and d.notify and not d.state.flapping
    assert [e.kind for e in d.timeline] == ["flapping_ended", "resolved"]


def test_flapping_clears_on_a_repeat_after_quiet_period_in_the_same_update():
    state, _ = run(flaps(5), FLAP)
    d = apply(state, sig(F, 8 + 31), T0)
    assert d.action is Action.REPEAT and d.flapping_ended and d.notify
    assert d.repeat.clear_flapping
    assert not dedup.apply_repeat(state, d.repeat).flapping


def test_settle_clears_flapping_for_a_stable_alert():
    state, _ = run(flaps(5), FLAP)
    last = state.last_change
    assert settle(state, last + timedelta(minutes=29), FLAP).action is Action.IGNORE
    d = settle(state, last + timedelta(minutes=30), FLAP)
    assert d.action is Action.SETTLE and d.notify and not d.state.flapping
    assert d.expected_version == state.version and d.state.version == state.version + 1
    assert settle(d.state, last + timedelta(hours=5), FLAP).action is Action.IGNORE


def test_stale_signal_never_changes_state():
    state, _ = run([sig(F, 10), sig(F, 12)])
    for s in (sig(F, 5), sig(R, 9), sig(A, 1)):
        assert apply(state, s, T0).action is Action.IGNORE


def test_state_of_another_fingerprint_is_refused():
    state, _ = run([sig(F, 0)])
    with pytest.raises(ValueError):
        apply(state, sig(F, 1, fp="other"), T0)


def test_suppressed_flag_is_carried():
    state, _ = run([sig(F, 0)])
    silenced = dedup.with_suppressed(state, True)
    d = apply(silenced, sig(R, 1), T0)
    assert d.state.suppressed


@pytest.mark.parametrize("bad", [{"flap_changes": 1}, {"flap_window": timedelta(0)}])
def test_policy_validation(bad):
    with pytest.raises(ValueError):
        DedupPolicy(**bad)


def test_decisions_are_deterministic():
    signals = flaps(9)
    _, a = run(signals, FLAP)
    _, b = run(signals, FLAP)
    assert a == b
    assert isinstance(replace(a[0].state, flapping=True), AlertState)


def test_acknowledgements_do_not_count_towards_flapping():
    signals = [sig(F, 0), sig(A, 1), sig(R, 2), sig(F, 3), sig(A, 4), sig(R, 5)]
    state, _ = run(signals, FLAP)
    assert len(state.changes) == 4 and not state.flapping
    state, _ = run([*signals, sig(F, 6)], FLAP)
    assert state.flapping
