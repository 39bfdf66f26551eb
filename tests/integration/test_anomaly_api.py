"""Baselines and anomaly detection end to end on moto: points in through POST /v1/metrics, the
refit, the baseline route, scoring through the metric-points queue, the anomaly alarm through
the alert consumer (and its resolve), the settings API and the backtest route."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pytest

from omp.adapters.memory import FixedClock
from omp.domain import metrics as m
from omp.runtime import container
from tests import support
from tests.support import call_api, invoke

NOW = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)
T0 = int(NOW.timestamp())
STEP = 60
DIMS = {"service": "checkout"}
SID = m.series_id("http.latency", DIMS)
HISTORY_END = T0 - 10 * 3600  # the refit sees 600 points up to here


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
    return body


def _score():
    """Drain metric-points into score-metrics, then alert-ingest into process-alerts."""
    records = support.drain_queue("metric-points")
    for i in range(0, len(records), 10):
        assert invoke("score-metrics", {"Records": records[i : i + 10]}) == {
            "batchItemFailures": []
        }
    alerts = support.drain_queue("alert-ingest")
    if alerts:
        assert invoke("process-alerts", {"Records": alerts}) == {"batchItemFailures": []}
    return alerts


def _refit():
    return support.invoke_sample("refit-baselines")


@pytest.fixture
def fitted(clock):
    rng = np.random.default_rng(11)
    _send(_points(HISTORY_END - 599 * STEP, 100 + rng.normal(0, 1, 600)))
    status, body, _ = call_api("get-metric-baseline", path_params={"series_id": SID})
    assert status == 404 and body["error"]["code"] == "BASELINE_NOT_FOUND"
    assert _score() == []  # no baseline yet: nothing scored, nothing raised
    result = _refit()
    assert result["fitted"] == 1 and result["pass_complete"] is True
    return rng


def test_the_refit_serves_the_baseline_over_a_range(fitted, clock):
    fitted_clock = clock
    status, body, _ = call_api(
        "get-metric-baseline",
        path_params={"series_id": SID},
        query={"from": str(HISTORY_END), "to": str(HISTORY_END + 3600)},
    )
    assert status == 200, body
    b = body["baseline"]
    assert b["version"] == 1 and b["step_s"] == 60 and b["seasonality"] == "none"
    # the last fitted point (replayed from the stored points) and the hour after it
    assert len(b["points"]) == 61
    assert b["points"][0]["timestamp"] == "2026-03-02T02:00:00.000Z"
    assert b["covered_from"] == "2026-03-01T16:01:00.000Z"  # the fitted window's first point
    first = b["points"][1]
    assert first["timestamp"] == "2026-03-02T02:01:00.000Z"
    assert first["lower"] < first["expected"] < first["upper"]
    assert 95 < first["expected"] < 105
    assert _refit()["not_due"] == 1  # fitted a moment ago
    fitted_clock.advance(3_600)  # a young series (600 points) is refitted within the hour
    assert _refit()["fitted"] == 1
    status, again, _ = call_api("get-metric-baseline", path_params={"series_id": SID})
    assert again["baseline"]["version"] == 2


def test_the_baseline_route_answers_a_past_range_from_the_stored_points(fitted):
    status, body, _ = call_api(
        "get-metric-baseline",
        path_params={"series_id": SID},
        query={"from": "2026-03-01T15:00:00Z", "to": "2026-03-01T18:00:00Z"},
    )
    assert status == 200, body
    b = body["baseline"]
    assert b["covered_from"] == "2026-03-01T16:01:00.000Z"
    # nothing before the fitted window; every minute of it after
    assert b["points"][0]["timestamp"] == "2026-03-01T16:01:00.000Z"
    assert len(b["points"]) == 120
    assert all(p["lower"] < p["expected"] < p["upper"] for p in b["points"])
    assert all(90 < p["expected"] < 110 for p in b["points"])
    status, body, _ = call_api(
        "get-metric-baseline",
        path_params={"series_id": SID},
        query={"from": "2026-02-20T00:00:00Z", "to": "2026-02-21T00:00:00Z"},
    )
    assert status == 200 and body["baseline"]["points"] == []


def test_a_late_point_far_outside_the_band_raises_an_alarm_at_its_time(fitted):
    rng = fitted
    start = HISTORY_END + STEP
    points = _points(start, 100 + rng.normal(0, 1, 450))
    late_at = 200
    del points[late_at]  # this point arrives after the ones after it, far out of band
    _send(points)
    assert _score() == []
    late = _points(start + late_at * STEP, [175.0])
    _send(late)
    [signal] = _score()
    assert json.loads(signal["body"])["payload"]["detector"] == "late"
    [alarm] = support.anomaly_alarms()
    assert alarm["status"] == "open" and alarm["labels"]["detector"] == "late"
    assert alarm["triggered_at"].startswith("2026-03-02T05:21")
    _send(late)  # redelivered: nothing more
    assert _score() == [] and len(support.anomaly_alarms()) == 1
    _send(_points(start + 451 * STEP, [100.0]))  # back in band, in order: resolved
    assert len(_score()) == 1
    [alarm] = support.anomaly_alarms()
    assert alarm["status"] == "resolved"


@pytest.mark.parametrize(
    ("path", "query", "status", "code"),
    [
        ("ser_nope", None, 422, "INVALID_SERIES_ID"),
        (
            SID,
            {"from": "2026-03-02T12:00:00Z", "to": "2026-03-02T11:00:00Z"},
            422,
            "INVALID_TIME_RANGE",
        ),
        (SID, {"from": str(T0), "to": str(T0 + 60 * 20_000)}, 422, "QUERY_TOO_LARGE"),
    ],
)
def test_bad_baseline_queries_are_refused(fitted, path, query, status, code):
    got, body, _ = call_api("get-metric-baseline", path_params={"series_id": path}, query=query)
    assert (got, body["error"]["code"]) == (status, code)


def test_a_spike_raises_an_anomaly_alarm_and_back_in_band_resolves_it(fitted):
    rng = fitted
    start = HISTORY_END + STEP
    _send(_points(start, 100 + rng.normal(0, 1, 450)))
    assert _score() == [] and support.anomaly_alarms() == []

    spike = _points(start + 450 * STEP, [100.0, 170.0, 172.0, 168.0])
    _send(spike)
    assert len(_score()) == 1
    [alarm] = support.anomaly_alarms()
    assert alarm["status"] == "open"
    assert alarm["labels"]["series_id"] == SID and alarm["labels"]["service"] == "checkout"
    assert alarm["labels"]["metric"] == "http.latency"
    notes = {
        k[len("anomaly_") :]: v for k, v in alarm["labels"].items() if k.startswith("anomaly_")
    }
    assert notes["observed"] == "170" and float(notes["upper"]) < 170.0
    assert float(notes["lower"]) < float(notes["expected"]) < float(notes["upper"])
    assert float(notes["score"]) >= 0.7
    assert "170 outside the expected band" in alarm["message"]

    # a replayed batch (the sender retries) raises nothing again
    _send(spike)
    assert _score() == []
    assert len(support.anomaly_alarms()) == 1

    _send(_points(start + 454 * STEP, [100.0, 100.3, 99.9]))
    assert len(_score()) == 1
    [alarm] = support.anomaly_alarms()
    assert alarm["status"] == "resolved"


def test_detector_settings_are_versioned_and_validated(clock):
    status, body, _ = call_api("get-detector-settings")
    assert status == 200 and body["detector_config"]["version"] == 0
    assert body["detector_config"]["default"]["sensitivity"] == 0.5
    rules = [{"name": "http.*", "dimensions": {"service": "check*"}, "sensitivity": 0.8}]
    status, body, _ = call_api("put-detector-settings", body={"version": 0, "rules": rules})
    assert status == 200, body
    assert body["detector_config"]["version"] == 1
    assert body["detector_config"]["updated_by"] == "tester"
    status, body, _ = call_api("put-detector-settings", body={"version": 0, "rules": []})
    assert status == 409 and body["error"]["code"] == "VERSION_CONFLICT"
    status, body, _ = call_api(
        "put-detector-settings", body={"version": 1, "rules": [{"name": "x", "sensitivity": 2}]}
    )
    assert status == 422
    status, body, _ = call_api("get-detector-settings")
    assert body["detector_config"]["rules"][0]["sensitivity"] == 0.8
    assert body["detector_config"]["version"] == 1


def _run_backtests():
    """Drain the backtests queue into run-backtest; the messages it ran."""
    records = support.drain_queue("backtests")
    for record in records:
        assert invoke("run-backtest", {"Records": [record]}) == {"batchItemFailures": []}
    return records


def _backtest(backtest_id):
    status, answer, _ = call_api("get-backtest", path_params={"backtest_id": backtest_id})
    assert status == 200, answer
    return answer["backtest"]


def test_a_backtest_job_scores_a_stored_series_against_labelled_windows(fitted):
    rng = fitted
    values = 100 + rng.normal(0, 1, 400)
    values[300:305] += 40
    _send(_points(HISTORY_END + STEP, values))
    labelled = {"from": "2026-03-02T06:55:00Z", "to": "2026-03-02T07:20:00Z"}
    body = {
        "series_id": SID,
        "from": "2026-03-01T00:00:00Z",
        "to": "2026-03-02T12:00:00Z",
        "windows": [labelled],
        "settings": {"sensitivity": 0.5},
    }
    status, answer, _ = call_api("backtest-detector", body=body)
    assert status == 202, answer
    queued = answer["backtest"]
    assert queued["status"] == "queued" and queued["id"].startswith("bkt_")
    assert queued["result"] is None and queued["created_by"] == "tester"
    assert queued["windows"] == [
        {"from": "2026-03-02T06:55:00.000Z", "to": "2026-03-02T07:20:00.000Z"}
    ]
    assert _backtest(queued["id"])["status"] == "queued"

    assert len(_run_backtests()) == 1
    done = _backtest(queued["id"])
    assert done["status"] == "succeeded" and done["error"] is None, done
    assert done["started_at"] and done["finished_at"]
    bt = done["result"]
    assert bt["points"] == 1000 and bt["threshold"] == 0.7
    assert bt["alarms_total"] >= len(bt["alarms"]) > 0
    assert bt["nab"]["standard"]["windows"] == 1
    assert bt["nab"]["standard"]["detected_windows"] == 1
    assert any(a["timestamp"] >= "2026-03-02T07:00:00Z" for a in bt["alarms"])
    assert done["settings"]["sensitivity"] == 0.5

    # A redelivered message of an ended job changes nothing.
    redelivered = {"messageId": "m2", "body": json.dumps({"job_id": queued["id"]})}
    assert invoke("run-backtest", {"Records": [redelivered]}) == {"batchItemFailures": []}
    assert _backtest(queued["id"]) == done


def test_a_backtest_that_cannot_run_says_why(fitted):
    body = {
        "series_id": SID,
        "from": "2026-01-01T00:00:00Z",
        "to": "2026-01-02T00:00:00Z",
    }
    status, answer, _ = call_api("backtest-detector", body=body)
    assert status == 202, answer
    _run_backtests()
    failed = _backtest(answer["backtest"]["id"])
    assert failed["status"] == "failed" and failed["result"] is None
    assert failed["error"]["code"] == "BACKTEST_TOO_FEW_POINTS"
    assert failed["error"]["details"] == {"points": 0, "min_points": 50}

    status, answer, _ = call_api("backtest-detector", body={**body, "series_id": "ser_" + "0" * 24})
    assert status == 404 and answer["error"]["code"] == "SERIES_NOT_FOUND"
    status, answer, _ = call_api("backtest-detector", body={**body, "series_id": "abc"})
    assert status == 422 and answer["error"]["code"] == "INVALID_SERIES_ID"
    status, answer, _ = call_api("backtest-detector", body={**body, "windows": [{"from": "x"}]})
    assert status == 422
    status, answer, _ = call_api("backtest-detector", body={**body, "to": body["from"]})
    assert status == 422 and answer["error"]["code"] == "INVALID_TIME_RANGE"
    assert support.drain_queue("backtests") == []  # nothing queued for a refused request
    for unknown in ("bkt_01KKBSWHG0KCZ7Y3W8V6P5R4QT", "nope"):
        status, answer, _ = call_api("get-backtest", path_params={"backtest_id": unknown})
        assert status == 404 and answer["error"]["code"] == "BACKTEST_NOT_FOUND"
    # A message for a job that is gone is dropped, not retried.
    gone = {"messageId": "m3", "body": json.dumps({"job_id": "bkt_01KKBSWHG0KCZ7Y3W8V6P5R4QT"})}
    assert invoke("run-backtest", {"Records": [gone]}) == {"batchItemFailures": []}


def test_a_backtest_retried_with_its_idempotency_key_is_queued_once(fitted):
    body = {"series_id": SID, "from": "2026-03-01T00:00:00Z", "to": "2026-03-02T12:00:00Z"}
    key = {"Idempotency-Key": "bt-1"}
    first = call_api("backtest-detector", body=body, headers=key)
    again = call_api("backtest-detector", body=body, headers=key)
    assert first[0] == again[0] == 202
    assert first[1]["backtest"]["id"] == again[1]["backtest"]["id"]
    assert len(support.drain_queue("backtests")) == 1


def test_anomaly_is_not_a_webhook_source(clock):
    body = json.loads((support.ROOT / "events" / "sources" / "anomaly_firing.json").read_text())
    status, answer, _ = call_api(
        "ingest-alerts",
        path_params={"source": "anomaly"},
        body=body,
        principal="key:t",
        roles="integration",
    )
    assert status == 404 and answer["error"]["code"] == "UNKNOWN_SOURCE"


def test_ingest_answers_503_when_the_points_cannot_be_queued_for_scoring(clock):
    from omp.domain.errors import TransientError

    class Down:
        def send(self, series):
            raise TransientError("SQS is down", code="THROTTLED")

    points = _points(HISTORY_END, [1.0, 2.0])
    with container.override(metric_points_queue=Down()):
        status, body, _ = call_api("ingest-metrics", body={"points": points}, principal="key-a")
    assert status == 503 and body["error"]["code"] == "THROTTLED"
    # the points were stored; the retry is accepted (an idempotent repeat) and queued
    assert _send(points)["accepted"] == 2
    [record] = support.drain_queue("metric-points")
    assert json.loads(record["body"])["series"][0]["points"] == [
        [HISTORY_END, 1.0],
        [HISTORY_END + 60, 2.0],
    ]
