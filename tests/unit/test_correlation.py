from datetime import UTC, datetime, timedelta

import pytest

from omp.analytics import correlation
from omp.analytics.correlation import (
    AlarmFacts,
    LabelGroupRule,
    MemoryGroupStore,
    MemoryTopology,
    Outcome,
    TopologyRule,
    correlate,
)
from omp.domain.ids import is_id

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def at(minutes):
    return T0 + timedelta(minutes=minutes)


def facts(i, minute=0, resource=None, **labels):
    return AlarmFacts(alarm_id=f"alm_{i}", at=at(minute), resource=resource, labels=labels)


def feed(alarms, rules, store=None, now=None):
    """Correlate alarms in turn, writing each decision's group; returns the decisions."""
    store = store or MemoryGroupStore()
    out = []
    for a in alarms:
        d = correlate(a, rules, store, now or a.at)
        store.save(d.group)
        out.append(d)
    return out


BY_SERVICE = LabelGroupRule(name="svc", by=("service",), window=timedelta(minutes=10))


def test_same_labels_within_window_join_one_incident():
    ds = feed(
        [facts(1, 0, service="api"), facts(2, 3, service="api"), facts(3, 4, service="db")],
        [BY_SERVICE],
    )
    assert [d.outcome for d in ds] == [Outcome.OPEN, Outcome.JOIN, Outcome.OPEN]
    assert ds[1].incident_id == ds[0].incident_id != ds[2].incident_id
    assert is_id(ds[0].incident_id, "inc")
    assert ds[1].group.size == 2


@pytest.mark.parametrize(
    ("gap_minutes", "gap_seconds", "joins"),
    [(10, 0, True), (10, 1, False), (9, 59, True), (0, 0, True)],
)
def test_label_window_boundary(gap_minutes, gap_seconds, joins):
    first = facts(1, 0, service="api")
    second = AlarmFacts(
        alarm_id="alm_2",
        at=T0 + timedelta(minutes=gap_minutes, seconds=gap_seconds),
        labels={"service": "api"},
    )
    ds = feed([first, second], [BY_SERVICE])
    assert (ds[1].outcome is Outcome.JOIN) is joins
    assert (ds[1].incident_id == ds[0].incident_id) is joins


def test_window_slides_with_each_alarm():
    ds = feed(
        [facts(i, i * 8, service="api") for i in range(5)], [BY_SERVICE]
    )  # 32 minutes, 8 apart
    assert len({d.incident_id for d in ds}) == 1


def test_closed_group_starts_a_new_incident():
    store = MemoryGroupStore()
    first = feed([facts(1, 0, service="api")], [BY_SERVICE], store)[0]
    store.save(correlation.close(store.group(first.group.key)))
    second = feed([facts(2, 1, service="api")], [BY_SERVICE], store)[0]
    assert second.outcome is Outcome.OPEN and second.incident_id != first.incident_id


def test_alarm_missing_a_group_label_falls_through_to_its_own_incident():
    rule = LabelGroupRule(name="svc-env", by=("service", "env"))
    ds = feed([facts(1, 0, service="api"), facts(2, 0, service="api")], [rule])
    assert [d.rule for d in ds] == ["alone", "alone"]
    assert ds[0].incident_id != ds[1].incident_id


def test_match_restricts_the_rule():
    rule = LabelGroupRule(name="prod", by=("service",), match={"env": "prod"})
    ds = feed([facts(1, 0, service="a", env="dev"), facts(2, 0, service="a", env="prod")], [rule])
    assert [d.rule for d in ds] == ["alone", "prod"]


@pytest.mark.parametrize(
    ("n", "alarms", "outcomes"),
    [
        (1, 2, ["open", "join"]),
        (2, 3, ["pending", "open", "join"]),
        (3, 4, ["pending", "pending", "open", "join"]),
    ],
)
def test_open_only_after_n_alarms(n, alarms, outcomes):
    rule = LabelGroupRule(name="svc", by=("service",), open_after_alarms=n)
    ds = feed([facts(i, i, service="api") for i in range(alarms)], [rule])
    assert [d.outcome.value for d in ds] == outcomes
    opened = next(d for d in ds if d.outcome is Outcome.OPEN)
    assert [a.alarm_id for a in opened.alarms] == [f"alm_{i}" for i in range(n)]
    assert all(d.incident_id is None for d in ds if d.outcome is Outcome.PENDING)


