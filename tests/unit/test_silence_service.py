"""Silences, maintenance windows and inhibition rules: the services, the expiry sweep and the
pipeline's suppression, over in-memory fakes."""

from datetime import UTC, datetime, timedelta

import pytest

from omp.adapters.memory import (
    FixedClock,
    MemoryAlarmRepository,
    MemoryAlertStateStore,
    MemoryIncidentRepository,
    MemoryPublisher,
)
from omp.adapters.memory_silences import (
    MemoryInhibitionRuleStore,
    MemoryMaintenanceWindowStore,
    MemorySilenceStore,
)
from omp.analytics.correlation import MemoryGroupStore
from omp.domain.alarms import Alarm, AlarmQuery, AlarmStatus, Severity
from omp.domain.dedup import DedupPolicy
from omp.domain.errors import NotFound, ValidationFailed
from omp.domain.inhibition import InhibitRuleIn
from omp.domain.queries import TimeRange
from omp.domain.signals import Signal, SignalSeverity, SignalStatus
from omp.domain.silences import CreateMaintenanceWindow, CreateSilence, SilencePolicy, SilenceState
from omp.runtime import env, silence_settings
from omp.services import pipeline, silences
from omp.services.pipeline import PipelineConfig, PipelinePorts
from omp.services.silences import ActiveAlarms
from omp.services.suppression import SilenceSuppression

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class CountingAlarms(MemoryAlarmRepository):
    def __init__(self):
        super().__init__()
        self.list_calls = 0

    def list(self, query):
        self.list_calls += 1
        return super().list(query)


class FailingPublisher(MemoryPublisher):
    def __init__(self):
        super().__init__()
        self.fail = True

    def publish(self, events):
        if self.fail:
            raise RuntimeError("bus down")
        super().publish(events)


@pytest.fixture
def world():
    class W:
        clock = FixedClock(T0)
        store = MemorySilenceStore()
        windows = MemoryMaintenanceWindowStore()
        rules = MemoryInhibitionRuleStore()
        alarms = CountingAlarms()
        events = MemoryPublisher()

    return W()


def body(**overrides):
    data = {
        "matchers": ['alertname="DiskFull"', 'instance=~"db-.+"'],
        "ends_at": (T0 + timedelta(hours=2)).isoformat(),
        "comment": "disk resize",
    }
    return CreateSilence.model_validate(data | overrides)


def create(world, request=None, policy=None):
    return silences.create_silence(
        request or body(),
        actor="alice",
        policy=policy or SilencePolicy(),
        scope=ActiveAlarms(),
        store=world.store,
        alarms=world.alarms,
        events=world.events,
        clock=world.clock,
    )


def alarm(n, status=AlarmStatus.OPEN, name="DiskFull", **labels):
    stamp = (T0 - timedelta(minutes=n + 1)).isoformat().replace("+00:00", "Z")
    return Alarm(
        id=f"alm_{n:026d}",
        name=name,
        severity=Severity.MAJOR,
        message="",
        source="alertmanager",
        labels=labels,
        status=status,
        triggered_at=stamp,
        created_at=stamp,
        updated_at=stamp,
        created_by="t",
    )


# ---- create ---------------------------------------------------------------------------------


def test_create_stores_the_silence_and_announces_it(world):
    record = create(world)
    stored = world.store.get(record.silence.id)
    assert stored.silence.created_by == "alice" and stored.silence.starts_at == T0
    assert record.silence.id.startswith("sil_")
    assert [e.detail_type for e in world.events.events] == ["SilenceCreated"]
    assert world.events.events[0].detail["silence"]["state"] == "active"


