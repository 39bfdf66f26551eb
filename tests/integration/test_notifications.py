"""Routing, delivery and escalation end to end under moto: the config API, the queue consumer,
the flush and escalation ticks, a local HTTP server receiving Slack / Teams / webhook posts,
SNS publish under moto, the notification log."""

import contextlib
import hashlib
import hmac
import json
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import boto3
import pytest

from omp.adapters.memory import FixedClock
from omp.adapters.notify_senders import Sender
from omp.domain import incidents as incident_domain
from omp.domain.alarms import Alarm, Severity
from omp.domain.ids import new_id
from omp.domain.incidents import IncidentAlarm
from omp.runtime import container
from tests import support
from tests.support import call_api, invoke

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PREFIX = "omp/test/notify/"
TOPIC = "omp-test-notify-oncall"


class Receiver(BaseHTTPRequestHandler):
    posts: list  # (path, headers, body)
    fail: dict  # path -> number of 503 answers still to give

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.fail.get(self.path, 0) > 0:
            self.fail[self.path] -= 1
            self.send_response(503)
            self.end_headers()
            return
        self.posts.append(
            (self.path, {k.lower(): v for k, v in self.headers.items()}, json.loads(body), body)
        )
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


@pytest.fixture
def http_receiver():
    handler = type("Handler", (Receiver,), {"posts": [], "fail": {}})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield handler, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def notify(platform, http_receiver, monkeypatch):
    handler, base = http_receiver
    sm = boto3.client("secretsmanager")
    sm.create_secret(Name=PREFIX + "slack", SecretString=f"{base}/slack")
    sm.create_secret(Name=PREFIX + "teams", SecretString=json.dumps({"url": f"{base}/teams"}))
    sm.create_secret(Name=PREFIX + "hook-url", SecretString=f"{base}/hook")
    sm.create_secret(Name=PREFIX + "hook-token", SecretString="s3cr3t-token")
    sm.create_secret(Name=PREFIX + "hook-hmac", SecretString="hmac-key")
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name=TOPIC)["TopicArn"]
    inbox = sqs.create_queue(QueueName="sns-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn)
    clock = FixedClock(T0)
    slept: list[float] = []
    built = container.notify_ports
    # the real ports, built inside each invocation's environment, with a recording sleep
    monkeypatch.setattr(container, "notify_ports", lambda: replace(built(), sleep=slept.append))
    with container.override(clock=clock, notification_sender=Sender(allow_http=True)):
        yield {
            "clock": clock,
            "http": handler,
            "base": base,
            "topic": topic,
            "inbox": inbox,
            "slept": slept,
        }


def receivers():
    return [
        {
            "name": "team",
            "integrations": [
                {"type": "slack", "webhook_url": {"secret_id": PREFIX + "slack"}, "channel": "#db"},
                {
                    "type": "msteams",
                    "webhook_url": {"secret_id": PREFIX + "teams", "json_key": "url"},
                },
                {
                    "type": "webhook",
                    "url_secret": {"secret_id": PREFIX + "hook-url"},
                    "authorization": {"secret_id": PREFIX + "hook-token"},
                    "hmac_secret": {"secret_id": PREFIX + "hook-hmac"},
                },
                {"type": "sns", "topic_arn": f"arn:aws:sns:us-east-1:123456789012:{TOPIC}"},
            ],
        },
        {"name": "nobody", "integrations": []},
    ]


def config_body(version=0, **route):
    return {
        "version": version,
        "route": {
            "receiver": "nobody",
            "group_by": ["alertname"],
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": [{"matchers": ['team="db"'], "receiver": "team", **route}],
        },
        "receivers": receivers(),
    }


def put_config(body):
    return call_api("put-notification-config", body=body)


def alarm(alarm_id="alm_01JZ8A1ARM000000000000001", *, status="open", updated=T0, **labels):
    return {
        "id": alarm_id,
        "name": "DiskFull",
        "severity": "critical",
        "message": "disk 97% full",
        "source": "alertmanager",
        "resource": "db-1",
        "labels": {"team": "db", **labels},
        "status": status,
        "triggered_at": "2026-03-02T09:00:00.000Z",
        "created_at": "2026-03-02T09:00:00.000Z",
        "updated_at": updated.isoformat().replace("+00:00", "Z"),
        "created_by": "t",
        "version": 1,
    }


def sqs_event(*bus_events):
    return {
        "Records": [
            {"messageId": f"m{i}", "body": json.dumps(e), "eventSource": "aws:sqs"}
            for i, e in enumerate(bus_events)
        ]
    }


def bus_event(detail_type, detail):
    return {"source": "omp.monitoring", "detail-type": detail_type, "detail": detail}


def route(*bus_events):
    result = invoke("route-notifications", sqs_event(*bus_events))
    assert result == {"batchItemFailures": []}


def tick(ctx, at):
    ctx["clock"].current = at
    return invoke("flush-notifications", {"detail-type": "Scheduled Event", "detail": {}})


def posts(ctx, path=None):
    return [p for p in ctx["http"].posts if path is None or p[0] == path]


def sns_messages(ctx):
    sqs = boto3.client("sqs")
    out = []
    while True:
        got = sqs.receive_message(QueueUrl=ctx["inbox"], MaxNumberOfMessages=10).get("Messages")
        if not got:
            return out
        for m in got:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=ctx["inbox"], ReceiptHandle=m["ReceiptHandle"])


