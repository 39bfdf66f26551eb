"""Metric points: validation, bucketing, downsampling, the OTLP mapping and query building."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from omp.analytics.downsample import downsample
from omp.domain import metrics as m
from omp.domain.errors import ValidationFailed
from omp.domain.metric_sources import CreateMetricSource, dimension_key, series_name
from omp.services import metrics as svc
from omp.sources import otlp_metrics

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
T0 = int(NOW.timestamp())
LIMITS = m.MetricLimits()
SAMPLE = Path(__file__).resolve().parents[2] / "events" / "sources" / "otlp_metrics.json"


def reason(raw):
    result = m.check_point(raw, 0, NOW, LIMITS)
    return result.reason if isinstance(result, m.Rejection) else None


def test_series_id_is_stable_and_ignores_dimension_order():
    a = m.series_id("cpu", {"host": "a", "az": "1"})
    assert a == m.series_id("cpu", {"az": "1", "host": "a"})
    assert a != m.series_id("cpu", {"host": "a"})
    assert m.SERIES_ID_PATTERN.match(a)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"name": "cpu", "timestamp": T0, "value": 1}, None),
        ({"name": "cpu", "timestamp": T0 + 300, "value": 1}, None),  # skew allowed
        ({"name": "cpu", "timestamp": T0 + 301, "value": 1}, "TIMESTAMP_IN_FUTURE"),
        ({"name": "cpu", "timestamp": T0 - 14 * 86_400, "value": 1}, None),
        ({"name": "cpu", "timestamp": T0 - 14 * 86_400 - 1, "value": 1}, "TIMESTAMP_TOO_OLD"),
        ({"name": "cpu", "timestamp": "2026-03-02T11:00:00+01:00", "value": 1}, None),
        ({"name": "cpu", "timestamp": "2026-03-02T11:00:00", "value": 1}, "INVALID_TIMESTAMP"),
        ({"name": "cpu", "timestamp": True, "value": 1}, "INVALID_TIMESTAMP"),
        ({"name": "cpu", "timestamp": T0, "value": float("nan")}, "NON_FINITE_VALUE"),
        ({"name": "cpu", "timestamp": T0, "value": float("-inf")}, "NON_FINITE_VALUE"),
        ({"name": "cpu", "timestamp": T0, "value": True}, "INVALID_VALUE"),
        ({"name": "cpu", "timestamp": T0, "value": 1e126}, "VALUE_OUT_OF_RANGE"),
        ({"name": "cpu", "timestamp": T0, "value": 1e-131}, "VALUE_OUT_OF_RANGE"),
        ({"name": "cpu", "timestamp": T0, "value": 0}, None),
        ({"name": "", "timestamp": T0, "value": 1}, "INVALID_NAME"),
        ({"name": "9cpu", "timestamp": T0, "value": 1}, "INVALID_NAME"),
        ({"name": "a#b", "timestamp": T0, "value": 1}, "INVALID_NAME"),
        ({"name": "x" * 256, "timestamp": T0, "value": 1}, "INVALID_NAME"),
        (
            {"name": "cpu", "dimensions": {"a": 1}, "timestamp": T0, "value": 1},
            "INVALID_DIMENSIONS",
        ),
        (
            {"name": "cpu", "dimensions": {"a": ""}, "timestamp": T0, "value": 1},
            "INVALID_DIMENSIONS",
        ),
        (
            {"name": "cpu", "dimensions": {"a b": "x"}, "timestamp": T0, "value": 1},
            "INVALID_DIMENSIONS",
        ),
        (
            {"name": "cpu", "dimensions": {"a": "x\n"}, "timestamp": T0, "value": 1},
            "INVALID_DIMENSIONS",
        ),
        (
            {
                "name": "cpu",
                "dimensions": {f"k{i}": "v" for i in range(21)},
                "timestamp": T0,
                "value": 1,
            },
            "INVALID_DIMENSIONS",
        ),
        ({"name": "cpu", "dimensions": [], "timestamp": T0, "value": 1}, "INVALID_DIMENSIONS"),
        ({"name": "cpu", "timestamp": T0, "value": 1, "unit": "s"}, "INVALID_POINT"),
        ([1, 2], "INVALID_POINT"),
    ],
)
def test_point_rules(raw, expected):
    assert reason(raw) == expected


def test_timestamps_are_truncated_to_seconds():
    point = m.check_point({"name": "cpu", "timestamp": T0 - 0.9, "value": 1}, 0, NOW, LIMITS)
    assert isinstance(point, m.Point) and point.timestamp == T0 - 1


def test_the_first_point_of_a_series_and_second_wins_in_a_batch():
    checked = m.check_batch(
        [
            {"name": "cpu", "timestamp": T0, "value": 1},
            {"name": "cpu", "timestamp": T0 + 0.5, "value": 2},  # same second
            {"name": "cpu", "dimensions": {"h": "a"}, "timestamp": T0, "value": 3},
        ],
        NOW,
        LIMITS,
    )
    assert [i for i, _ in checked.points] == [0, 2]
    assert [(r.index, r.reason) for r in checked.rejected] == [(1, "DUPLICATE_IN_BATCH")]


def test_buckets_and_retention():
    assert m.bucket_start(T0 + 599) == T0 and m.bucket_start(T0 - 1) == T0 - 600
    assert m.buckets_between(T0 - 1, T0 + 600) == [T0 - 600, T0, T0 + 600]
    assert m.expires_at(T0, LIMITS) == T0 + 600 + 35 * 86_400
    points = [
        m.Point("s1", "cpu", {}, T0 + 5, 1.0),
        m.Point("s1", "cpu", {}, T0 + 605, 1.0),
        m.Point("s1", "cpu", {}, T0 + 6, 1.0),
        m.Point("s2", "cpu", {}, T0 + 5, 1.0),
    ]
    groups = m.group_by_bucket(points)
    assert {k: len(v) for k, v in groups.items()} == {
        ("s1", T0): 2,
        ("s1", T0 + 600): 1,
        ("s2", T0): 1,
    }
    with pytest.raises(ValueError):
        m.MetricLimits(retention_days=7)  # shorter than the 14-day max age


def test_query_route_offers_exactly_the_downsampling_stats():
    from typing import get_args

    from omp.analytics.downsample import STATS
    from omp.api.metric_queries import QueryParams

    assert set(get_args(QueryParams.model_fields["stat"].annotation)) == set(STATS)


def _numpy_downsample(timestamps, values, *, start, step, stat):
    """The vectorised numpy version the plain-Python one replaced (numpy stays off the query
    route for its cold start): kept here as the reference its answers must equal bit for bit."""
    if timestamps.size == 0:
        return np.empty(0, np.int64), np.empty(0, np.float64)
    windows = (timestamps - start) // step
    change = np.flatnonzero(np.diff(windows)) + 1
    starts = np.concatenate(([0], change))
    counts = np.diff(np.concatenate((starts, [windows.size])))
    keys = windows[starts]
    if stat == "sum":
        out = np.add.reduceat(values, starts)
    elif stat == "avg":
        out = np.add.reduceat(values, starts) / counts
    elif stat == "min":
        out = np.minimum.reduceat(values, starts)
    elif stat == "max":
        out = np.maximum.reduceat(values, starts)
    elif stat == "count":
        out = counts.astype(np.float64)
    else:
        order = np.lexsort((values, windows))
        ordered = values[order]
        rank = 0.95 * (counts - 1)
        low = np.floor(rank).astype(np.int64)
        high = np.minimum(low + 1, counts - 1)
        frac = rank - low
        out = ordered[starts + low] * (1 - frac) + ordered[starts + high] * frac
    return (start + keys * step).astype(np.int64), np.asarray(out, dtype=np.float64)


def test_downsample_every_stat_against_a_plain_loop():
    rng = np.random.default_rng(7)
    ts = np.sort(rng.choice(np.arange(0, 3600), size=500, replace=False)).astype(np.int64)
    vs = rng.normal(size=500)
    for stat, fn in (
        ("avg", np.mean),
        ("min", np.min),
        ("max", np.max),
        ("sum", np.sum),
        ("count", len),
        ("p95", lambda x: np.percentile(x, 95)),
    ):
        starts, out = downsample(ts.tolist(), vs.tolist(), start=0, step=300, stat=stat)
        assert starts == list(range(0, 3600, 300))
        for s, value in zip(starts, out, strict=True):
            window = vs[(ts >= s) & (ts < s + 300)]
            assert value == pytest.approx(float(fn(window))), stat


@pytest.mark.parametrize("seed", range(4))
def test_downsample_equals_the_numpy_version_bit_for_bit(seed):
    """Sums in numpy's pairwise order, the same p95 interpolation, ties of min/max as numpy:
    every stat, windows of 1 to ~50,000 points (past numpy's 128-value blocks), any step."""
    rng = np.random.default_rng(seed)
    sizes = [0, 1, 2, 7, 8, 9, 127, 128, 129, 1000, 50_000]
    for n in sizes + [int(x) for x in rng.integers(1, 5000, size=20)]:
        ts = np.sort(rng.choice(np.arange(0, 10**6), size=n, replace=False)).astype(np.int64)
        vs = rng.normal(size=n) * 10.0 ** int(rng.integers(-3, 8))
        if n > 20:  # repeated values and signed zeros
            vs[rng.integers(0, n, size=n // 10)] = 0.0
            vs[rng.integers(0, n, size=n // 10)] = -0.0
            vs[rng.integers(0, n, size=n // 10)] = 1.5
        step = int(rng.choice([1, 10, 60, 300, 3600, 86_400, 10**6]))
        start = int(rng.integers(0, 1000))
        start -= start % step
        for stat in ("avg", "min", "max", "sum", "count", "p95"):
            want_starts, want = _numpy_downsample(ts, vs, start=start, step=step, stat=stat)
            starts, out = downsample(ts.tolist(), vs.tolist(), start=start, step=step, stat=stat)
            assert starts == want_starts.tolist(), (n, step, stat)
            if stat in ("min", "max"):  # the sign of a zero extreme is numpy's SIMD lanes' pick
                assert out == want.tolist(), (n, step, stat)
            else:  # float.hex: bit equality (tells -0.0 from 0.0)
                assert [v.hex() for v in out] == [v.hex() for v in want.tolist()], (n, step, stat)


def test_downsample_leaves_out_empty_windows_and_handles_no_data():
    starts, out = downsample([0, 1, 700], [1.0, 3.0, 5.0], start=0, step=60, stat="avg")
    assert starts == [0, 660] and out == [2.0, 5.0]
    assert downsample([], [], start=0, step=60, stat="p95") == ([], [])
    with pytest.raises(ValueError):
        downsample([0, 1, 700], [1.0] * 3, start=0, step=60, stat="median")
    with pytest.raises(ValueError):
        downsample([0, 1, 700], [1.0] * 3, start=0, step=0, stat="avg")


def test_the_query_route_answers_without_importing_numpy():
    """query-metrics' import and its first query (the store's read and the downsampling) stay
    off numpy, whose import alone costs more than the cold-start target allows."""
    import subprocess
    import sys

    from tests.support import ROOT

    code = (
        "import importlib.util, sys\n"
        "from datetime import UTC, datetime\n"
        "spec = importlib.util.spec_from_file_location('qm', 'functions/monitoring/query_metrics.py')\n"
        "qm = importlib.util.module_from_spec(spec); spec.loader.exec_module(qm)\n"
        "from omp.adapters.dynamo_metrics import DynamoMetricStore\n"
        "from omp.adapters.memory import FixedClock\n"
        "from omp.domain import metrics as m\n"
        "from omp.runtime import container\n"
        "class Store(DynamoMetricStore):  # the real read path over canned bucket items\n"
        "    def _query_buckets(self, series_id, first, last):\n"
        "        return [{'sk': {'S': f'{b:010d}'}, **{f'o{o}': {'N': str(o)} for o in range(0, 600, 7)}}\n"
        "                for b in range(first, last + 1, 600)]\n"
        "    def get_series(self, ids):\n"
        "        return {i: m.SeriesRecord(series_id=i, name='cpu', dimensions={}, source='t',\n"
        "                                  first_seen=0, last_seen=0) for i in ids}\n"
        "sid = m.series_id('cpu', {})\n"
        "now = FixedClock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))\n"
        "with container.override(metric_store=Store('t'), clock=now):\n"
        "    for stat in ('avg', 'min', 'max', 'sum', 'count', 'p95'):\n"
        "        params = qm.QueryParams.model_validate({'series': sid, 'stat': stat, 'step': '5m'})\n"
        "        answer = qm.query_metrics(type('R', (), {'query_as': lambda self, _: params})())\n"
        "        assert len(answer.points) == 13, answer  # 11:00 to 12:00 inclusive\n"
        "print('numpy' in sys.modules)\n"
    )
    env = {"PYTHONPATH": f"{ROOT}:{ROOT}/layers/core/python", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_build_query_defaults_and_limits():
    sid = m.series_id("cpu", {})
    q = svc.build_query(sid, None, None, None, "avg", now=NOW, limits=LIMITS)
    assert (q.start, q.end, q.step) == (T0 - 3600, T0, 10)
    q = svc.build_query(sid, T0 - 7 * 86_400, T0, None, "avg", now=NOW, limits=LIMITS)
    assert q.step == 900  # the smallest step giving at most 1,000 points
    with pytest.raises(ValidationFailed) as err:
        svc.build_query(sid, T0 - 86_400, T0, 1, "avg", now=NOW, limits=LIMITS)
    assert err.value.code == "QUERY_TOO_LARGE"
    with pytest.raises(ValidationFailed) as err:
        svc.build_query(sid, T0 - 40 * 86_400, T0, 3600, "avg", now=NOW, limits=LIMITS)
    assert err.value.code == "INVALID_TIME_RANGE"


# ---- OTLP -----------------------------------------------------------------------------------


def test_histogram_quantile():
    # 10 observations in (0, 1], 10 in (1, 2], none beyond: p95 at rank 19 -> 1.9
    assert otlp_metrics.histogram_quantile(0.95, [1.0, 2.0], [10, 10, 0]) == pytest.approx(1.9)
    assert otlp_metrics.histogram_quantile(0.95, [1.0], [0, 5]) == 1.0  # open top bucket
    assert otlp_metrics.histogram_quantile(0.95, [1.0], [0, 0]) is None
    assert otlp_metrics.histogram_quantile(0.95, [1.0], [1, 1, 1]) is None  # malformed


def test_otlp_json_sample_maps_every_metric_kind():
    message = otlp_metrics.decode(SAMPLE.read_bytes(), "application/json")
    assert otlp_metrics.data_point_count(message) == 4
    raws = list(otlp_metrics.points(message))
    by_name = {r.name: r for r in raws}
    assert by_name["my.counter"].value == 5.0 and by_name["my.counter"].index == 0
    assert by_name["my.gauge"].value == 10.0 and by_name["my.gauge"].index == 1
    assert by_name["my.histogram.count"].value == 2.0
    assert by_name["my.histogram.sum"].value == 2.0
    assert by_name["my.histogram.max"].value == 2.0
    assert by_name["my.histogram.p95"].value == 1.0  # rank 1.9 lies in the open top bucket
    assert by_name["my.exponential.histogram.count"].value == 3.0
    assert by_name["my.gauge"].dimensions == {
        "service.name": "my.service",
        "my.gauge.attr": "some value",
    }
    assert by_name["my.gauge"].time_unix_nano == 1544712660300000000
    # old sample time: every point is rejected as too old, by data point index
    result = otlp_metrics.check(by_name["my.gauge"], NOW, LIMITS)
    assert isinstance(result, m.Rejection) and result.reason == "TIMESTAMP_TOO_OLD"
    assert result.index == 1


def test_otlp_json_ignores_exemplars_with_hex_ids_and_unknown_fields():
    data = json.loads(SAMPLE.read_text())
    gauge = data["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][1]["gauge"]
    gauge["dataPoints"][0]["exemplars"] = [
        {"asDouble": 1, "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174"}
    ]
    gauge["dataPoints"][0]["futureField"] = 1
    message = otlp_metrics.decode(json.dumps(data).encode(), "application/json")
    assert otlp_metrics.data_point_count(message) == 4


def test_otlp_points_with_no_recorded_value_are_skipped():
    data = json.loads(SAMPLE.read_text())
    gauge = data["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][1]["gauge"]
    gauge["dataPoints"][0]["flags"] = 1
    message = otlp_metrics.decode(json.dumps(data).encode(), "application/json")
    assert "my.gauge" not in {r.name for r in otlp_metrics.points(message)}


def test_cloudwatch_names():
    assert series_name("AWS/EC2", "CPUUtilization") == "AWS/EC2/CPUUtilization"
    assert series_name("My App", "p99 latency") == "My_App/p99_latency"
    assert dimension_key("Instance Id") == "Instance_Id"
    source = CreateMetricSource(name="x", namespace="AWS/EC2", metric_names=["A"], stat="p99.9")
    assert source.period == 300
    with pytest.raises(ValueError):
        CreateMetricSource(name="x", namespace="AWS/EC2", metric_names=["A", "A"])


def test_pull_window_covers_complete_periods_only():
    start, end = svc.pull_window(300, NOW)
    assert end == T0 - 300 and end % 300 == 0  # the period in progress (and 2 min) left out
    assert end - start == 900