@pytest.mark.parametrize(
    ("overrides", "code", "reason"),
    [
        ({"comment": "  "}, "SILENCE_REASON_REQUIRED", None),
        ({"ends_at": (T0 + timedelta(days=8)).isoformat()}, "SILENCE_TOO_LONG", None),
        ({"ends_at": (T0 - timedelta(minutes=1)).isoformat()}, "SILENCE_INVALID_TIME_RANGE", None),
        ({"matchers": ['alertname=~".*"']}, "SILENCE_TOO_BROAD", "matches_everything"),
        ({"matchers": ['env!="prod"']}, "SILENCE_TOO_BROAD", "matches_everything"),
    ],
)
def test_guardrails_refuse_without_reading_the_alarms(world, overrides, code, reason):
    with pytest.raises(ValidationFailed) as info:
        create(world, body(**overrides))
    assert info.value.code == code and info.value.status == 422
    if reason:
        assert info.value.details["reason"] == reason
    assert world.alarms.list_calls == 0 and not world.store.records and not world.events.events


def test_a_ticket_stands_in_for_the_comment(world):
    assert create(world, body(comment="", ticket="CHG-42")).silence.ticket == "CHG-42"


def test_a_silence_over_the_share_of_active_alarms_is_refused(world):
    for n in range(8):
        world.alarms.put_new(alarm(n, instance=f"db-{n}"))
    for n in range(8, 10):
        world.alarms.put_new(alarm(n, AlarmStatus.ACKNOWLEDGED, instance=f"db-{n}"))
    for n in range(10, 12):
        world.alarms.put_new(alarm(n, name="Other", instance=f"web-{n}"))
    world.alarms.put_new(alarm(12, AlarmStatus.RESOLVED, instance="db-x"))  # not active
    with pytest.raises(ValidationFailed) as info:
        create(world)
    details = info.value.details
    assert info.value.code == "SILENCE_TOO_BROAD" and details["reason"] == "share_of_active"
    assert (details["matched"], details["active"]) == (10, 12)
    # a narrower silence (one host) passes
    assert create(world, body(matchers=['instance="db-1"'])).silence.id


def test_the_share_check_reads_alarm_names_as_alertname(world):
    for n in range(10):
        world.alarms.put_new(alarm(n, name="CPUHigh"))  # no labels at all
    with pytest.raises(ValidationFailed):
        create(world, body(matchers=['alertname="CPUHigh"']))


# ---- get, list, expire ----------------------------------------------------------------------


def test_get_unknown_or_malformed_ids_are_404(world):
    for sid in ("sil_01KKBSWHG0KCZ7Y3W8V6P5R4QT", "nope", "alm_01KKBSWHG0KCZ7Y3W8V6P5R4QT"):
        with pytest.raises(NotFound) as info:
            silences.get_silence(sid, store=world.store)
        assert info.value.code == "SILENCE_NOT_FOUND"


def test_list_by_state(world):
    active = create(world).silence.id
    later = T0 + timedelta(hours=1)
    pending = create(world, body(starts_at=later.isoformat())).silence.id
    gone = create(world, body(ends_at=(T0 + timedelta(minutes=5)).isoformat())).silence.id
    world.clock.advance(600)

    def ids(state):
        page = silences.list_silences(state, 50, None, store=world.store, clock=world.clock)
        return [r.silence.id for r in page.items]

    assert ids(SilenceState.ACTIVE) == [active]
    assert ids(SilenceState.PENDING) == [pending]
    assert ids(SilenceState.EXPIRED) == [gone]
    assert set(ids(None)) == {active, pending, gone}


def test_expire_ends_an_active_silence_now_once(world):
    sid = create(world).silence.id
    world.clock.advance(60)
    expired = silences.expire_silence(
        sid, actor="bob", store=world.store, events=world.events, clock=world.clock
    )
    assert expired.silence.ends_at == world.clock.now() and expired.version == 2
    last = world.events.events[-1]
    assert last.detail_type == "SilenceExpired" and last.detail["reason"] == "deleted"
    world.clock.advance(1)
    again = silences.expire_silence(
        sid, actor="bob", store=world.store, events=world.events, clock=world.clock
    )
    assert again.version == 2 and len(world.events.events) == 2


