"""resolve-silent-anomalies on moto: an anomaly whose series goes silent is resolved once
(reason no_data, on the alarm's timeline) through the alert pipeline; a concurrent scorer's
write is never lost; a re-run is a no-op; a series that came back is left alone and, later,
fires a new alarm as usual."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import boto3
import numpy as np
import pytest

from omp.adapters.dynamo_baselines import DynamoBaselineStore
from omp.adapters.dynamo_metrics import DynamoMetricStore
from omp.adapters.memory import FixedClock
from omp.domain import anomaly as a
from omp.domain import metrics as m
from omp.domain.detector_settings import DetectorConfig
from omp.domain.errors import Conflict
from omp.runtime import container
from omp.services import anomaly_sweep
from tests import support
from tests.support import call_api, invoke

NOW = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)
T0 = int(NOW.timestamp())
STEP = 60
DIMS = {"service": "checkout"}
SID = m.series_id("http.latency", DIMS)
HISTORY_END = T0 - 10 * 3600
SILENCE = 1_800  # max(10 x 60 s, 30 min)


@pytest.fixture
def clock(platform):
    fixed = FixedClock(NOW)
    with container.override(clock=fixed):
        yield fixed


def _points(start, values):
    return [
        {"name": "http.latency", "dimensions": DIMS, "timestamp": start + i * STEP, "value": v}
        for i, v in enumerate(values)
    ]


def _send(points):
    status, body, _ = call_api("ingest-metrics", body={"points": points}, principal="key-a")
    assert status == 200, body


def _process_alerts():
    alerts = support.drain_queue("alert-ingest")
    if alerts:
        assert invoke("process-alerts", {"Records": alerts}) == {"batchItemFailures": []}
    return alerts


def _score():
    records = support.drain_queue("metric-points")
    for i in range(0, len(records), 10):
        assert invoke("score-metrics", {"Records": records[i : i + 10]}) == {
            "batchItemFailures": []
        }
    return _process_alerts()


def _sweep():
    return support.invoke_sample("resolve-silent-anomalies")


def _store():
    return DynamoBaselineStore(support.resolve("table", "metrics"))


def _index_entries():
    got = boto3.client("dynamodb").scan(
        TableName=support.resolve("table", "metrics"), IndexName="gsi2"
    )
    return [i["pk"]["S"] for i in got["Items"]]


@pytest.fixture
def firing(clock):
    """A fitted series with an open anomaly alarm, scored at NOW; returns the rng and the
    timestamp after its last point."""
    rng = np.random.default_rng(11)
    _send(_points(HISTORY_END - 599 * STEP, 100 + rng.normal(0, 1, 600)))
    _score()
    assert invoke("refit-baselines", {})["fitted"] == 1
    start = HISTORY_END + STEP
    _send(_points(start, 100 + rng.normal(0, 1, 450)))
    _send(_points(start + 450 * STEP, [100.0, 170.0, 172.0, 168.0]))
    assert len(_score()) == 1
    [alarm] = support.anomaly_alarms()
    assert alarm["status"] == "open"
    assert _index_entries() == [f"B#{SID}"]  # the open alarm is in the sparse index
    return rng, start + 454 * STEP


def test_a_silent_series_is_resolved_once_with_reason_no_data(firing, clock):
    # not silent yet: nothing is even read from the index
    assert _sweep() == {
        "candidates": 0,
        "resolved": 0,
        "superseded": 0,
        "failed": 0,
        "complete": True,
    }
    clock.advance(SILENCE - 1)
    assert _sweep()["resolved"] == 0
    before = _store().get_models([SID])[SID][1]
    assert before is not None and before.alarm is not None

    clock.advance(1)
    result = _sweep()
    assert result["resolved"] == 1 and result["complete"] is True
    [record] = _process_alerts()
    payload = json.loads(record["body"])["payload"]
    assert payload["status"] == "resolved" and payload["reason"] == "no_data"
    assert payload["fingerprint"] == before.alarm["fingerprint"]
    assert payload["started_at"] == a.epoch_iso(before.alarm["started_at"])
    assert payload["timestamp"] == a.epoch_iso(T0 + SILENCE)

    [alarm] = support.anomaly_alarms()
    assert alarm["status"] == "resolved"
    status, body, _ = call_api("get-alarm-timeline", path_params={"alarm_id": alarm["id"]})
    assert status == 200, body
    resolved = [e for e in body["timeline"] if e["kind"] == "resolved"]
    assert len(resolved) == 1
    assert resolved[0]["note"].startswith("resolved by anomaly: no_data: no points since")

    # the state keeps the detector and its points; only the alarm is gone (and its index entry)
    after = _store().get_models([SID])[SID][1]
    assert after is not None and after.alarm is None and after.in_band == 0
    assert after.version == before.version + 1
    assert after.detector == before.detector and after.last_ts == before.last_ts
    assert _index_entries() == []

    # a re-run (or a retried invocation) is a no-op
    clock.advance(300)
    assert _sweep()["candidates"] == 0
    assert support.drain_queue("alert-ingest") == []
    assert len(support.anomaly_alarms()) == 1


def test_a_series_that_came_back_is_left_alone_and_alarms_again_later(firing, clock):
    rng, t = firing
    clock.advance(SILENCE - 60)
    # points arrive before the silence is over: the series is no longer silent
    _send(_points(t, [169.0, 171.0]))
    _score()
    clock.advance(120)
    assert _sweep()["resolved"] == 0
    [alarm] = support.anomaly_alarms()
    assert alarm["status"] == "open"

    # silent for good now: resolved; then the series reports again, half a day later (past the
    # detector's cooldown after an alarm), and a new anomaly fires a new alarm
    clock.advance(SILENCE)
    assert _sweep()["resolved"] == 1
    _process_alerts()
    clock.advance(14 * 3600)
    back = int(clock.now().timestamp()) - 60 * STEP
    _send(_points(back, [*(100 + rng.normal(0, 1, 50)), 100.0, 400.0, 410.0, 405.0]))
    payloads = [json.loads(r["body"])["payload"] for r in _score()]
    assert "firing" in [p["status"] for p in payloads]
    assert all(p.get("reason") is None for p in payloads)  # the scorer's own, in-band resolves
    alarms = support.anomaly_alarms()
    assert len(alarms) >= 2 and alarm["id"] in [x["id"] for x in alarms]


class _Racing(DynamoBaselineStore):
    """Before the sweep's first conditional write, a scorer writes the state (`change`)."""

    def __init__(self, table, change):
        super().__init__(table)
        self.change = change

    def clear_alarm(self, series_id, expected_version):
        if self.change:
            change, self.change = self.change, None
            change(self)
        return super().clear_alarm(series_id, expected_version)


