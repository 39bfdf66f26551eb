"""Silences, maintenance windows and inhibition rules under moto: every route through its
handler with the catalog's environment, the alert consumer storing silenced and inhibited
alarms as suppressed, and the expiry sweep's events on the bus."""

import json
from datetime import UTC, datetime, timedelta

import boto3
import pytest

from omp.adapters.memory import FixedClock
from omp.domain.ingest import IngestEnvelope
from omp.runtime import container
from tests import support
from tests.support import call_api, invoke


def iso(value):
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def now():
    return datetime.now(UTC)


def silence_body(**overrides):
    data = {
        "matchers": [{"name": "alertname", "value": "DiskFull"}, 'instance=~"db-[0-9]+"'],
        "ends_at": iso(now() + timedelta(hours=2)),
        "comment": "disk resize",
    }
    return data | overrides


def created(name, body, **kwargs):
    status, answer, _ = call_api(name, body=body, **kwargs)
    assert status == 201, answer
    return answer


def error(name, **kwargs):
    status, answer, _ = call_api(name, **kwargs)
    return status, answer["error"]["code"], answer["error"]


def captured(platform):
    """Detail types (and details) of the events put on the platform bus so far."""
    sqs = boto3.client("sqs")
    found = []
    while True:
        batch = sqs.receive_message(QueueUrl=platform["queue_url"], MaxNumberOfMessages=10)
        messages = batch.get("Messages", [])
        if not messages:
            return found
        for message in messages:
            event = json.loads(message["Body"])
            found.append((event["detail-type"], event["detail"]))
            sqs.delete_message(
                QueueUrl=platform["queue_url"], ReceiptHandle=message["ReceiptHandle"]
            )


# ---- silences -------------------------------------------------------------------------------


def test_silence_lifecycle(platform):
    silence = created("create-silence", silence_body())["silence"]
    sid = silence["id"]
    assert silence["state"] == "active" and silence["created_by"] == "tester"
    assert silence["matchers"][1] == {
        "name": "instance",
        "value": "db-[0-9]+",
        "is_regex": True,
        "is_equal": True,
    }
    status, got, _ = call_api("get-silence", path_params={"silence_id": sid})
    assert status == 200 and got["silence"] == silence

    def listed(state=None):
        query = {"state": state} if state else None
        status, page, _ = call_api("list-silences", query=query)
        assert status == 200, page
        return [s["id"] for s in page["silences"]]

    assert listed("active") == [sid] and listed("expired") == [] and listed() == [sid]

    status, gone, _ = call_api("expire-silence", path_params={"silence_id": sid})
    assert status == 200 and gone["silence"]["state"] == "expired"
    assert gone["silence"]["version"] == 2
    assert listed("active") == [] and listed("expired") == [sid]
    status, again, _ = call_api("expire-silence", path_params={"silence_id": sid})
    assert status == 200 and again["silence"] == gone["silence"]  # idempotent
    assert [kind for kind, _ in captured(platform)] == ["SilenceCreated", "SilenceExpired"]


def test_pending_silence_lists_as_pending(platform):
    later = now() + timedelta(hours=1)
    body = silence_body(starts_at=iso(later), ends_at=iso(later + timedelta(hours=1)))
    sid = created("create-silence", body)["silence"]["id"]
    _, page, _ = call_api("list-silences", query={"state": "pending"})
    assert [s["id"] for s in page["silences"]] == [sid]
    _, page, _ = call_api("list-silences", query={"state": "active"})
    assert page["silences"] == []


def test_list_pages_with_next_token(platform):
    ids = [created("create-silence", silence_body())["silence"]["id"] for _ in range(3)]
    status, first, _ = call_api("list-silences", query={"limit": "2"})
    assert status == 200 and len(first["silences"]) == 2 and first["next_token"]
    status, second, _ = call_api(
        "list-silences", query={"limit": "2", "next_token": first["next_token"]}
    )
    got = [s["id"] for s in first["silences"] + second["silences"]]
    assert sorted(got) == sorted(ids) and second["next_token"] is None


