"""GET/PUT /v1/alerting-config through the handlers on moto, and process-alerts obeying it."""

from datetime import UTC, datetime, timedelta

import pytest

from omp.domain.ingest import IngestEnvelope
from tests.support import call_api, invoke

DEFAULT_GROUPS = [
    {"name": "service", "by": ["service"]},
    {"name": "alertname", "by": ["alertname"]},
]


def put(body, version, roles="admin"):
    return call_api("put-alerting-config", body={"version": version, **body}, roles=roles)


def alert(fp, at, status="firing", service="shop", **extra):
    return {
        "name": f"alert-{fp}",
        "fingerprint": fp,
        "status": status,
        "starts_at": at,
        "labels": {"service": service},
        **extra,
    }


def ingest(*alerts):
    body = IngestEnvelope(
        "generic", "2026-03-10T12:00:00Z", "key_test", "req-1", payload={"alerts": list(alerts)}
    ).to_json()
    event = {"Records": [{"messageId": "m1", "body": body}]}
    assert invoke("process-alerts", event) == {"batchItemFailures": []}


def _around_now():
    now = datetime.now(UTC)
    return {
        "start": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end": (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def incidents():
    # incidents are listed by the day they were opened (processing time, not the alerts')
    status, body, _ = call_api("list-incidents", query=_around_now())
    assert status == 200, body
    return body["incidents"]


def test_get_answers_the_defaults_until_a_put(platform):
    status, body, _ = call_api("get-alerting-config")
    assert status == 200, body
    config = body["alerting_config"]
    assert config["version"] == 0 and config["updated_at"] is None
    assert config["flapping"] == {
        "flap_changes": 5,
        "flap_window_seconds": 1800,
        "flap_quiet_seconds": 1800,
    }
    assert config["incidents"] == {"auto_resolve": True}
    assert config["correlation"]["topology"] == {
        "enabled": True,
        "hops": 2,
        "window_seconds": 1800,
    }
    assert [g["name"] for g in config["correlation"]["groups"]] == ["service", "alertname"]


def test_put_then_get_and_a_stale_version_is_409(platform):
    status, body, _ = put({"incidents": {"auto_resolve": False}}, 0)
    assert status == 200, body
    assert body["alerting_config"]["version"] == 1
    assert body["alerting_config"]["updated_by"] == "tester"
    status, got, _ = call_api("get-alerting-config")
    assert got == body
    status, body, _ = put({"incidents": {"auto_resolve": True}}, 0)
    assert status == 409 and body["error"]["code"] == "VERSION_CONFLICT", body
    status, body, _ = put({"incidents": {"auto_resolve": True}}, 1)
    assert status == 200 and body["alerting_config"]["version"] == 2


@pytest.mark.parametrize(
    "bad",
    [
        {"correlation": {"topology": {"hops": 6}}},
        {"correlation": {"topology": {"hops": 0}}},
        {"correlation": {"groups": [{"name": "a", "by": ["x"], "window_seconds": 5}]}},
        {"correlation": {"groups": [{"name": "a", "by": ["x"], "window_seconds": 86401}]}},
        {"correlation": {"groups": [{"name": "a", "by": []}]}},
        {"correlation": {"groups": [{"name": "a", "by": ["x"], "open_after_alarms": 0}]}},
        {"correlation": {"groups": [{"name": "a", "by": ["x"]}, {"name": "a", "by": ["y"]}]}},
        {"correlation": {"groups": [{"name": "topology", "by": ["x"]}]}},
        {"correlation": {"groups": [{"name": "Bad Name", "by": ["x"]}]}},
        {"correlation": {"groups": [{"name": f"g{i}", "by": ["x"]} for i in range(11)]}},
        {"flapping": {"flap_changes": 1}},
        {"flapping": {"flap_window_seconds": 30}},
        {"incidents": {"auto_resolve": "sometimes"}},
        {"incidents": {"auto_close": True}},
        {"unknown": 1},
    ],
)
def test_bad_values_are_422_and_nothing_is_stored(platform, bad):
    status, body, _ = put(bad, 0)
    assert status == 422 and body["error"]["code"] == "VALIDATION_FAILED", body
    assert call_api("get-alerting-config")[1]["alerting_config"]["version"] == 0


def test_a_missing_version_is_422(platform):
    status, body, _ = call_api("put-alerting-config", body={"incidents": {"auto_resolve": False}})
    assert status == 422 and body["error"]["code"] == "VALIDATION_FAILED", body


def test_operators_read_only_admins_write(platform):
    status, _, _ = call_api("get-alerting-config", roles="operator")
    assert status == 200
    status, body, _ = put({}, 0, roles="operator")
    assert status == 403 and body["error"]["code"] == "FORBIDDEN", body
    status, _, _ = call_api("get-alerting-config", roles="viewer")
    assert status == 403


def test_a_batch_obeys_the_new_threshold_and_window(platform):
    group = {"name": "svc", "by": ["service"], "window_seconds": 600, "open_after_alarms": 2}
    status, body, _ = put({"correlation": {"groups": [group]}}, 0)
    assert status == 200, body

    ingest(alert("a", "2026-03-10T12:00:00Z"))
    assert incidents() == []  # held: 1 alarm below the threshold of 2
    ingest(alert("b", "2026-03-10T12:05:00Z"))
    (incident,) = incidents()
    assert incident["rule"] == "svc" and incident["alarm_count"] == 2

    # 11 minutes after the group's last alarm: past the 600 s window, a new (held) group
    ingest(alert("c", "2026-03-10T12:16:00Z"))
    assert len(incidents()) == 1
    ingest(alert("d", "2026-03-10T12:17:00Z"))
    assert len(incidents()) == 2


def test_without_a_config_the_defaults_open_at_once(platform):
    ingest(alert("a", "2026-03-10T12:00:00Z"))
    (incident,) = incidents()
    assert incident["rule"] == "service"


def test_auto_resolve_off_keeps_the_incident_open(platform):
    assert put({"incidents": {"auto_resolve": False}}, 0)[0] == 200
    ingest(alert("a", "2026-03-10T12:00:00Z"))
    ingest(alert("a", "2026-03-10T12:03:00Z", status="resolved"))
    (incident,) = incidents()
    assert incident["open_alarm_count"] == 0 and incident["alarm_count"] == 1
    _, got, _ = call_api("get-incident", path_params={"incident_id": incident["id"]})
    assert got["incident"]["alarms"][0]["resolved"] is True
    assert incident["status"] == "open"

    # and back on: the next incident resolves with its last alarm
    assert put({"incidents": {"auto_resolve": True}}, 1)[0] == 200
    ingest(alert("b", "2026-03-10T12:10:00Z", service="other"))
    ingest(alert("b", "2026-03-10T12:12:00Z", status="resolved", service="other"))
    statuses = sorted(i["status"] for i in incidents())
    assert statuses == ["open", "resolved"]


def test_flapping_settings_reach_the_pipeline(platform):
    put({"flapping": {"flap_changes": 2, "flap_window_seconds": 600}}, 0)
    ingest(alert("f", "2026-03-10T12:00:00Z"))
    ingest(alert("f", "2026-03-10T12:01:00Z", status="resolved"))
    _, body, _ = call_api(
        "list-alarms", query={"start": "2026-03-01T00:00:00Z", "end": "2026-03-31T00:00:00Z"}
    )
    (alarm,) = body["alarms"]
    _, timeline, _ = call_api("get-alarm-timeline", path_params={"alarm_id": alarm["id"]})
    assert "flapping_started" in [e["kind"] for e in timeline["timeline"]], timeline


def test_the_sweep_reads_the_settings_and_opens_groups_of_a_removed_rule(platform):
    held = {"name": "svc", "by": ["service"], "open_after_alarms": 5}
    assert put({"correlation": {"groups": [held]}}, 0)[0] == 200
    ingest(alert("a", "2026-03-10T12:00:00Z"))
    assert incidents() == []
    assert invoke("sweep-alerts", {})["opened"] == 0  # held by the rule
    assert put({"correlation": {"groups": []}}, 1)[0] == 200
    assert invoke("sweep-alerts", {})["opened"] == 1  # the rule is gone: opened, not lost
    (incident,) = incidents()
    assert incident["rule"] == "svc"