def test_expire_cancels_a_pending_silence(world):
    sid = create(world, body(starts_at=(T0 + timedelta(hours=1)).isoformat())).silence.id
    expired = silences.expire_silence(
        sid, actor="bob", store=world.store, events=world.events, clock=world.clock
    )
    assert expired.silence.starts_at == expired.silence.ends_at == T0


# ---- the expiry sweep -----------------------------------------------------------------------


def sweep(world, events=None):
    return silences.warn_expiring(
        store=world.store,
        events=events or world.events,
        clock=world.clock,
        warn_before=timedelta(minutes=15),
    )


def test_the_sweep_warns_once_before_the_end_and_announces_the_end_once(world):
    sid = create(world, body(ends_at=(T0 + timedelta(minutes=40)).isoformat())).silence.id
    world.events.events.clear()
    assert sweep(world)["expiring"] == 0  # 40 minutes left
    world.clock.advance(30 * 60)  # 10 minutes left
    assert sweep(world)["expiring"] == 1
    world.clock.advance(5 * 60)
    assert sweep(world)["expiring"] == 0  # already warned
    [warning] = world.events.events
    assert warning.detail_type == "SilenceExpiring"
    assert warning.detail["silence"]["id"] == sid and warning.detail["expires_in_seconds"] == 600
    world.clock.advance(10 * 60)  # ended
    assert sweep(world)["expired"] == 1
    assert sweep(world)["expired"] == 0
    assert [e.detail_type for e in world.events.events] == ["SilenceExpiring", "SilenceExpired"]
    assert world.events.events[-1].detail["reason"] == "ended"


def test_a_deleted_silence_is_not_announced_again_by_the_sweep(world):
    sid = create(world).silence.id
    silences.expire_silence(
        sid, actor="bob", store=world.store, events=world.events, clock=world.clock
    )
    world.clock.advance(60)
    assert sweep(world) == {"expiring": 0, "expired": 0, "seen": 1}


def test_a_failed_publish_releases_the_claim_so_the_next_sweep_retries(world):
    create(world, body(ends_at=(T0 + timedelta(minutes=10)).isoformat()))
    failing = FailingPublisher()
    with pytest.raises(RuntimeError):
        sweep(world, failing)
    failing.fail = False
    assert sweep(world, failing)["expiring"] == 1
    assert [e.detail_type for e in failing.events] == ["SilenceExpiring"]


# ---- windows and rules ----------------------------------------------------------------------


def test_windows_and_rules_create_get_delete(world):
    request = CreateMaintenanceWindow.model_validate(
        {"name": "patch", "cron": "0 2 * * *", "duration_minutes": 60, "matchers": ['env="stg"']}
    )
    window = silences.create_window(
        request, actor="a", store=world.windows, events=world.events, clock=world.clock
    )
    assert silences.get_window(window.id, store=world.windows) == window
    silences.delete_window(
        window.id, actor="a", store=world.windows, events=world.events, clock=world.clock
    )
    with pytest.raises(NotFound):
        silences.delete_window(
            window.id, actor="a", store=world.windows, events=world.events, clock=world.clock
        )
    rule = silences.create_rule(
        InhibitRuleIn.model_validate(
            {"source_matchers": ['alertname="NodeDown"'], "target_matchers": ['sev="warn"']}
        ),
        actor="a",
        store=world.rules,
        events=world.events,
        clock=world.clock,
    )
    silences.delete_rule(rule.id, actor="a", store=world.rules, events=world.events)
    with pytest.raises(NotFound) as info:
        silences.delete_rule(rule.id, actor="a", store=world.rules, events=world.events)
    assert info.value.code == "INHIBITION_RULE_NOT_FOUND"
    assert [e.detail_type for e in world.events.events] == [
        "MaintenanceWindowCreated",
        "MaintenanceWindowDeleted",
        "InhibitionRuleCreated",
        "InhibitionRuleDeleted",
    ]


# ---- suppression in the pipeline ------------------------------------------------------------