def test_idempotency_key_creates_one_silence(platform):
    headers = {"Idempotency-Key": "sil-once"}
    body = silence_body()
    status, first, _ = call_api("create-silence", body=body, headers=headers)
    status2, second, replay_headers = call_api("create-silence", body=body, headers=headers)
    assert status == status2 == 201 and first == second
    assert replay_headers.get("Idempotent-Replayed") == "true"
    status, page, _ = call_api("list-silences")
    assert [s["id"] for s in page["silences"]] == [first["silence"]["id"]]


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"matchers": ['instance=~"db-[0-9"']}, "VALIDATION_FAILED"),  # invalid regex
        ({"matchers": [{"name": "1bad", "value": "x"}]}, "VALIDATION_FAILED"),
        ({"matchers": []}, "VALIDATION_FAILED"),
        ({"ends_at": "tomorrow"}, "VALIDATION_FAILED"),
        ({"ends_at": "2099-01-01T00:00:00"}, "VALIDATION_FAILED"),  # no offset
        ({"surprise": 1}, "VALIDATION_FAILED"),
        ({"ends_at": None}, "VALIDATION_FAILED"),
        ({"comment": ""}, "SILENCE_REASON_REQUIRED"),
        ({"ends_at": iso(datetime(2001, 1, 1, tzinfo=UTC))}, "SILENCE_INVALID_TIME_RANGE"),
        ({"ends_at": iso(datetime.now(UTC) + timedelta(days=8))}, "SILENCE_TOO_LONG"),
        ({"matchers": ['alertname=~".+"']}, "SILENCE_TOO_BROAD"),
        ({"matchers": ['env!="prod"', 'team=""']}, "SILENCE_TOO_BROAD"),
    ],
)
def test_create_silence_refuses_bad_input_with_422(platform, overrides, code):
    status, got, answer = error("create-silence", body=silence_body(**overrides))
    assert (status, got) == (422, code), answer
    if code == "SILENCE_TOO_BROAD":
        assert answer["details"]["reason"] == "matches_everything"


def test_malformed_json_and_unknown_ids(platform):
    assert error("create-silence", body="{nope")[:2] == (400, "MALFORMED_JSON")
    for sid in ("sil_01KKBSWHG0KCZ7Y3W8V6P5R4QT", "not-an-id"):
        assert error("get-silence", path_params={"silence_id": sid})[:2] == (
            404,
            "SILENCE_NOT_FOUND",
        )
        assert error("expire-silence", path_params={"silence_id": sid})[:2] == (
            404,
            "SILENCE_NOT_FOUND",
        )
    assert error("list-silences", query={"state": "sleeping"})[:2] == (422, "VALIDATION_FAILED")
    assert error("list-silences", query={"next_token": "garbage"})[:2] == (
        400,
        "INVALID_NEXT_TOKEN",
    )


def test_a_silence_muting_most_active_alarms_is_refused(platform):
    for n in range(12):
        name = "DiskFull" if n < 9 else "CpuHigh"
        body = {"name": name, "severity": "major", "labels": {"instance": f"db-{n}"}}
        assert call_api("create-alarm", body=body)[0] == 201
    status, code, answer = error("create-silence", body=silence_body())
    assert (status, code) == (422, "SILENCE_TOO_BROAD")
    assert answer["details"]["reason"] == "share_of_active"
    assert (answer["details"]["matched"], answer["details"]["active"]) == (9, 12)
    narrow = silence_body(matchers=['alertname="DiskFull"', 'instance="db-3"'])
    assert call_api("create-silence", body=narrow)[0] == 201


def test_permissions(platform):
    body = silence_body()
    assert call_api("create-silence", body=body, roles="viewer")[0] == 403
    assert call_api("list-silences", roles="viewer")[0] == 200
    assert call_api("create-silence", body=body, roles="operator")[0] == 201
    assert call_api("create-inhibition-rule", body={}, roles="viewer")[0] == 403


# ---- maintenance windows and inhibition rules -----------------------------------------------


def test_maintenance_window_lifecycle(platform):
    body = {
        "name": "weekly patching",
        "cron": "0 2 * * SUN",
        "duration_minutes": 120,
        "timezone": "Europe/Berlin",
        "matchers": ['env="staging"'],
    }
    window = created("create-maintenance-window", body)["maintenance_window"]
    wid = window["id"]
    assert wid.startswith("mwn_") and window["next_start"] and window["timezone"] == "Europe/Berlin"
    status, got, _ = call_api("get-maintenance-window", path_params={"window_id": wid})
    assert status == 200 and got["maintenance_window"]["cron"] == "0 2 * * SUN"
    status, page, _ = call_api("list-maintenance-windows")
    assert [w["id"] for w in page["maintenance_windows"]] == [wid]
    status, gone, _ = call_api("delete-maintenance-window", path_params={"window_id": wid})
    assert status == 200 and gone["maintenance_window"]["id"] == wid
    for name in ("get-maintenance-window", "delete-maintenance-window"):
        assert error(name, path_params={"window_id": wid})[:2] == (
            404,
            "MAINTENANCE_WINDOW_NOT_FOUND",
        )


@pytest.mark.parametrize(
    "overrides",
    [
        {"cron": "61 * * * *"},
        {"cron": "* * *"},
        {"timezone": "Mars/Olympus"},
        {"duration_minutes": 0},
        {"duration_minutes": 7 * 24 * 60 + 1},
        {"matchers": ['env=~"[a-"']},
    ],
)
def test_maintenance_window_bad_input_is_422(platform, overrides):
    body = {"name": "w", "cron": "0 2 * * *", "duration_minutes": 60, "matchers": ['env="x"']}
    status, code, _ = error("create-maintenance-window", body=body | overrides)
    assert (status, code) == (422, "VALIDATION_FAILED")


