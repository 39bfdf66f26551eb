"""`python -m infra.local` with the real catalog: CloudWatch's alarm Lambda action and SNS
notifications through `/_local/invoke` (what the AWS services do in the cloud), through the
queue into alarms; then an alarm's timeline, and incidents merged and split over HTTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import LocalServer, wait_for

ROOT = Path(__file__).resolve().parents[2]
SOURCES = ROOT / "events" / "sources"


@pytest.fixture(scope="module")
def api(local_server: LocalServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=local_server.base_url, headers=local_server.headers, timeout=30
    ) as client:
        yield client


def _alarms(api: httpx.Client, start: str, end: str) -> list[dict[str, Any]]:
    got = api.get("/v1/alarms", params={"from": start, "to": end})
    assert got.status_code == 200, got.text
    return list(got.json()["alarms"])


def test_the_alarm_lambda_action_and_sns_become_alarms_with_timelines(api: httpx.Client) -> None:
    described = {f["name"]: f for f in api.get("/_local/functions").json()["functions"]}
    assert described["receive-cloudwatch-alarm-action"]["trigger"] == {
        "type": "direct",
        "principal": "lambda.alarms.cloudwatch.amazonaws.com",
    }
    assert described["receive-cloudwatch-sns"]["trigger"]["topic"] == "cloudwatch-alarms"
    action = json.loads((SOURCES / "cloudwatch_lambda_action_metric.json").read_text())
    for _ in range(2):  # an async retry: still one alarm
        done = api.post("/_local/invoke/receive-cloudwatch-alarm-action", json=action)
        assert done.status_code == 200 and done.json()["alerts"] == 1, done.text
    window = ("2023-08-01T00:00:00Z", "2023-09-01T00:00:00Z")
    (alarm,) = wait_for(lambda: _alarms(api, *window), timeout=20)
    assert alarm["name"] == "lambda-demo-metric-alarm"

    def kinds() -> list[str] | None:
        # The consumer writes the alarm, correlates it, then its timeline: wait for the last.
        timeline = api.get(f"/v1/alarms/{alarm['id']}/timeline")
        assert timeline.status_code == 200, timeline.text
        return [e["kind"] for e in timeline.json()["timeline"]] or None

    assert wait_for(kinds, timeout=20)[:2] == ["created", "correlated"]

    sns = json.loads((SOURCES / "cloudwatch_sns_lambda_event.json").read_text())
    done = api.post("/_local/invoke/receive-cloudwatch-sns", json=sns)
    assert done.status_code == 200 and len(done.json()["message_ids"]) == 1, done.text
    window = ("2024-02-01T00:00:00Z", "2024-03-01T00:00:00Z")
    (alarm,) = wait_for(lambda: _alarms(api, *window), timeout=20)
    acked = api.post(f"/v1/alarms/{alarm['id']}/ack", json={"comment": "on it"})
    assert acked.status_code == 200, acked.text
    last = api.get(f"/v1/alarms/{alarm['id']}/timeline").json()["timeline"][-1]
    assert (last["kind"], last["note"]) == ("acknowledged", "on it")


def _post_alerts(api: httpx.Client, *alerts: dict[str, Any]) -> None:
    posted = api.post("/v1/ingest/generic", json={"alerts": list(alerts)})
    assert posted.status_code == 202, posted.text


def _with_alarms(api: httpx.Client, incident_id: str) -> dict[str, Any]:
    """GET answers the incident with its alarms (one page: enough here)."""
    got = api.get(f"/v1/incidents/{incident_id}", params={"alarms_limit": "500"})
    assert got.status_code == 200, got.text
    return dict(got.json()["incident"])


def _incident_with(api: httpx.Client, name: str) -> dict[str, Any]:
    def find() -> dict[str, Any] | None:
        for listed in api.get("/v1/incidents").json()["incidents"]:
            incident = _with_alarms(api, listed["id"])
            if any(a["name"] == name for a in incident["alarms"]):
                return incident
        return None

    return dict(wait_for(find, timeout=20))


def test_merge_and_split_over_http(api: httpx.Client) -> None:
    _post_alerts(
        api,
        {"name": "e2e-m1", "labels": {"service": "e2e-one"}, "resource": "h1"},
        {"name": "e2e-m2", "labels": {"service": "e2e-two"}, "resource": "h2"},
        {"name": "e2e-m3", "labels": {"service": "e2e-two"}, "resource": "h3"},
    )
    one, two = _incident_with(api, "e2e-m1"), _incident_with(api, "e2e-m2")
    wait_for(lambda: len(_incident_with(api, "e2e-m3")["alarms"]) == 2 or None, timeout=20)
    merged = api.post(f"/v1/incidents/{one['id']}/merge", json={"incident_ids": [two["id"]]})
    assert merged.status_code == 200, merged.text
    assert merged.json()["incident"]["alarm_count"] == 3
    assert merged.json()["merged"][0]["status"] == "merged"
    merged_alarms = _with_alarms(api, one["id"])["alarms"]
    assert len(merged_alarms) == 3
    again = api.post(f"/v1/incidents/{one['id']}/merge", json={"incident_ids": [one["id"]]})
    assert again.status_code == 422 and again.json()["error"]["code"] == "MERGE_INTO_SELF"
    moving = [a["alarm_id"] for a in merged_alarms[1:]]
    split = api.post(f"/v1/incidents/{one['id']}/split", json={"alarm_ids": moving})
    assert split.status_code == 201, split.text
    assert split.json()["incident"]["alarm_count"] == 1
    new_alarms = _with_alarms(api, split.json()["new_incident"]["id"])["alarms"]
    assert sorted(a["alarm_id"] for a in new_alarms) == sorted(moving)