def suppression(world):
    return SilenceSuppression(
        silences=lambda: world.store,
        windows=lambda: world.windows,
        rules=lambda: world.rules,
        alarms=lambda: world.alarms,
        clock=world.clock,
    )


def make_ports(world):
    return PipelinePorts(
        states=MemoryAlertStateStore(),
        alarms=world.alarms,
        reopener=world.alarms,
        incidents=MemoryIncidentRepository(),
        groups=MemoryGroupStore(),
        events=world.events,
        clock=world.clock,
    )


def sig(fp, status=SignalStatus.FIRING, name="DiskFull", minute=0, **labels):
    return Signal(
        source="alertmanager",
        fingerprint=fp,
        status=status,
        name=name,
        severity=SignalSeverity.WARNING,
        observed_at=T0 + timedelta(minutes=minute),
        labels={"alertname": name, **labels},
    )


def add_rule(world, source, target, equal=()):
    return silences.create_rule(
        InhibitRuleIn.model_validate(
            {"source_matchers": source, "target_matchers": target, "equal": list(equal)}
        ),
        actor="a",
        store=world.rules,
        events=world.events,
        clock=world.clock,
    )


def test_a_silenced_alarm_is_stored_as_suppressed_with_the_silence_id(world):
    sid = create(world).silence.id
    ports, config = make_ports(world), PipelineConfig(suppression=suppression(world))
    held = pipeline.process_signal(sig("a", instance="db-1"), ports, config)
    free = pipeline.process_signal(sig("b", instance="web-1"), ports, config)
    stored = world.alarms.get(held.alarm_id)
    assert stored.suppressed and stored.suppressed_by == [sid]
    assert not world.alarms.get(free.alarm_id).suppressed
    raised = [e for e in world.events.events if e.detail_type == "AlarmRaised"]
    assert [e.detail["notify"] for e in raised] == [False, True]
    assert raised[0].detail["alarm"]["suppressed_by"] == [sid]
    assert ports.states.states[("alertmanager", "a")].suppressed
    window = TimeRange(T0 - timedelta(days=1), T0 + timedelta(days=1))
    only = world.alarms.list(AlarmQuery(window, suppressed=True)).items
    assert [a.id for a in only] == [held.alarm_id]
    rest = world.alarms.list(AlarmQuery(window, suppressed=False)).items
    assert [a.id for a in rest] == [free.alarm_id]


def test_the_stores_are_read_once_per_batch_and_not_for_repeats(world):
    create(world)
    world.alarms.list_calls = 0  # the share check's read
    ports, sup = make_ports(world), suppression(world)
    config = PipelineConfig(suppression=sup)
    pipeline.process_signal(sig("a", minute=0, instance="db-1"), ports, config)
    pipeline.process_signal(sig("b", minute=0, instance="db-2"), ports, config)
    pipeline.process_signal(sig("c", minute=0, instance="db-3"), ports, config)
    assert (world.store.reads, world.windows.reads, world.rules.reads) == (1, 1, 1)
    assert world.alarms.list_calls == 0  # no rule targets anything: no active-alarm read
    fresh = PipelineConfig(suppression=suppression(world))  # next batch: repeats only
    pipeline.process_signal(sig("a", minute=1, instance="db-1"), ports, fresh)
    assert world.store.reads == 1


def test_an_open_maintenance_window_suppresses(world):
    request = CreateMaintenanceWindow.model_validate(
        {
            "name": "noon",
            "cron": "0 12 * * *",
            "duration_minutes": 30,
            "matchers": ['env="stg"'],
        }
    )
    window = silences.create_window(
        request, actor="a", store=world.windows, events=world.events, clock=world.clock
    )
    world.clock.advance(60)
    ports, config = make_ports(world), PipelineConfig(suppression=suppression(world))
    result = pipeline.process_signal(sig("a", env="stg"), ports, config)
    assert world.alarms.get(result.alarm_id).suppressed_by == [window.id]