def test_maintenance_window_matching_everything_is_422(platform):
    body = {"name": "w", "cron": "0 2 * * *", "duration_minutes": 60, "matchers": ['env!="x"']}
    assert error("create-maintenance-window", body=body)[:2] == (422, "SILENCE_TOO_BROAD")


def test_inhibition_rule_lifecycle_and_bad_input(platform):
    body = {
        "name": "node down",
        "source_matchers": ['alertname="NodeDown"', 'severity="critical"'],
        "target_matchers": ['severity="warning"'],
        "equal": ["instance"],
    }
    first = created("create-inhibition-rule", body)["inhibition_rule"]
    second = created("create-inhibition-rule", body | {"name": "second"})["inhibition_rule"]
    status, page, _ = call_api("list-inhibition-rules")
    assert [r["id"] for r in page["inhibition_rules"]] == [first["id"], second["id"]]
    status, gone, _ = call_api("delete-inhibition-rule", path_params={"rule_id": first["id"]})
    assert status == 200 and gone["inhibition_rule"]["name"] == "node down"
    assert error("delete-inhibition-rule", path_params={"rule_id": first["id"]})[:2] == (
        404,
        "INHIBITION_RULE_NOT_FOUND",
    )
    for bad in (
        {"source_matchers": []},
        {"equal": ["not a label"]},
        {"target_matchers": ['x=~"("']},
    ):
        assert error("create-inhibition-rule", body=body | bad)[:2] == (422, "VALIDATION_FAILED")


# ---- the alert consumer ---------------------------------------------------------------------


def am_alert(fp, name, **labels):
    start = iso(now() - timedelta(minutes=1))
    return {
        "status": "firing",
        "labels": {"alertname": name, **labels},
        "annotations": {"summary": name},
        "startsAt": start,
        "endsAt": "0001-01-01T00:00:00Z",
        "fingerprint": fp,
    }


def consume(*alerts):
    payload = {"version": "4", "groupKey": "{}:{}", "alerts": list(alerts)}
    envelope = IngestEnvelope("alertmanager", iso(now()), "key_test", "req-1", payload=payload)
    event = {"Records": [{"messageId": "m1", "body": envelope.to_json()}]}
    assert invoke("process-alerts", event) == {"batchItemFailures": []}


def alarms_listed(**query):
    status, page, _ = call_api("list-alarms", query=query or None)
    assert status == 200, page
    return {a["labels"]["instance"]: a for a in page["alarms"]}


def test_the_consumer_stores_silenced_alarms_as_suppressed(platform):
    sid = created("create-silence", silence_body())["silence"]["id"]
    consume(
        am_alert("fp1", "DiskFull", instance="db-1"), am_alert("fp2", "DiskFull", instance="web-1")
    )
    listed = alarms_listed()
    assert listed["db-1"]["suppressed"] is True and listed["db-1"]["suppressed_by"] == [sid]
    assert listed["web-1"]["suppressed"] is False and listed["web-1"]["suppressed_by"] == []
    assert list(alarms_listed(suppressed="true")) == ["db-1"]
    assert list(alarms_listed(suppressed="false")) == ["web-1"]
    raised = [d for kind, d in captured(platform) if kind == "AlarmRaised"]
    notify = {d["alarm"]["labels"]["instance"]: d["notify"] for d in raised}
    assert notify == {"db-1": False, "web-1": True}


def test_the_consumer_inhibits_with_and_ed_sources_and_equal_labels(platform):
    rule = created(
        "create-inhibition-rule",
        {
            "source_matchers": ['alertname="NodeDown"', 'severity="critical"'],
            "target_matchers": ['alertname="DiskFull"'],
            "equal": ["instance", "cluster"],
        },
    )["inhibition_rule"]["id"]
    consume(
        am_alert("s1", "NodeDown", severity="critical", instance="n1", cluster="a"),
        am_alert("s2", "NodeDown", severity="warning", instance="n2", cluster="a"),
    )
    consume(  # a later batch: the sources are read back from the alarm store
        am_alert("t1", "DiskFull", instance="n1", cluster="a"),
        am_alert("t2", "DiskFull", instance="n1", cluster="b"),
        am_alert("t3", "DiskFull", instance="n2", cluster="a"),
    )
    _, page, _ = call_api("list-alarms", query={"name": "DiskFull"})
    held = {
        (a["labels"]["instance"], a["labels"]["cluster"]): a["suppressed_by"]
        for a in page["alarms"]
    }
    assert held == {("n1", "a"): [rule], ("n1", "b"): [], ("n2", "a"): []}


