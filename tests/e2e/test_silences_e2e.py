"""Silences through `python -m infra.local` (the real catalog) over HTTP: a silenced webhook alert
is stored and listed as suppressed, the expiry sweep's event reaches the audit log, a DELETE
expires the silence."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import LocalServer, wait_for


@pytest.fixture(scope="module")
def api(local_server: LocalServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=local_server.base_url, headers=local_server.headers, timeout=30
    ) as client:
        yield client


def iso(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_a_silenced_alert_is_kept_as_suppressed_and_the_silence_announces_its_end(
    api: httpx.Client,
) -> None:
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    name = f"disk-{uuid.uuid4().hex[:8]}"
    silence = api.post(
        "/v1/silences",
        json={
            "matchers": [f'alertname="{name}"'],
            "ends_at": iso(now + dt.timedelta(minutes=10)),
            "comment": "e2e",
        },
    )
    assert silence.status_code == 201, silence.text
    sid = silence.json()["silence"]["id"]

    def alert(fingerprint: str, alertname: str) -> dict[str, Any]:
        return {
            "name": alertname,
            "status": "firing",
            "severity": "critical",
            "resource": "db-1",
            "labels": {"service": f"svc-{fingerprint}"},
            "fingerprint": fingerprint,
            "starts_at": now.isoformat(),
        }

    other = f"{name}-other"
    body = {"alerts": [alert(name, name), alert(other, other)]}
    assert api.post("/v1/ingest/generic", json=body).status_code == 202

    def listed(**params: str) -> dict[str, dict[str, Any]]:
        resp = api.get("/v1/alarms", params={"resource": "db-1", **params})
        assert resp.status_code == 200, resp.text
        found = {a["name"]: a for a in resp.json()["alarms"]}
        return found if {name, other} <= set(found) else {}

    alarms = wait_for(listed, timeout=15, interval=0.25)
    assert alarms[name]["suppressed"] is True and alarms[name]["suppressed_by"] == [sid]
    assert alarms[other]["suppressed"] is False
    held = api.get("/v1/alarms", params={"resource": "db-1", "suppressed": "true"}).json()
    assert name in {a["name"] for a in held["alarms"]}
    assert other not in {a["name"] for a in held["alarms"]}

    # ends within the 15-minute lead time: the sweep warns (once), the audit log records it
    tick = api.post("/_local/tick/warn-expiring-silences")
    assert tick.status_code < 300, tick.text

    def audited(kind: str) -> list[dict[str, Any]]:
        resp = api.get("/v1/audit-events", params={"limit": 200})
        assert resp.status_code == 200, resp.text
        return [e for e in resp.json()["audit_events"] if sid in str(e) and kind in str(e)]

    assert wait_for(lambda: audited("SilenceExpiring"), timeout=10, interval=0.25)

    gone = api.delete(f"/v1/silences/{sid}")
    assert gone.status_code == 200 and gone.json()["silence"]["state"] == "expired"
    assert wait_for(lambda: audited("SilenceExpired"), timeout=10, interval=0.25)
    missing = api.get("/v1/silences/sil_01KKBSWHG0KCZ7Y3W8V6P5R4QT")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "SILENCE_NOT_FOUND"