# ---- the config API -------------------------------------------------------------------------


def test_put_get_config_with_versions_and_no_secret_values(notify):
    status, body, _ = call_api("get-notification-config")
    assert status == 404 and body["error"]["code"] == "NOTIFICATION_CONFIG_NOT_FOUND"
    status, body, _ = put_config(config_body())
    assert status == 200, body
    cfg = body["notification_config"]
    assert cfg["version"] == 1 and cfg["updated_by"] == "tester"
    assert cfg["route"]["group_wait"] == "30s"
    status, again, _ = call_api("get-notification-config")
    assert status == 200 and again["notification_config"]["receivers"] == cfg["receivers"]
    assert notify["base"] not in json.dumps(again) and "s3cr3t" not in json.dumps(again)
    # a stale version is a conflict; the read one succeeds
    status, body, _ = put_config(config_body(version=0))
    assert status == 409 and body["error"]["code"] == "VERSION_CONFLICT"
    assert body["error"]["details"] == {"version": 1}
    status, body, _ = put_config(config_body(version=1))
    assert status == 200 and body["notification_config"]["version"] == 2


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda b: b["route"].update(matchers=['a="b"']), "VALIDATION_FAILED"),  # root matcher
        (lambda b: b["route"]["routes"][0].update(receiver="ghost"), "VALIDATION_FAILED"),
        (lambda b: b["route"].update(group_interval="0"), "VALIDATION_FAILED"),
        (lambda b: b["route"]["routes"][0].update(mute_time_intervals=["x"]), "VALIDATION_FAILED"),
        (
            lambda b: b["receivers"][0]["integrations"].append(
                {"type": "slack", "webhook_url": "https://hooks.slack.com/services/T/B/X"}
            ),
            "VALIDATION_FAILED",
        ),
        (
            lambda b: b["receivers"][0]["integrations"].append(
                {"type": "slack", "webhook_url": {"secret_id": "prod/other-team/slack"}}
            ),
            "NOTIFY_REFERENCE_NOT_ALLOWED",
        ),
        (
            lambda b: b["receivers"][0]["integrations"].append(
                {"type": "sns", "topic_arn": "arn:aws:sns:us-east-1:123456789012:billing"}
            ),
            "NOTIFY_REFERENCE_NOT_ALLOWED",
        ),
        (
            lambda b: b["route"]["routes"][0].update(escalation_policy="esc_missing"),
            "UNKNOWN_ESCALATION_POLICY",
        ),
    ],
)
def test_bad_configs_are_422(notify, mutate, code):
    body = config_body()
    mutate(body)
    status, answer, _ = put_config(body)
    assert status == 422, answer
    assert answer["error"]["code"] == code
    assert call_api("get-notification-config")[0] == 404  # nothing stored


def test_a_config_too_large_for_one_item_is_422(notify):
    body = config_body()
    body["receivers"] += [
        {
            "name": f"r{i}",
            "integrations": [{"type": "webhook", "url": "https://h.example.com/" + "a" * 1900}],
        }
        for i in range(200)
    ]
    status, answer, _ = put_config(body)
    assert status == 422 and answer["error"]["code"] == "NOTIFICATION_CONFIG_TOO_LARGE"