def test_an_open_maintenance_window_suppresses_in_the_consumer(platform):
    current = now()
    body = {
        "name": "now",
        "cron": f"{current.minute} {current.hour} * * *",
        "duration_minutes": 30,
        "matchers": ['env="staging"'],
    }
    wid = created("create-maintenance-window", body)["maintenance_window"]["id"]
    consume(am_alert("w1", "Anything", instance="h1", env="staging"))
    assert alarms_listed()["h1"]["suppressed_by"] == [wid]


# ---- the expiry sweep -----------------------------------------------------------------------


def test_the_sweep_publishes_each_announcement_once(platform):
    sid = created("create-silence", silence_body(ends_at=iso(now() + timedelta(minutes=40))))[
        "silence"
    ]["id"]
    captured(platform)  # drop SilenceCreated
    ends = datetime.fromisoformat(
        call_api("get-silence", path_params={"silence_id": sid})[1]["silence"]["ends_at"]
    )
    sweep_event = json.loads((support.ROOT / "events/warn-expiring-silences.json").read_text())

    def sweep(at):
        with container.override(clock=FixedClock(at)):
            return invoke("warn-expiring-silences", sweep_event)

    assert sweep(ends - timedelta(minutes=30))["expiring"] == 0
    assert sweep(ends - timedelta(minutes=10))["expiring"] == 1
    assert sweep(ends - timedelta(minutes=5))["expiring"] == 0
    assert sweep(ends + timedelta(minutes=1))["expired"] == 1
    assert sweep(ends + timedelta(minutes=6))["expired"] == 0
    events = captured(platform)
    assert [kind for kind, _ in events] == ["SilenceExpiring", "SilenceExpired"]
    assert events[0][1]["silence"]["id"] == sid and events[0][1]["expires_in_seconds"] == 600
    assert events[1][1]["reason"] == "ended"


@pytest.mark.parametrize(
    "overrides",
    [
        {"ends_at": "0001-01-01T00:00:00+14:00"},
        {"ends_at": "9999-12-31T23:59:59-14:00"},
        {"starts_at": "0001-01-01T00:00:00+14:00"},
    ],
)
def test_times_without_a_utc_instant_are_422_not_500(platform, overrides):
    status, code, _ = error("create-silence", body=silence_body(**overrides))
    assert (status, code) == (422, "SILENCE_INVALID_TIME_RANGE")


def test_a_silence_at_the_end_of_time_is_accepted(platform):
    body = silence_body(starts_at="9999-12-31T00:00:00Z", ends_at="9999-12-31T23:00:00Z")
    silence = created("create-silence", body)["silence"]
    assert silence["state"] == "pending"


class Calls:
    """DynamoDB operations (and the index queried) made through the adapters' client."""

    def __init__(self):
        from omp.adapters import aws

        self.made = []
        events = aws.client("dynamodb").meta.events
        events.register("before-parameter-build.dynamodb", self._record)

    def _record(self, params, model, **kwargs):
        self.made.append((model.name, params.get("ExpressionAttributeValues", {}).get(":p")))

    def queries(self):
        """The suppression reads: silences, windows, rules, and active alarms by status."""
        mine = ("SILENCES", "MWINDOWS", "INHIBIT_RULES", "ALARM_ST#")
        found = [p["S"] for name, p in self.made if name == "Query" and p]
        return [p for p in found if p.startswith(mine)]


def test_the_consumer_reads_suppressors_once_per_batch_and_never_for_repeats(platform):
    created("create-silence", silence_body())
    created(
        "create-inhibition-rule",
        {"source_matchers": ['alertname="NodeDown"'], "target_matchers": ['team="none"']},
    )
    calls = Calls()
    alerts = [am_alert(f"fp{n}", "DiskFull", instance=f"db-{n}") for n in range(10)]
    consume(*alerts)
    # one Query per kind for ten new alarms; no rule targets them: no active-alarm read
    assert sorted(calls.queries()) == ["INHIBIT_RULES", "MWINDOWS", "SILENCES"]
    calls.made.clear()
    consume(*alerts)  # the same alerts again: ignored / repeats
    assert calls.queries() == []


def test_active_alarms_are_read_once_per_batch_when_a_rule_targets(platform):
    created(
        "create-inhibition-rule",
        {"source_matchers": ['alertname="NodeDown"'], "target_matchers": ['alertname="DiskFull"']},
    )
    calls = Calls()
    consume(*[am_alert(f"fp{n}", "DiskFull", instance=f"db-{n}") for n in range(10)])
    active = [p for p in calls.queries() if p.startswith("ALARM_ST#")]
    # open and acknowledged, one day partition each over the lookback: each read once
    assert active and len(active) == len(set(active))
    assert {p.split("#")[1] for p in active} == {"open", "acknowledged"}