def test_pending_alarm_that_resolves_leaves_the_group_and_never_opens():
    rule = LabelGroupRule(name="svc", by=("service",), open_after_alarms=2)
    store = MemoryGroupStore()
    d = feed([facts(1, 0, service="api")], [rule], store)[0]
    assert d.outcome is Outcome.PENDING
    assert correlation.on_alarm_resolved(d.group, "alm_1") is None
    store.delete(d.group.key)
    d2 = feed([facts(2, 1, service="api")], [rule], store)[0]
    assert d2.outcome is Outcome.PENDING and len(d2.group.pending) == 1


def test_redelivered_pending_alarm_counts_once():
    rule = LabelGroupRule(name="svc", by=("service",), open_after_alarms=2)
    ds = feed([facts(1, 0, service="api"), facts(1, 0, service="api")], [rule])
    assert [d.outcome for d in ds] == [Outcome.PENDING, Outcome.PENDING]
    assert len(ds[1].group.pending) == 1


def test_pending_group_expires_after_the_window():
    rule = LabelGroupRule(
        name="svc", by=("service",), window=timedelta(minutes=5), open_after_alarms=2
    )
    ds = feed([facts(1, 0, service="api"), facts(2, 6, service="api")], [rule])
    assert [d.outcome for d in ds] == [Outcome.PENDING, Outcome.PENDING]
    assert [p.alarm_id for p in ds[1].group.pending] == ["alm_2"]


@pytest.mark.parametrize(("elapsed", "opens"), [(4, False), (5, True), (6, True)])
def test_open_after_an_alarm_persists_for_t(elapsed, opens):
    rule = LabelGroupRule(name="svc", by=("service",), open_after=timedelta(minutes=5))
    store = MemoryGroupStore()
    d = feed([facts(1, 0, service="api")], [rule], store)[0]
    assert d.outcome is Outcome.PENDING
    ticked = correlation.tick(store.pending(), [rule], at(elapsed))
    assert bool(ticked) is opens
    if opens:
        assert ticked[0].outcome is Outcome.OPEN and ticked[0].alarms[0].alarm_id == "alm_1"
        assert ticked[0].group.incident_id == ticked[0].incident_id


def test_persist_threshold_is_also_checked_when_an_alarm_arrives():
    rule = LabelGroupRule(name="svc", by=("service",), open_after=timedelta(minutes=5))
    store = MemoryGroupStore()
    feed([facts(1, 0, service="api")], [rule], store)
    d = correlate(facts(2, 4, service="api"), [rule], store, at(5))
    assert d.outcome is Outcome.OPEN and len(d.alarms) == 2


def test_n_or_t_whichever_first():
    rule = LabelGroupRule(
        name="svc", by=("service",), open_after_alarms=3, open_after=timedelta(minutes=5)
    )
    store = MemoryGroupStore()
    ds = feed([facts(1, 0, service="api"), facts(2, 1, service="api")], [rule], store)
    assert [d.outcome for d in ds] == [Outcome.PENDING, Outcome.PENDING]
    assert correlation.tick(store.pending(), [rule], at(4)) == []
    assert correlation.tick(store.pending(), [rule], at(5))[0].outcome is Outcome.OPEN


def test_incident_id_is_deterministic():
    a = feed([facts(1, 0, service="api")], [BY_SERVICE])[0]
    b = feed([facts(1, 0, service="api")], [BY_SERVICE])[0]
    assert a.incident_id == b.incident_id


#   lb - web-1 - app-1 - db-1 - disk-1        (a chain: hop counts are unambiguous)
CHAIN = MemoryTopology([("lb", "web-1"), ("web-1", "app-1"), ("app-1", "db-1"), ("db-1", "disk-1")])