class _Queue:
    def __init__(self):
        self.sent = []

    def submit(self, envelope, raw):
        self.sent.append(envelope.payload)


def _sweep_with(store, clock):
    queue = _Queue()
    metrics = DynamoMetricStore(support.resolve("table", "metrics"))
    ports = anomaly_sweep.SweepPorts(baselines=store, metrics=metrics, alerts=queue)
    return anomaly_sweep.resolve_silent(ports, DetectorConfig(), clock.now()), queue.sent


def test_a_scorer_that_resolved_meanwhile_wins(firing, clock):
    clock.advance(SILENCE)
    before = _store().get_models([SID])[SID][1]

    def scorer_resolves(store):
        _, state = store.get_models([SID])[SID]
        state.alarm, state.last_ts = None, state.last_ts + 60  # back in band
        store.put_state(state)

    store = _Racing(support.resolve("table", "metrics"), scorer_resolves)
    out, sent = _sweep_with(store, clock)
    assert (out.resolved, out.superseded, out.failed) == (0, 1, 0)
    assert len(sent) == 1  # the resolve had gone out: a repeat of the scorer's, a no-op
    _, state = store.get_models([SID])[SID]
    assert state is not None and state.alarm is None
    assert state.version == before.version + 1  # the scorer's write is kept, nothing on top
    assert state.last_ts == before.last_ts + 60 and state.detector == before.detector


def test_a_scorer_write_that_kept_the_alarm_is_kept_and_the_alarm_closed(firing, clock):
    clock.advance(SILENCE)
    before = _store().get_models([SID])[SID][1]

    def scorer_scores(store):
        _, state = store.get_models([SID])[SID]
        state.last_ts = state.last_ts + 60  # a point that did not end the anomaly
        store.put_state(state)

    store = _Racing(support.resolve("table", "metrics"), scorer_scores)
    out, sent = _sweep_with(store, clock)
    assert (out.resolved, out.superseded, out.failed) == (1, 0, 0)
    assert [p["reason"] for p in sent] == ["no_data"]
    _, state = store.get_models([SID])[SID]
    assert state is not None and state.alarm is None
    assert state.last_ts == before.last_ts + 60  # the scorer's newer state is not lost
    assert state.version == before.version + 2


def test_clear_alarm_is_conditional_on_the_version(firing):
    store = _store()
    _, state = store.get_models([SID])[SID]
    with pytest.raises(Conflict):
        store.clear_alarm(SID, state.version - 1)
    with pytest.raises(Conflict):
        store.clear_alarm("ser_" + "0" * 24, 1)  # no state at all
    assert store.get_models([SID])[SID][1].alarm is not None


def test_the_silence_follows_the_series_rule(firing, clock):
    rules = [{"name": "http.*", "dimensions": {"service": "checkout"}, "no_data_after_s": 0}]
    status, body, _ = call_api("put-detector-settings", body={"version": 0, "rules": rules})
    assert status == 200, body
    assert body["detector_config"]["rules"][0]["no_data_after_s"] == 0
    clock.advance(30 * 86_400)
    assert _sweep()["resolved"] == 0  # never, for this rule

    rules[0]["no_data_after_s"] = 600
    status, body, _ = call_api("put-detector-settings", body={"version": 1, "rules": rules})
    assert status == 200, body
    assert _sweep()["resolved"] == 1
    [record] = _process_alerts()
    assert json.loads(record["body"])["payload"]["silence_s"] == 600

    status, body, _ = call_api(
        "put-detector-settings", body={"version": 2, "rules": [{"name": "x", "no_data_after_s": 5}]}
    )
    assert status == 422 and body["error"]["code"] == "VALIDATION_FAILED"
