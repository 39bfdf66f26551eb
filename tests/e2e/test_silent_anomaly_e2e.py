"""A silent series' anomaly resolved through `python -m infra.local` (the real catalog): an
anomaly alarm opens, the series stops sending, `resolve-silent-anomalies` is ticked after the
series' silence (a rule sets it to the shortest allowed, 60 s) and the alarm resolves with
reason no_data on its timeline; a second tick changes nothing."""

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
pytestmark = pytest.mark.slow  # waits out a 60 s silence


@pytest.fixture(scope="module")
def api(local_server: LocalServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=local_server.base_url, headers=local_server.headers, timeout=60
    ) as client:
        yield client


def _send(api: httpx.Client, name: str, start: int, values: Any) -> None:
    points = [
        {"name": name, "dimensions": {"svc": "e2e"}, "timestamp": start + i * STEP, "value": v}
        for i, v in enumerate(float(x) for x in values)
    ]
    got = api.post("/v1/metrics", json={"points": points})
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


def _silence_rule(api: httpx.Client, prefix: str) -> None:
    """Put a rule with the shortest silence in front of the stored ones."""
    for _ in range(5):
        current = api.get("/v1/detectors").json()["detector_config"]
        rules = [{"name": f"{prefix}*", "no_data_after_s": 60}, *current["rules"]]
        got = api.put(
            "/v1/detectors",
            json={"version": current["version"], "rules": rules, "default": current["default"]},
        )
        if got.status_code == 200:
            return
        assert got.status_code == 409, got.text
    raise AssertionError("the detector settings kept changing")


def test_an_anomaly_of_a_series_that_went_silent_resolves_with_reason_no_data(
    api: httpx.Client,
) -> None:
    prefix = f"e2e.silent.{uuid.uuid4().hex[:8]}"
    name = f"{prefix}.latency"
    now = int(time.time()) // STEP * STEP
    history_end = now - 10 * 3600
    rng = np.random.default_rng(7)
    _send(api, name, history_end - 599 * STEP, 100 + rng.normal(0, 1, 600))
    tick = api.post("/_local/tick/refit-baselines")
    assert tick.status_code < 300, tick.text
    _silence_rule(api, prefix)

    start = history_end + STEP
    _send(api, name, start, 100 + rng.normal(0, 1, 450))
    _send(api, name, start + 450 * STEP, [170.0, 172.0, 168.0])
    (alarm,) = wait_for(lambda: _anomaly_alarms(api, name), timeout=30)
    assert alarm["status"] == "open"

    time.sleep(62)  # the series sends nothing more: 60 s of silence
    tick = api.post("/_local/tick/resolve-silent-anomalies")
    assert tick.status_code < 300, tick.text
    (resolved,) = wait_for(
        lambda: [a for a in _anomaly_alarms(api, name) if a["status"] == "resolved"] or None,
        timeout=30,
    )
    assert resolved["id"] == alarm["id"]

    def resolved_notes() -> list[str] | None:
        # The consumer changes the alarm before it writes the timeline: wait for the entry.
        timeline = api.get(f"/v1/alarms/{alarm['id']}/timeline")
        assert timeline.status_code == 200, timeline.text
        entries = timeline.json()["timeline"]
        return [e["note"] for e in entries if e["kind"] == "resolved"] or None

    notes = wait_for(resolved_notes, timeout=20)
    assert len(notes) == 1 and notes[0].startswith("resolved by anomaly: no_data")

    # ticked again: nothing more happens
    assert api.post("/_local/tick/resolve-silent-anomalies").status_code < 300
    time.sleep(2)
    again = api.get(f"/v1/alarms/{alarm['id']}/timeline").json()["timeline"]
    assert [e["kind"] for e in again].count("resolved") == 1