@pytest.mark.parametrize(
    ("k", "other", "joins"),
    [
        (1, "app-1", True),
        (1, "db-1", False),
        (2, "db-1", True),
        (2, "disk-1", False),
        (3, "disk-1", True),
        (2, "web-1", True),  # the alarm on web-1 itself
        (2, "unrelated", False),
    ],
)
def test_topology_joins_within_k_hops_and_not_beyond(k, other, joins):
    rules = [TopologyRule(name="topo", topology=CHAIN, k=k)]
    ds = feed([facts(1, 0, resource="web-1"), facts(2, 1, resource=other)], rules)
    assert ds[0].outcome is Outcome.OPEN
    assert (ds[1].outcome is Outcome.JOIN) is joins
    assert (ds[1].incident_id == ds[0].incident_id) is joins
    if joins:
        assert ds[1].group.resources == {"web-1", other}


def test_topology_respects_the_window_and_ignores_pending_groups():
    rules = [TopologyRule(name="topo", topology=CHAIN, k=2, window=timedelta(minutes=5))]
    ds = feed([facts(1, 0, resource="web-1"), facts(2, 6, resource="app-1")], rules)
    assert ds[1].outcome is Outcome.OPEN
    held = [
        TopologyRule(name="topo", topology=CHAIN),
        LabelGroupRule(name="svc", by=("service",), open_after_alarms=5),
    ]
    ds = feed(
        [facts(1, 0, resource="web-1", service="a"), facts(2, 1, resource="app-1", service="b")],
        held,
    )
    assert [d.outcome for d in ds] == [Outcome.PENDING, Outcome.PENDING]


def test_topology_grows_transitively_through_joined_resources():
    rules = [TopologyRule(name="topo", topology=CHAIN, k=1)]
    ds = feed(
        [facts(1, 0, resource="lb"), facts(2, 1, resource="web-1"), facts(3, 2, resource="app-1")],
        rules,
    )
    assert len({d.incident_id for d in ds}) == 1


def test_rules_in_order_first_applicable_decides():
    rules = [TopologyRule(name="topo", topology=CHAIN, k=1), BY_SERVICE]
    ds = feed(
        [
            facts(1, 0, resource="web-1", service="api"),
            facts(2, 1, resource="app-1", service="other"),  # topology wins over labels
            facts(3, 2, resource="far", service="api"),  # no topology match: labels
            facts(4, 3, service="zzz"),  # a new label group
        ],
        rules,
    )
    assert [d.rule for d in ds] == ["svc", "topo", "svc", "svc"]
    assert ds[0].incident_id == ds[1].incident_id == ds[2].incident_id != ds[3].incident_id


def test_memory_topology_neighbours_and_related():
    assert CHAIN.neighbours("app-1", 1) == {"web-1", "db-1"}
    assert CHAIN.neighbours("app-1", 2) == {"lb", "web-1", "db-1", "disk-1"}
    assert CHAIN.neighbours("nowhere", 3) == set()
    assert CHAIN.related("lb", "app-1", 2) and not CHAIN.related("lb", "db-1", 2)


def test_label_rule_validation():
    with pytest.raises(ValueError):
        LabelGroupRule(name="x", by=())
    with pytest.raises(ValueError):
        LabelGroupRule(name="x", by=("a",), open_after_alarms=0)


def test_a_pending_group_whose_rule_was_removed_opens_on_the_next_tick():
    held = LabelGroupRule(name="svc", by=("service",), open_after_alarms=3)
    store = MemoryGroupStore()
    feed([facts(1, 0, service="api"), facts(2, 1, service="api")], [held], store)
    assert correlation.tick(store.pending(), [held], at(2)) == []
    # the settings no longer have `svc`: nothing else would open the group
    other = LabelGroupRule(name="team", by=("team",))
    (decision,) = correlation.tick(store.pending(), [other], at(2))
    assert decision.outcome is Outcome.OPEN and len(decision.alarms) == 2
    assert decision.rule == "svc"
