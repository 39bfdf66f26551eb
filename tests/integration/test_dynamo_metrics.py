"""The metric store against DynamoDB (moto here; real DynamoDB Local in tests/conformance):
bucket writes with first-write-wins, number formats, reads, the series registry and its limit,
metric sources."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from omp.adapters.dynamo_metrics import DynamoMetricSourceStore, DynamoMetricStore
from omp.domain import metrics as m
from omp.domain.errors import NotFound
from omp.domain.metric_sources import MetricSource
from tests import support

TABLE = support.PREFIX + "metrics"
T0 = 1_772_452_800  # 2026-03-02T12:00:00Z, a bucket start


@pytest.fixture
def store(dynamodb):
    return DynamoMetricStore(TABLE)


def pt(value: float, ts: int, name: str = "cpu", **dims: str) -> m.Point:
    return m.Point(m.series_id(name, dims), name, dims, ts, value)


def test_writes_keep_the_first_value_and_round_trip_number_formats(store):
    values = [1e-05, 1e16, -0.0, 123.456, -9.9e125, 1e-130, 0.1 + 0.2, 42.0]
    points = [pt(v, T0 + i) for i, v in enumerate(values)]
    assert store.write(points) == []
    assert store.write(points) == []  # the same values again: idempotent
    conflicts = store.write([pt(7.0, T0 + 3), pt(8.0, T0 + 100)])
    assert [(p.timestamp, stored) for p, stored in conflicts] == [(T0 + 3, 123.456)]
    ts, vs = store.read(points[0].series_id, T0, T0 + 600)
    assert ts.tolist() == [T0 + i for i in range(len(values))] + [T0 + 100]
    assert vs.tolist() == [*values, 8.0]
    assert store.read_points(points[0].series_id, T0, T0 + 600) == (ts.tolist(), vs.tolist())


def test_a_batch_spanning_buckets_and_over_100_points_per_bucket(store):
    points = [pt(float(i), T0 - 300 + i) for i in range(700)]  # 2 buckets, 300 + 400 points
    assert store.write(points) == []
    ts, vs = store.read(points[0].series_id, T0 - 300, T0 + 399)
    assert len(ts) == 700 and vs[-1] == 699.0
    ts, _ = store.read(points[0].series_id, T0, T0 + 10)
    assert ts.tolist() == list(range(T0, T0 + 11))
    ts, vs = store.read_last(points[0].series_id, 5, T0 + 2)
    assert ts.tolist() == list(range(T0 - 2, T0 + 3))
    for lo, hi in ((T0 - 300, T0 + 399), (T0, T0 + 10), (T0 - 1000, T0 - 301), (T0 + 5, T0 + 5)):
        ts, vs = store.read(points[0].series_id, lo, hi)
        # the query route's plain-Python read answers the same points
        assert store.read_points(points[0].series_id, lo, hi) == (ts.tolist(), vs.tolist())


def record(sid_host: str, source: str = "src", now: int = T0) -> m.SeriesRecord:
    dims = {"host": sid_host}
    return m.SeriesRecord(m.series_id("cpu", dims), "cpu", dims, source, now, now)


def test_registration_respects_the_limit_and_counts_once(store):
    first = [record("a"), record("b")]
    assert store.register(first, 3) == {r.series_id for r in first}
    assert store.register([record("a")], 3) == {record("a").series_id}  # exists: slot returned
    more = [record("c"), record("d")]
    assert store.register(more, 3) == {record("c").series_id}
    assert store.register([record("e")], 3) == set()
    assert store.register([record("e", source="other")], 3) == {record("e").series_id}
    found = store.get_series([record(h).series_id for h in "abcdez"])
    assert sorted(r.dimensions["host"] for r in found.values()) == ["a", "b", "c", "e"]


def test_touch_and_listing_filters(store):
    store.register([record("a"), record("b"), record("c", source="other")], 10)
    store.touch([record("a").series_id, "ser_" + "0" * 24], T0 + 5_000)
    page = store.list_series(active_since=T0 + 1)
    assert [r.dimensions["host"] for r in page.items] == ["a"]
    page = store.list_series(dimension=("host", "b"))
    assert [r.dimensions["host"] for r in page.items] == ["b"]
    page = store.list_series(source="other", name_prefix="cp")
    assert [r.dimensions["host"] for r in page.items] == ["c"]
    first = store.list_series(limit=2)
    rest = store.list_series(limit=2, next_token=first.next_token)
    assert len(first.items) == 2 and len(rest.items) == 1 and rest.next_token is None


def test_metric_sources(dynamodb):
    sources = DynamoMetricSourceStore(TABLE)
    source = MetricSource(
        id="msrc_01J0000000000000000000000",
        name="x",
        namespace="AWS/EC2",
        metric_names=["CPUUtilization"],
        created_at=datetime(2026, 3, 2, tzinfo=UTC),
        created_by="tester",
    )
    sources.put_new(source)
    sources.record_run(source.id, {"accepted": 3})
    assert sources.get(source.id).last_run == {"accepted": 3}
    assert [s.id for s in sources.list().items] == [source.id]
    assert sources.delete(source.id).id == source.id
    sources.record_run(source.id, {"accepted": 1})  # deleted meanwhile: ignored
    with pytest.raises(NotFound):
        sources.delete(source.id)
    assert sources.get(source.id) is None