def test_inhibition_needs_every_source_matcher_and_the_equal_labels(world):
    rule = add_rule(
        world,
        ['alertname="NodeDown"', 'severity="critical"'],
        ['alertname="DiskFull"'],
        equal=("instance", "cluster"),
    )
    # firing sources already stored as active alarms
    world.alarms.put_new(alarm(1, name="NodeDown", severity="critical", instance="n1", cluster="c"))
    world.alarms.put_new(alarm(2, name="NodeDown", severity="warning", instance="n2", cluster="c"))
    world.alarms.put_new(
        alarm(3, AlarmStatus.RESOLVED, name="NodeDown", severity="critical", instance="n3")
    )
    ports, config = make_ports(world), PipelineConfig(suppression=suppression(world))

    def held(fp, **labels):
        result = pipeline.process_signal(sig(fp, **labels), ports, config)
        return world.alarms.get(result.alarm_id).suppressed_by

    assert held("t1", instance="n1", cluster="c") == [rule.id]
    assert held("t2", instance="n1", cluster="other") == []  # `cluster` differs
    assert held("t3", instance="n2", cluster="c") == []  # source not critical: AND fails
    assert held("t4", instance="n3") == []  # the only n3 source is resolved
    assert world.alarms.list_calls == 2  # active alarms read once (open + acknowledged)


def test_a_source_raised_earlier_in_the_same_batch_inhibits(world):
    rule = add_rule(world, ['alertname="NodeDown"'], ['alertname="DiskFull"'], equal=("instance",))
    ports, config = make_ports(world), PipelineConfig(suppression=suppression(world))
    pipeline.process_signal(sig("s", name="NodeDown", instance="n9"), ports, config)
    result = pipeline.process_signal(sig("t", instance="n9"), ports, config)
    assert world.alarms.get(result.alarm_id).suppressed_by == [rule.id]


# ---- settings -------------------------------------------------------------------------------


def test_settings_defaults_and_overrides():
    with env.overlay({}):
        policy = silence_settings.policy()
        assert policy == SilencePolicy()
        assert silence_settings.warn_before() == timedelta(minutes=15)
    values = {
        "OMP_SILENCE_MAX_DURATION_HOURS": "24",
        "OMP_SILENCE_MAX_ACTIVE_SHARE": "0.25",
        "OMP_SILENCE_SHARE_MIN_ALARMS": "4",
        "OMP_SILENCE_WARN_BEFORE_MINUTES": "30",
        "OMP_ACTIVE_ALARMS_LOOKBACK_DAYS": "3",
    }
    with env.overlay(values):
        policy = silence_settings.policy()
        assert policy.max_duration == timedelta(hours=24) and policy.max_active_share == 0.25
        assert policy.share_min_alarms == 4
        assert silence_settings.warn_before() == timedelta(minutes=30)
        assert silence_settings.active_alarms().lookback == timedelta(days=3)


@pytest.mark.parametrize("value", ["abc", "0", "2.5"])
def test_a_bad_setting_is_refused_by_name(value):
    with env.overlay({"OMP_SILENCE_MAX_DURATION_HOURS": value}), pytest.raises(ValueError) as info:
        silence_settings.policy()
    assert "OMP_SILENCE_MAX_DURATION_HOURS" in str(info.value)