def test_malformed_policy_ids_are_not_found(notify):
    for pid in ("x" * 1500, "esc_nope"):
        status, body, _ = call_api("get-escalation-policy", path_params={"policy_id": pid})
        assert status == 404 and body["error"]["code"] == "ESCALATION_POLICY_NOT_FOUND"
        status, _, _ = call_api("delete-escalation-policy", path_params={"policy_id": pid})
        assert status == 404


def test_unknown_receiver_is_named(notify):
    body = config_body()
    body["route"]["routes"][0]["receiver"] = "ghost"
    _, answer, _ = put_config(body)
    assert "ghost" in json.dumps(answer["error"]["details"])


# ---- delivery -------------------------------------------------------------------------------


def test_alarm_to_slack_teams_webhook_and_sns_once_per_change(notify):
    ctx = notify
    assert put_config(config_body())[0] == 200
    raised = bus_event("AlarmRaised", {"alarm": alarm(), "notify": True, "flapping": False})
    route(raised)

    assert tick(ctx, T0 + timedelta(seconds=10))["sent"] == 0  # within group_wait
    summary = tick(ctx, T0 + timedelta(seconds=31))
    assert summary == {"groups": 1, "sent": 4, "failed": 0, "skipped": 0, "silenced": 0}
    slack, teams, hook = posts(ctx, "/slack"), posts(ctx, "/teams"), posts(ctx, "/hook")
    assert len(slack) == len(teams) == len(hook) == 1
    assert slack[0][2]["channel"] == "#db" and "[FIRING:1]" in slack[0][2]["text"]
    assert teams[0][2]["attachments"][0]["content"]["type"] == "AdaptiveCard"
    _, headers, body, raw = hook[0]
    assert body["version"] == "4" and body["status"] == "firing"
    assert body["alerts"][0]["fingerprint"] == alarm()["id"]
    assert headers["authorization"] == "Bearer s3cr3t-token"
    expected = hmac.new(b"hmac-key", raw, hashlib.sha256).hexdigest()
    assert headers["x-omp-signature"] == f"sha256={expected}"
    sns = sns_messages(ctx)
    assert len(sns) == 1 and "DiskFull" in sns[0]["Message"]

    # no duplicate: the same tick again, the same event again, the next group_interval tick
    assert tick(ctx, T0 + timedelta(seconds=31))["sent"] == 0
    route(raised)
    assert tick(ctx, T0 + timedelta(minutes=5, seconds=31))["sent"] == 0
    assert tick(ctx, T0 + timedelta(hours=4))["sent"] == 0
    assert len(ctx["http"].posts) == 3 and sns_messages(ctx) == []

    # the repeat, on the first tick after repeat_interval
    first_repeat = T0 + timedelta(seconds=31) + timedelta(hours=4, minutes=5)
    assert tick(ctx, first_repeat)["sent"] == 4
    assert json.loads(posts(ctx, "/hook")[-1][3])["omp"]["reason"] == "repeat"

    # resolved: once, at the next tick; the group is then gone
    resolved = alarm(status="resolved", updated=T0 + timedelta(hours=5))
    route(bus_event("AlarmResolved", {"alarm": resolved, "notify": True}))
    route(bus_event("AlarmResolved", {"alarm": resolved, "notify": True}))  # redelivered
    assert tick(ctx, first_repeat + timedelta(minutes=5))["sent"] == 4
    assert posts(ctx, "/hook")[-1][2]["status"] == "resolved"
    assert tick(ctx, first_repeat + timedelta(minutes=10)) == {
        "groups": 0,
        "sent": 0,
        "failed": 0,
        "skipped": 0,
        "silenced": 0,
    }
    # an older event delivered late does not bring the alarm back
    route(raised)
    assert tick(ctx, first_repeat + timedelta(minutes=15))["sent"] == 0


