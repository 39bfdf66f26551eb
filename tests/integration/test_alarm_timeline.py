"""GET /v1/alarms/{id}/timeline under moto: the pipeline's entries and people's changes, in
order, paginated; a retried record adds nothing; API acknowledge/resolve move the dedup state."""

import datetime as dt

import pytest

from omp.adapters.dynamo_alerting import DynamoAlertStateStore
from omp.domain.dedup import AlertStatus, TimelineEntry
from omp.domain.ingest import IngestEnvelope
from tests.support import call_api, invoke, resolve

NOW = dt.datetime.now(dt.UTC).replace(microsecond=0)


def _alert(name, status="firing", minute=0, started=0):
    return {
        "name": name,
        "status": status,
        "severity": "major",
        "resource": f"host-{name}",
        "labels": {"service": f"svc-{name}"},
        "fingerprint": name,
        "starts_at": (
            NOW + dt.timedelta(minutes=started if status == "firing" else minute)
        ).isoformat(),
    }


def _consume(*alerts, message_id="m1"):
    envelope = IngestEnvelope(
        "generic", NOW.isoformat(), "key:test", "req-1", payload={"alerts": list(alerts)}
    )
    record = {"messageId": message_id, "body": envelope.to_json()}
    assert invoke("process-alerts", {"Records": [record]}) == {"batchItemFailures": []}


def _alarms():
    status, page, _ = call_api("list-alarms")
    assert status == 200
    return page["alarms"]


def _timeline(alarm_id, **query):
    status, body, _ = call_api(
        "get-alarm-timeline", path_params={"alarm_id": alarm_id}, query=query or None
    )
    assert status == 200, body
    return body


def test_pipeline_entries_oldest_first_and_pages(platform):
    _consume(_alert("t1"))
    _consume(_alert("t1", "resolved", minute=5))
    (alarm,) = _alarms()
    body = _timeline(alarm["id"])
    assert body["alarm_id"] == alarm["id"] and body["next_token"] is None
    kinds = [e["kind"] for e in body["timeline"]]
    assert kinds == ["created", "correlated", "resolved"]
    assert body["timeline"][0]["actor"] is None and body["timeline"][0]["status"] == "open"
    assert body["timeline"][-1]["status"] == "resolved"
    seen, token = [], None
    while True:
        page = _timeline(alarm["id"], limit="1", **({"next_token": token} if token else {}))
        seen += page["timeline"]
        token = page["next_token"]
        if not token:
            break
    assert seen == body["timeline"]


def test_a_redelivered_record_adds_no_entries(platform):
    _consume(_alert("t2"))
    (alarm,) = _alarms()
    before = _timeline(alarm["id"])["timeline"]
    # What a crash before the state write leaves: the entries are written again later, with
    # a later processing time; their keys do not depend on it.
    store = DynamoAlertStateStore(resolve("table", "monitoring"))
    later = NOW + dt.timedelta(minutes=3)
    again = [
        TimelineEntry(
            alarm_id=alarm["id"],
            at=dt.datetime.fromisoformat(e["at"].replace("Z", "+00:00")),
            recorded_at=later,
            kind=e["kind"],
            status=AlertStatus(e["status"]),
            occurrences=e["occurrences"],
            note=e["note"],
        )
        for e in before
    ]
    store.append_timeline(again)
    after = _timeline(alarm["id"])["timeline"]
    assert [e["kind"] for e in after] == [e["kind"] for e in before]
    _consume(_alert("t2"), message_id="m2")  # a replayed payload: ignored, nothing appended
    assert len(_timeline(alarm["id"])["timeline"]) == len(before)


def test_api_acknowledge_and_resolve_are_on_the_timeline_and_in_the_dedup_state(platform):
    _consume(_alert("t3"))
    _consume(_alert("t3", started=1), message_id="m2")  # a new firing: a repeat, not a change
    (alarm,) = _alarms()
    path = {"alarm_id": alarm["id"]}
    status, _, _ = call_api("acknowledge-alarm", path_params=path, body={"comment": "looking"})
    assert status == 200
    entry = _timeline(alarm["id"])["timeline"][-1]
    assert (entry["kind"], entry["actor"], entry["note"]) == ("acknowledged", "tester", "looking")
    assert entry["occurrences"] == 2  # the source's count when the person acknowledged
    store = DynamoAlertStateStore(resolve("table", "monitoring"))
    assert store.get("generic", "t3").status is AlertStatus.ACKNOWLEDGED
    status, _, _ = call_api("resolve-alarm", path_params=path)
    assert status == 200
    state = store.get("generic", "t3")
    assert state.status is AlertStatus.RESOLVED
    # The replayed repeat stays ignored (no second alarm)...
    _consume(_alert("t3", started=1), message_id="m3")
    assert len(_alarms()) == 1
    # ...the source's own resolve changes nothing...
    _consume(_alert("t3", "resolved", minute=2), message_id="m4")
    assert len(_timeline(alarm["id"])["timeline"]) == 4  # created, correlated, ack, resolve
    # ...and its next firing opens a new alarm.
    _consume(_alert("t3", started=10), message_id="m5")
    reopened = store.get("generic", "t3")
    assert reopened.status is AlertStatus.OPEN and reopened.alarm_id != alarm["id"]


def test_api_alarms_get_people_entries_too(platform):
    status, created, _ = call_api(
        "create-alarm", body={"name": "manual", "severity": "minor", "message": "m", "source": "x"}
    )
    assert status == 201, created
    alarm_id = created["alarm"]["id"]
    assert _timeline(alarm_id)["timeline"] == []
    path = {"alarm_id": alarm_id}
    call_api("acknowledge-alarm", path_params=path)
    call_api("resolve-alarm", path_params=path, body={"comment": "fixed"})
    acked, done = _timeline(alarm_id)["timeline"]
    assert (acked["kind"], acked["actor"], acked["occurrences"]) == ("acknowledged", "tester", 0)
    assert (done["kind"], done["status"], done["note"]) == ("resolved", "resolved", "fixed")
    first = _timeline(alarm_id, limit="1")
    assert first["timeline"] == [acked]
    assert _timeline(alarm_id, limit="1", next_token=first["next_token"])["timeline"] == [done]


@pytest.mark.parametrize(
    ("alarm_id", "query", "status", "code"),
    [
        ("alm_01ARZ3NDEKTSV4RRFFQ69G5FAV", None, 404, "ALARM_NOT_FOUND"),
        ("nope", None, 404, "ALARM_NOT_FOUND"),
        ("alm_01ARZ3NDEKTSV4RRFFQ69G5FAV", {"limit": "0"}, 422, "VALIDATION_FAILED"),
    ],
)
def test_bad_input(platform, alarm_id, query, status, code):
    got, body, _ = call_api("get-alarm-timeline", path_params={"alarm_id": alarm_id}, query=query)
    assert (got, body["error"]["code"]) == (status, code)


def test_a_token_of_another_alarm_is_refused(platform):
    _consume(_alert("t4"), _alert("t5"))
    first, second = (a["id"] for a in _alarms())
    token = _timeline(first, limit="1")["next_token"]
    got, body, _ = call_api(
        "get-alarm-timeline", path_params={"alarm_id": second}, query={"next_token": token}
    )
    assert (got, body["error"]["code"]) == (400, "INVALID_NEXT_TOKEN")
