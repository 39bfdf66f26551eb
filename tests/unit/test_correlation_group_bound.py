"""A correlation group keeps at most MAX_GROUP_RESOURCES of its resources; the rest live only in
the store's resource index, and every decision names the resources it adds to that index."""

from datetime import UTC, datetime, timedelta

from omp.analytics import correlation
from omp.analytics.correlation import (
    MAX_GROUP_RESOURCES,
    AlarmFacts,
    LabelGroupRule,
    MemoryGroupStore,
    MemoryTopology,
    Outcome,
    TopologyRule,
    correlate,
    sample_resources,
)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
BY_SERVICE = LabelGroupRule(name="svc", by=("service",))


def alarm(i, resource, service="api", seconds=None, ci_id=None):
    return AlarmFacts(
        alarm_id=f"alm_{i:05d}",
        at=T0 + timedelta(seconds=i if seconds is None else seconds),
        resource=resource,
        ci_id=ci_id,
        labels={"service": service},
    )


def feed(alarms, rules, store):
    out = []
    for a in alarms:
        d = correlate(a, rules, store, a.at)
        store.save(d.group, d.new_resources)
        out.append(d)
    return out


def test_sample_keeps_the_smallest_names_up_to_the_bound():
    kept, truncated = sample_resources(frozenset(), False, [f"h{i:02d}" for i in range(25, 0, -1)])
    assert kept == {f"h{i:02d}" for i in range(1, MAX_GROUP_RESOURCES + 1)}
    assert truncated
    assert sample_resources(kept, True, ["h01"]) == (kept, True)  # known: nothing changes
    assert sample_resources(frozenset({"a"}), False, ["b", "a"]) == (frozenset({"a", "b"}), False)


def test_a_storm_of_distinct_resources_keeps_the_group_small_and_every_resource_indexed():
    store = MemoryGroupStore()
    ds = feed([alarm(i, f"host-{i:05d}") for i in range(200)], [BY_SERVICE], store)
    assert [d.outcome for d in ds[:2]] == [Outcome.OPEN, Outcome.JOIN]
    group = ds[-1].group
    assert group.size == 200
    assert len(group.resources) == MAX_GROUP_RESOURCES and group.resources_truncated
    # each decision indexed its own new resource, including those left out of the sample
    assert all(d.new_resources == {f"host-{i:05d}"} for i, d in enumerate(ds))
    for i in (0, 19, 20, 150, 199):
        assert [g.key for g in store.groups_with_resource(f"host-{i:05d}")] == [group.key]
    # a topology alarm on a resource outside the sample still finds the incident
    topo = [TopologyRule(name="topo", topology=MemoryTopology([("db-1", "host-00150")]), k=1)]
    late = correlate(alarm(900, "db-1", service="other", seconds=300), topo, store, T0)
    assert (late.outcome, late.incident_id) == (Outcome.JOIN, ds[0].incident_id)
    assert late.new_resources == {"db-1"}
    assert late.group.resources == group.resources  # the sample is full: unchanged


def test_a_join_on_a_resource_of_the_sample_adds_nothing_to_the_index():
    store = MemoryGroupStore()
    first, again, ci = feed(
        [alarm(1, "host-1"), alarm(2, "host-1"), alarm(3, "host-1", ci_id="ci_9")],
        [BY_SERVICE],
        store,
    )
    assert first.new_resources == {"host-1"}
    assert again.outcome is Outcome.JOIN and again.new_resources == frozenset()
    assert ci.new_resources == {"ci_9"}
    assert ci.group.resources == {"host-1", "ci_9"} and not ci.group.resources_truncated


def test_pending_groups_index_each_new_alarm_and_opening_adds_nothing():
    held = LabelGroupRule(name="svc", by=("service",), open_after_alarms=3)
    store = MemoryGroupStore()
    ds = feed([alarm(i, f"host-{i}") for i in range(3)], [held], store)
    assert [d.outcome for d in ds] == [Outcome.PENDING, Outcome.PENDING, Outcome.OPEN]
    assert [d.new_resources for d in ds] == [{"host-0"}, {"host-1"}, {"host-2"}]
    store2 = MemoryGroupStore()
    feed([alarm(1, "host-1")], [held], store2)
    replay = correlate(alarm(1, "host-1"), [held], store2, T0)  # already pending
    assert replay.reason == "already pending" and replay.new_resources == frozenset()


def test_the_memory_index_forgets_closed_groups_and_earlier_groups_of_a_key():
    rule = LabelGroupRule(name="svc", by=("service",), window=timedelta(minutes=5))
    store = MemoryGroupStore()
    (first,) = feed([alarm(1, "host-1")], [rule], store)
    # a quiet gap longer than the window: a new group under the same key
    (second,) = feed([alarm(2, "host-2", seconds=3600)], [rule], store)
    assert second.outcome is Outcome.OPEN and second.group.key == first.group.key
    assert list(store.groups_with_resource("host-1")) == []
    assert [g.first_at for g in store.groups_with_resource("host-2")] == [second.group.first_at]
    store.save(correlation.close(second.group))
    assert list(store.groups_with_resource("host-2")) == []