def test_the_log_lists_every_delivery_with_filters_and_pages(notify):
    ctx = notify
    put_config(config_body())
    route(bus_event("AlarmRaised", {"alarm": alarm()}))
    tick(ctx, T0 + timedelta(seconds=31))
    status, body, _ = call_api(
        "list-notifications", query={"from": "2026-03-01T00:00:00Z", "to": "2026-03-03T00:00:00Z"}
    )
    assert status == 200
    rows = body["notifications"]
    assert len(rows) == 4 and {r["status"] for r in rows} == {"sent"}
    assert sorted(r["integration"] for r in rows) == ["0:slack", "1:msteams", "2:webhook", "3:sns"]
    assert all(r["receiver"] == "team" and r["reason"] == "first" for r in rows)
    seen, token = [], None
    while True:
        query = {"from": "2026-03-01T00:00:00Z", "to": "2026-03-03T00:00:00Z", "limit": "3"}
        if token:
            query["next_token"] = token
        _, page, _ = call_api("list-notifications", query=query)
        seen += [r["id"] for r in page["notifications"]]
        token = page.get("next_token")
        if not token:
            break
    assert sorted(seen) == sorted(r["id"] for r in rows)
    _, filtered, _ = call_api(
        "list-notifications",
        query={"from": "2026-03-01T00:00:00Z", "to": "2026-03-03T00:00:00Z", "status": "failed"},
    )
    assert filtered["notifications"] == []
    status, bad, _ = call_api("list-notifications", query={"next_token": "garbage"})
    assert status == 400 and bad["error"]["code"] == "INVALID_NEXT_TOKEN"


def test_a_failing_receiver_is_retried_with_backoff_then_at_the_next_tick_only_it(notify):
    ctx = notify
    put_config(config_body())
    route(bus_event("AlarmRaised", {"alarm": alarm()}))
    ctx["http"].fail["/teams"] = 5  # more than one tick's three attempts
    summary = tick(ctx, T0 + timedelta(seconds=31))
    assert summary["sent"] == 3 and summary["failed"] == 1
    assert ctx["slept"] == [0.5, 1.0]  # three attempts, backoff between them
    # a minute later (not a whole group_interval) only the failed integration is tried again
    summary = tick(ctx, T0 + timedelta(seconds=91))
    assert summary == {"groups": 1, "sent": 1, "failed": 0, "skipped": 0, "silenced": 0}
    assert len(posts(ctx, "/teams")) == 1 and len(posts(ctx, "/slack")) == 1
    _, body, _ = call_api(
        "list-notifications",
        query={"from": "2026-03-01T00:00:00Z", "to": "2026-03-03T00:00:00Z", "status": "failed"},
    )
    (failed,) = body["notifications"]
    assert failed["integration"] == "1:msteams" and failed["attempts"] == 3
    assert "503" in failed["error"]


def test_held_alarms_are_not_notified(notify):
    ctx = notify
    put_config(config_body())
    route(
        bus_event("AlarmRaised", {"alarm": alarm(), "notify": False, "flapping": True}),
        bus_event(
            "AlarmRaised",
            {"alarm": alarm("alm_01JZ8A1ARM000000000000002"), "notify": False, "suppressed": True},
        ),
    )
    assert tick(ctx, T0 + timedelta(minutes=1)) == {
        "groups": 0,
        "sent": 0,
        "failed": 0,
        "skipped": 0,
        "silenced": 0,
    }


def test_silences_are_asked_again_at_each_flush(notify):
    ctx = notify
    put_config(config_body())
    route(bus_event("AlarmRaised", {"alarm": alarm(instance="a")}))
    assert tick(ctx, T0 + timedelta(seconds=31))["sent"] == 4

    def silence(instance):
        status, body, _ = call_api(
            "create-silence",
            body={
                "matchers": [f'instance="{instance}"'],
                "ends_at": "2026-03-03T09:00:00Z",
                "comment": "maintenance",
            },
        )
        assert status == 201, body

    # a second alarm, silenced after it was raised: not news for the group
    silence("b")
    second = alarm("alm_01JZ8A1ARM000000000000002", instance="b", updated=T0 + timedelta(minutes=1))
    route(bus_event("AlarmRaised", {"alarm": second}))
    summary = tick(ctx, T0 + timedelta(minutes=5, seconds=31))
    assert summary["sent"] == 0 and summary["silenced"] == 0
    # every firing alert silenced: not even the repeat goes out
    silence("a")
    summary = tick(ctx, T0 + timedelta(hours=4, minutes=5, seconds=31))
    assert summary["sent"] == 0 and summary["silenced"] == 1
    assert len(ctx["http"].posts) == 3


