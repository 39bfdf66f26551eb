"""Anomaly detection through `python -m infra.local` (the real catalog) over HTTP: history in,
the scheduled refit ticked, the baseline route (future and past times), detector settings, then a spike whose alarm
(source `anomaly`) arrives through the metric-points queue, score-metrics, the alert-ingest
queue and process-alerts, and is resolved when the series is back in band."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import numpy as np
import pytest

from tests.e2e.conftest import LocalServer, wait_for

STEP = 60


@pytest.fixture(scope="module")
def api(local_server: LocalServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=local_server.base_url, headers=local_server.headers, timeout=60
    ) as client:
        yield client


def _send(api: httpx.Client, name: str, start: int, values: Any) -> None:
    points = [
        {"name": name, "dimensions": {"svc": "e2e"}, "timestamp": start + i * STEP, "value": v}
        for i, v in enumerate(values)
    ]
    got = api.post(
        "/v1/metrics", json={"points": [{**p, "value": float(p["value"])} for p in points]}
    )
    assert got.status_code == 200, got.text
    assert got.json()["accepted"] == len(points)


def _anomaly_alarms(api: httpx.Client, name: str) -> list[dict[str, Any]]:
    now = time.time()
    got = api.get(
        "/v1/alarms",
        params={
            "from": datetime.fromtimestamp(now - 86_400, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "to": datetime.fromtimestamp(now + 3_600, UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    )
    assert got.status_code == 200, got.text
    return [
        a
        for a in got.json()["alarms"]
        if a["source"] == "anomaly" and a["labels"].get("metric") == name
    ]


def test_a_spike_becomes_an_anomaly_alarm_and_resolves(api: httpx.Client) -> None:
    name = f"e2e.anomaly.{uuid.uuid4().hex[:8]}"
    now = int(time.time()) // STEP * STEP
    history_end = now - 10 * 3600
    rng = np.random.default_rng(5)
    _send(api, name, history_end - 599 * STEP, 100 + rng.normal(0, 1, 600))
    [series] = api.get("/v1/metrics/series", params={"name_prefix": name}).json()["series"]
    sid = series["id"]
    missing = api.get(f"/v1/metrics/{sid}/baseline")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "BASELINE_NOT_FOUND"

    tick = api.post("/_local/tick/refit-baselines")
    assert tick.status_code < 300, tick.text
    baseline = api.get(
        f"/v1/metrics/{sid}/baseline",
        params={"from": history_end, "to": history_end + 600},
    )
    assert baseline.status_code == 200, baseline.text
    # the last fitted point (replayed from the stored points) and the 10 minutes after it
    assert len(baseline.json()["baseline"]["points"]) == 11
    past = api.get(
        f"/v1/metrics/{sid}/baseline",
        params={"from": history_end - 12 * 3600, "to": history_end - 3600},
    )
    assert past.status_code == 200, past.text
    covered = history_end - 599 * STEP  # the fitted window's first point
    body = past.json()["baseline"]
    assert body["covered_from"] == datetime.fromtimestamp(covered, UTC).strftime(
        "%Y-%m-%dT%H:%M:%S.000Z"
    )
    assert len(body["points"]) == (history_end - 3600 - covered) // STEP + 1
    assert all(p["lower"] < p["expected"] < p["upper"] for p in body["points"])

    settings = api.put(
        "/v1/detectors",
        json={"version": 0, "rules": [{"name": "e2e.anomaly.*", "direction": "up"}]},
    )
    assert settings.status_code in (200, 409), settings.text  # 409: another run stored them

    start = history_end + STEP
    _send(api, name, start, 100 + rng.normal(0, 1, 450))
    _send(api, name, start + 450 * STEP, [170.0, 172.0, 168.0])
    (alarm,) = wait_for(lambda: _anomaly_alarms(api, name), timeout=30)
    assert alarm["status"] == "open" and alarm["labels"]["series_id"] == sid
    assert float(alarm["labels"]["anomaly_upper"]) < 170.0

    _send(api, name, start + 453 * STEP, [100.0, 100.2, 99.9])
    wait_for(
        lambda: [a for a in _anomaly_alarms(api, name) if a["status"] == "resolved"] or None,
        timeout=30,
    )


def test_a_backtest_is_queued_run_by_the_worker_and_read_back(api: httpx.Client) -> None:
    """POST queues the job (202); the local runtime drains the backtests queue into
    run-backtest; GET answers the result once it succeeded."""
    name = f"e2e.backtest.{uuid.uuid4().hex[:8]}"
    start = (int(time.time()) - 2 * 86_400) // STEP * STEP
    values = 100 + np.random.default_rng(9).normal(0, 1, 800)
    values[600:604] += 50
    _send(api, name, start, values)
    [series] = api.get("/v1/metrics/series", params={"name_prefix": name}).json()["series"]

    def stamp(ts: int) -> str:
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    window = {"from": stamp(start + 595 * STEP), "to": stamp(start + 620 * STEP)}
    queued = api.post(
        "/v1/detectors/backtest",
        json={
            "series_id": series["id"],
            "from": stamp(start),
            "to": stamp(start + 800 * STEP),
            "windows": [window],
        },
    )
    assert queued.status_code == 202, queued.text
    job_id = queued.json()["backtest"]["id"]

    def ended() -> dict[str, Any] | None:
        got = api.get(f"/v1/detectors/backtests/{job_id}")
        assert got.status_code == 200, got.text
        job: dict[str, Any] = got.json()["backtest"]
        return job if job["status"] in ("succeeded", "failed") else None

    job = wait_for(ended, timeout=60)
    assert job["status"] == "succeeded", job
    assert job["result"]["points"] == 800
    assert job["result"]["nab"]["standard"]["detected_windows"] == 1
    missing = api.get("/v1/detectors/backtests/bkt_01KKBSWHG0KCZ7Y3W8V6P5R4QT")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "BACKTEST_NOT_FOUND"