def test_a_flapping_reopen_of_the_same_alarm_is_judged_again(world):
    ports = make_ports(world)
    config = PipelineConfig(dedup=DedupPolicy(flap_changes=3), suppression=suppression(world))
    steps = [(SignalStatus.FIRING, 0), (SignalStatus.RESOLVED, 1), (SignalStatus.FIRING, 2)]
    steps += [(SignalStatus.RESOLVED, 3)]
    for status, minute in steps:
        pipeline.process_signal(sig("f", status, minute=minute, instance="db-1"), ports, config)
    sid = create(world).silence.id  # silenced only now
    config = PipelineConfig(dedup=DedupPolicy(flap_changes=3), suppression=suppression(world))
    result = pipeline.process_signal(
        sig("f", SignalStatus.FIRING, minute=4, instance="db-1"), ports, config
    )
    assert result.action.value == "reopen"
    reopened = world.alarms.get(result.alarm_id)
    assert reopened.status is AlarmStatus.OPEN and reopened.suppressed_by == [sid]
    # the silence is gone at the next reopen: the same alarm is no longer held
    silences.expire_silence(
        sid, actor="bob", store=world.store, events=world.events, clock=world.clock
    )
    world.clock.advance(1)  # a silence is active through its end instant (as in Alertmanager)
    pipeline.process_signal(
        sig("f", SignalStatus.RESOLVED, minute=5, instance="db-1"), ports, config
    )
    config = PipelineConfig(dedup=DedupPolicy(flap_changes=3), suppression=suppression(world))
    again = pipeline.process_signal(
        sig("f", SignalStatus.FIRING, minute=6, instance="db-1"), ports, config
    )
    assert again.alarm_id == result.alarm_id
    assert world.alarms.get(again.alarm_id).suppressed is False
    assert world.alarms.get(again.alarm_id).suppressed_by == []


# ---- the batch indexes answer as the domain does --------------------------------------------


def random_labels(rng):
    names = ("alertname", "instance", "cluster", "severity", "team")
    return {n: f"{n[0]}{rng.randrange(3)}" for n in names if rng.random() < 0.8}


def random_matchers(rng, count):
    from omp.domain.matchers import Matcher, MatchType

    out = []
    for _ in range(count):
        name = rng.choice(("alertname", "instance", "cluster", "severity", "team"))
        kind = rng.choice(list(MatchType))
        value = rng.choice((f"{name[0]}{rng.randrange(3)}", "", f"{name[0]}[01]", ".*"))
        if kind in (MatchType.EQUAL, MatchType.NOT_EQUAL):
            value = value.replace("[01]", "1").replace(".*", "")
        out.append(Matcher(name, kind, value))
    return tuple(out)


def test_the_silence_index_answers_as_is_silenced():
    import random

    from omp.domain.silences import Silence, is_silenced
    from omp.services.suppression import SilenceIndex

    rng = random.Random(11)
    for _ in range(200):
        silences = [
            Silence(
                id=f"sil_{n}",
                matchers=random_matchers(rng, rng.randint(1, 3)),
                starts_at=T0 - timedelta(minutes=rng.choice((-5, 5))),
                ends_at=T0 + timedelta(minutes=rng.choice((-1, 5))),
                created_by="t",
                created_at=T0,
            )
            for n in range(rng.randint(0, 12))
        ]
        index = SilenceIndex(silences)
        for _ in range(20):
            labels = random_labels(rng)
            assert index.matching(labels, T0) == is_silenced(labels, silences, T0)


def test_the_rule_index_answers_as_explain_inhibition():
    import random

    from omp.domain.inhibition import InhibitRule, explain_inhibition
    from omp.services.suppression import RuleIndex

    rng = random.Random(12)
    for _ in range(300):
        rules = [
            InhibitRule(
                source_matchers=random_matchers(rng, rng.randint(1, 2)),
                target_matchers=random_matchers(rng, rng.randint(1, 2)),
                equal=tuple(rng.sample(("instance", "cluster", "team"), rng.randint(0, 2))),
            )
            for _ in range(rng.randint(1, 4))
        ]
        firing = [random_labels(rng) for _ in range(rng.randint(0, 15))]
        indexes = [RuleIndex(r) for r in rules]
        for labels in firing:
            for index in indexes:
                index.add(labels)
        for _ in range(20):
            target = random_labels(rng)
            expected = explain_inhibition(target, firing, rules)
            got = next(
                (
                    n
                    for n, r in enumerate(rules)
                    if r.is_target(target) and indexes[n].inhibits(target)
                ),
                None,
            )
            assert got == (None if expected is None else expected.rule_index)