def test_events_reach_the_bus(notify, platform):
    ctx = notify
    put_config(config_body())
    route(bus_event("AlarmRaised", {"alarm": alarm()}))
    tick(ctx, T0 + timedelta(seconds=31))
    sqs = boto3.client("sqs")
    kinds = []
    for _ in range(5):
        for m in sqs.receive_message(QueueUrl=platform["queue_url"], MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            kinds.append(json.loads(m["Body"])["detail-type"])
    assert kinds.count("NotificationSent") == 4


def test_a_poison_record_fails_alone(notify):
    put_config(config_body())
    event = sqs_event(bus_event("AlarmRaised", {"alarm": alarm()}))
    event["Records"].append({"messageId": "bad", "body": "not json"})
    event["Records"].append({"messageId": "bad2", "body": json.dumps(bus_event("AlarmRaised", {}))})
    result = invoke("route-notifications", event)
    assert result == {"batchItemFailures": [{"itemIdentifier": "bad"}, {"itemIdentifier": "bad2"}]}


# ---- escalation -----------------------------------------------------------------------------


def escalation_config(version, policy_id=None):
    body = config_body(version)
    body["receivers"] += [
        {
            "name": "l1",
            "integrations": [{"type": "webhook", "url_secret": {"secret_id": PREFIX + "l1"}}],
        },
        {
            "name": "l2",
            "integrations": [{"type": "webhook", "url_secret": {"secret_id": PREFIX + "l2"}}],
        },
    ]
    if policy_id:
        body["route"]["routes"][0]["escalation_policy"] = policy_id
    return body


def open_incident(alarm_id="alm_01JZ8A1ARM000000000000001", suppressed=False):
    stored = Alarm.model_validate(alarm(alarm_id) | {"suppressed": suppressed})
    with support_env("route-notifications"):
        container.alarms().put_new(stored)
        members = (IncidentAlarm(alarm_id, Severity.CRITICAL, "db-1", "DiskFull"),)
        incident = incident_domain.open_incident(
            incident_id=new_id("inc", int(T0.timestamp() * 1000)),
            group_key="k",
            alarms=members,
            now=T0,
        )
        container.incidents().put_new(incident, members)
        OPENED_WITH[incident.id] = (alarm_id,)
    return incident


def opened_detail(incident):
    """The incident as its `IncidentOpened` event carries it: with the opening alarms' ids
    (the incident itself holds only counters; its members are items of their own)."""
    (alarm_id,) = OPENED_WITH[incident.id]
    members = (IncidentAlarm(alarm_id, Severity.CRITICAL, "db-1", "DiskFull"),)
    return incident_domain.event_for(None, incident, "correlation", members).detail["incident"]


OPENED_WITH: dict[str, tuple[str, ...]] = {}


@contextlib.contextmanager
def support_env(name):
    from infra import wiring
    from omp.runtime import env

    with env.overlay(wiring.environment(wiring.function(name), support.resolve, "test")):
        yield


def escalate(ctx, at):
    ctx["clock"].current = at
    return invoke("escalate-incidents", {"detail-type": "Scheduled Event", "detail": {}})


@pytest.fixture
def escalation(notify):
    ctx = notify
    sm = boto3.client("secretsmanager")
    sm.create_secret(Name=PREFIX + "l1", SecretString=f"{ctx['base']}/l1")
    sm.create_secret(Name=PREFIX + "l2", SecretString=f"{ctx['base']}/l2")
    assert put_config(escalation_config(0))[0] == 200
    status, body, _ = call_api(
        "create-escalation-policy",
        body={
            "name": "db on-call",
            "levels": [
                {"receivers": ["l1"], "delay": "15m"},
                {"receivers": ["l2"], "delay": "30m"},
            ],
        },
    )
    assert status == 201, body
    policy_id = body["escalation_policy"]["id"]
    assert put_config(escalation_config(1, policy_id))[0] == 200
    incident = open_incident()
    opened = bus_event("IncidentOpened", {"incident": opened_detail(incident)})
    route(opened)
    route(opened)  # redelivered: one escalation
    return ctx | {"policy_id": policy_id, "incident": incident}


def test_unacknowledged_incident_escalates_level_by_level_once_each(escalation):
    ctx = escalation
    assert escalate(ctx, T0)["notified"] == 1
    assert [p[0] for p in posts(ctx)] == ["/l1"]
    assert posts(ctx, "/l1")[0][2]["omp"]["incident"]["id"] == ctx["incident"].id
    assert escalate(ctx, T0)["notified"] == 0  # a rerun sends nothing
    assert escalate(ctx, T0 + timedelta(minutes=14))["notified"] == 0
    assert escalate(ctx, T0 + timedelta(minutes=15))["notified"] == 1
    assert [p[0] for p in posts(ctx)] == ["/l1", "/l2"]
    assert posts(ctx, "/l2")[0][2]["omp"]["level"] == 1
    assert escalate(ctx, T0 + timedelta(minutes=15))["notified"] == 0
    end = escalate(ctx, T0 + timedelta(minutes=45))
    assert end["notified"] == 0 and end["stopped"] == 1
    assert escalate(ctx, T0 + timedelta(hours=3)) == {
        "due": 0,
        "notified": 0,
        "stopped": 0,
        "failed": 0,
    }
    _, body, _ = call_api(
        "list-notifications",
        query={
            "from": "2026-03-01T00:00:00Z",
            "to": "2026-03-03T00:00:00Z",
            "kind": "escalation",
            "incident_id": ctx["incident"].id,
        },
    )
    assert sorted(r["receiver"] for r in body["notifications"]) == ["l1", "l2"]


def test_an_incident_of_silenced_alarms_does_not_escalate(escalation):
    ctx = escalation
    held = open_incident("alm_01JZ8A1ARM000000000000009", suppressed=True)
    route(bus_event("IncidentOpened", {"incident": opened_detail(held)}))
    assert escalate(ctx, T0)["notified"] == 1  # the fixture's incident only
    (page,) = posts(ctx, "/l1")
    assert page[2]["omp"]["incident"]["id"] == ctx["incident"].id


def test_acknowledging_stops_escalation(escalation):
    ctx = escalation
    escalate(ctx, T0)
    status, body, _ = call_api(
        "acknowledge-incident", path_params={"incident_id": ctx["incident"].id}, body={}
    )
    assert status == 200, body
    route(bus_event("IncidentUpdated", {"incident": body["incident"]}))
    assert escalate(ctx, T0 + timedelta(minutes=15))["notified"] == 0
    assert [p[0] for p in posts(ctx)] == ["/l1"]


def test_acknowledged_without_the_event_still_stops(escalation):
    ctx = escalation
    escalate(ctx, T0)
    call_api("acknowledge-incident", path_params={"incident_id": ctx["incident"].id}, body={})
    result = escalate(ctx, T0 + timedelta(minutes=15))
    assert result["notified"] == 0 and result["stopped"] == 1


def test_policy_api(escalation):
    ctx = escalation
    pid = ctx["policy_id"]
    status, body, _ = call_api("get-escalation-policy", path_params={"policy_id": pid})
    assert status == 200 and body["escalation_policy"]["levels"][0]["delay_seconds"] == 900
    status, body, _ = call_api("list-escalation-policies", query={"limit": "1"})
    assert status == 200 and [p["id"] for p in body["escalation_policies"]] == [pid]
    status, body, _ = call_api("delete-escalation-policy", path_params={"policy_id": pid})
    assert status == 409 and body["error"]["code"] == "ESCALATION_POLICY_IN_USE"
    assert put_config(escalation_config(2))[0] == 200
    assert call_api("delete-escalation-policy", path_params={"policy_id": pid})[0] == 200
    status, body, _ = call_api("get-escalation-policy", path_params={"policy_id": pid})
    assert status == 404 and body["error"]["code"] == "ESCALATION_POLICY_NOT_FOUND"
    status, body, _ = call_api(
        "create-escalation-policy",
        body={"name": "x", "levels": [{"receivers": ["ghost"], "delay": "5m"}]},
    )
    assert status == 422 and body["error"]["code"] == "UNKNOWN_RECEIVER"
    # Idempotency-Key: a retried create answers the first policy
    retry = {"name": "y", "levels": [{"receivers": ["l1"], "delay": "5m"}]}
    first = call_api("create-escalation-policy", body=retry, headers={"Idempotency-Key": "k1"})
    again = call_api("create-escalation-policy", body=retry, headers={"Idempotency-Key": "k1"})
    assert first[0] == again[0] == 201
    assert first[1]["escalation_policy"]["id"] == again[1]["escalation_policy"]["id"]
    assert again[2].get("Idempotent-Replayed") == "true"
    # the running escalation stops once its policy is gone
    assert escalate(ctx, T0)["stopped"] == 1 and posts(ctx) == []
