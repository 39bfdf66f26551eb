"""Notification delivery pieces with fakes: retries and backoff, event reading, message
bodies, escalation steps, reference checks."""

from datetime import UTC, datetime, timedelta

import pytest

from omp.domain import notifications as n
from omp.domain import notify_config as nc
from omp.domain.errors import ValidationFailed
from omp.domain.notifications import (
    AlertStatus,
    DeliveryError,
    Escalation,
    Notification,
    NotifyAlert,
    RetryPolicy,
)
from omp.domain.notify_config import EscalationPolicy
from omp.domain.routing_config import (
    MsTeamsIntegration,
    RoutingConfig,
    SlackIntegration,
    SnsIntegration,
)
from omp.services import notifications as svc
from omp.services import notify_config as svc_config

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class FakeSend:
    """A transport that fails the first `failures` calls with `error`."""

    def __init__(self, failures=0, error=None):
        self.failures = failures
        self.error = error or DeliveryError("HTTP 503")
        self.calls = []

    def __call__(self, integration, notification):
        self.calls.append((integration, notification))
        if len(self.calls) <= self.failures:
            raise self.error


def alert(fp="alm_1", status=AlertStatus.FIRING, **labels):
    return NotifyAlert(
        alarm_id=fp,
        status=status,
        name="DiskFull",
        severity="critical",
        labels={"alertname": "DiskFull", **labels},
        message="disk 97% full",
        resource="db-1",
        starts_at=T0,
    )


def notification(*alerts):
    return Notification(
        receiver="oncall",
        group_key='{}:{alertname="DiskFull"}',
        group_labels={"alertname": "DiskFull"},
        alerts=tuple(alerts) or (alert(),),
        reason="first",
    )


# ---- retries --------------------------------------------------------------------------------


def test_backoff_delays_double_and_are_capped():
    policy = RetryPolicy(attempts=5, base=timedelta(seconds=1), factor=2, max_delay=timedelta(3))
    assert [d.total_seconds() for d in policy.delays()] == [1, 2, 4, 8]
    capped = RetryPolicy(attempts=5, base=timedelta(seconds=1), max_delay=timedelta(seconds=3))
    assert [d.total_seconds() for d in capped.delays()] == [1, 2, 3, 3]


def test_a_retryable_failure_is_retried_with_backoff_then_succeeds():
    send, slept = FakeSend(failures=2), []
    result = svc.deliver(send, object(), notification(), RetryPolicy(attempts=3), slept.append)
    assert result.ok and result.attempts == 3
    assert slept == [0.5, 1.0]
    assert len(send.calls) == 3


def test_retries_are_bounded_and_the_last_error_is_kept():
    send, slept = FakeSend(failures=99, error=DeliveryError("HTTP 502")), []
    result = svc.deliver(send, object(), notification(), RetryPolicy(attempts=3), slept.append)
    assert not result.ok and result.attempts == 3 and result.error == "HTTP 502"
    assert len(slept) == 2


def test_a_permanent_failure_is_not_retried():
    send, slept = FakeSend(failures=1, error=DeliveryError("HTTP 404", retryable=False)), []
    result = svc.deliver(send, object(), notification(), RetryPolicy(attempts=3), slept.append)
    assert not result.ok and result.attempts == 1 and slept == []


def test_a_bug_while_sending_is_a_failed_delivery_not_a_crash():
    def boom(integration, notification):
        raise KeyError("x")

    result = svc.deliver(boom, object(), notification(), RetryPolicy(), lambda s: None)
    assert not result.ok and "KeyError" in (result.error or "")


@pytest.mark.parametrize(
    ("status", "retryable"), [(500, True), (503, True), (429, True), (408, True), (400, False)]
)
def test_retryable_status(status, retryable):
    assert n.retryable_status(status) is retryable


# ---- reading events -------------------------------------------------------------------------


def alarm_detail(**extra):
    return {
        "alarm": {
            "id": "alm_1",
            "name": "DiskFull",
            "severity": "critical",
            "source": "alertmanager",
            "resource": "db-1",
            "labels": {"team": "storage", "severity": "page"},
            "triggered_at": "2026-03-02T09:00:00.000Z",
            "updated_at": "2026-03-02T09:00:01.000Z",
        },
        **extra,
    }


def test_alarm_event_labels_add_name_severity_source_resource_without_overriding():
    change = n.alarm_change("AlarmRaised", alarm_detail(notify=True))
    assert change.notify
    assert change.labels == {
        "team": "storage",
        "severity": "page",  # the alarm's own label wins
        "alertname": "DiskFull",
        "source": "alertmanager",
        "resource": "db-1",
    }
    assert change.alert.status is AlertStatus.FIRING
    assert change.alert.starts_at == T0


@pytest.mark.parametrize(
    ("flags", "held"),
    [
        ({"flapping": True, "notify": False}, "flapping"),
        ({"suppressed": True, "notify": False}, "suppressed"),
        ({"notify": False}, "not news"),
        ({}, ""),  # the Alarm API's events carry no flag: they notify
    ],
)
def test_flapping_or_suppressed_alarms_are_held(flags, held):
    change = n.alarm_change("AlarmRaised", alarm_detail(**flags))
    assert change.notify is (held == "")
    assert change.held_because == held


def test_a_resolved_alarm_event_is_a_resolved_alert():
    change = n.alarm_change("AlarmResolved", alarm_detail())
    assert change.alert.status is AlertStatus.RESOLVED


@pytest.mark.parametrize(
    ("kind", "detail"), [("AlarmRaised", {}), ("AlarmAcknowledged", alarm_detail())]
)
def test_unreadable_alarm_events_raise(kind, detail):
    with pytest.raises(ValueError):
        n.alarm_change(kind, detail)


# ---- message bodies -------------------------------------------------------------------------


def test_webhook_body_is_alertmanager_v4_and_truncates():
    body = n.webhook_body(
        notification(alert("a"), alert("b"), alert("c", AlertStatus.RESOLVED)), max_alerts=2
    )
    assert body["version"] == "4" and body["status"] == "firing"
    assert body["truncatedAlerts"] == 1 and len(body["alerts"]) == 2
    assert body["alerts"][0]["fingerprint"] == "a"
    assert body["alerts"][0]["labels"]["alertname"] == "DiskFull"
    assert body["commonLabels"] == {"alertname": "DiskFull"}
    assert body["receiver"] == "oncall"
    assert body["omp"]["reason"] == "first"


def test_slack_and_teams_bodies():
    slack = n.slack_body(
        notification(alert("a"), alert("b", AlertStatus.RESOLVED)),
        SlackIntegration.model_validate(
            {"webhook_url": {"secret_id": "omp/t/notify/s"}, "channel": "#ops"}
        ),
    )
    assert slack["text"].startswith("[FIRING:1] alertname=DiskFull")
    assert slack["channel"] == "#ops" and slack["attachments"][0]["color"] == "danger"
    teams = n.teams_body(notification(alert("a", AlertStatus.RESOLVED)))
    card = teams["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    assert card["content"]["type"] == "AdaptiveCard"
    assert card["content"]["body"][0]["text"].startswith("[RESOLVED]")


def test_sns_subject_is_ascii_and_at_most_100_characters():
    integration = SnsIntegration(topic_arn="arn:aws:sns:eu-west-1:123456789012:omp-t-notify-x")
    subject, message = n.sns_message(notification(alert("a", team="é" * 200)), integration)
    assert len(subject) <= 100 and subject.isascii() and "\n" not in subject
    assert "DiskFull" in message


# ---- escalation -----------------------------------------------------------------------------


def policy(repeat=0):
    return EscalationPolicy.model_validate(
        {
            "id": "esc_1",
            "name": "db",
            "levels": [
                {"receivers": ["l1"], "delay": "15m"},
                {"receivers": ["l2"], "delay": "30m"},
            ],
            "repeat": repeat,
            "created_at": "2026-03-02T09:00:00.000Z",
            "created_by": "t",
        }
    )


def test_escalation_walks_its_levels_after_each_delay_then_ends():
    esc = n.start_escalation("inc_1", "esc_1", T0)
    step = n.escalation_step(esc, policy(), "open", T0)
    assert step.notify_level == 0 and step.after.next_at == T0 + timedelta(minutes=15)
    esc = step.after
    assert n.escalation_step(esc, policy(), "open", T0 + timedelta(minutes=14)).notify_level is None
    step = n.escalation_step(esc, policy(), "open", T0 + timedelta(minutes=15))
    assert step.notify_level == 1
    end = n.escalation_step(step.after, policy(), "open", T0 + timedelta(minutes=45))
    assert end.notify_level is None and not end.after.active
    assert end.after.stopped_reason == "exhausted"


def test_escalation_repeats_the_policy():
    esc = Escalation("inc_1", "esc_1", step=2, next_at=T0)
    step = n.escalation_step(esc, policy(repeat=1), "open", T0)
    assert step.notify_level == 0


@pytest.mark.parametrize("status", ["acknowledged", "resolved", None])
def test_acknowledged_resolved_or_missing_incidents_stop_escalating(status):
    esc = n.start_escalation("inc_1", "esc_1", T0)
    step = n.escalation_step(esc, policy(), status, T0)
    assert step.notify_level is None and not step.after.active


def test_escalation_level_validation():
    with pytest.raises(ValueError):
        nc.EscalationLevel.model_validate({"receivers": ["a", "a"], "delay": "5m"})
    with pytest.raises(ValueError):
        nc.EscalationLevel.model_validate({"receivers": ["a"], "delay": "0"})
    with pytest.raises(ValueError):
        nc.CreateEscalationPolicy.model_validate({"name": "x", "levels": []})


# ---- configuration --------------------------------------------------------------------------


def config(**receiver):
    return RoutingConfig.model_validate(
        {"route": {"receiver": "r"}, "receivers": [{"name": "r", "integrations": [receiver]}]}
    )


@pytest.mark.parametrize(
    ("integration", "ok"),
    [
        ({"type": "slack", "webhook_url": {"secret_id": "omp/t/notify/slack"}}, True),
        ({"type": "slack", "webhook_url": {"secret_id": "other/slack"}}, False),
        ({"type": "slack", "webhook_url": {"secret_id": "omp/t/notify/../x"}}, False),
        (
            {
                "type": "msteams",
                "webhook_url": {
                    "secret_id": "arn:aws:secretsmanager:us-east-1:123456789012:secret:"
                    "omp/t/notify/teams-AbCdEf"
                },
            },
            True,
        ),
        ({"type": "sns", "topic_arn": "arn:aws:sns:us-east-1:123456789012:omp-t-notify-a"}, True),
        ({"type": "sns", "topic_arn": "arn:aws:sns:us-east-1:123456789012:billing"}, False),
        (
            {
                "type": "webhook",
                "url": "https://h.example.com/x",
                "hmac_secret": {"secret_id": "elsewhere"},
            },
            False,
        ),
    ],
)
def test_references_must_use_the_notify_prefixes(integration, ok):
    cfg = config(**integration)
    if ok:
        nc.check_references(cfg, secret_prefix="omp/t/notify/", topic_prefix="omp-t-notify-")
        return
    with pytest.raises(ValidationFailed) as failed:
        nc.check_references(cfg, secret_prefix="omp/t/notify/", topic_prefix="omp-t-notify-")
    assert failed.value.code == "NOTIFY_REFERENCE_NOT_ALLOWED"


def test_a_webhook_needs_exactly_one_url():
    with pytest.raises(ValueError):
        config(type="webhook")
    with pytest.raises(ValueError):
        config(type="webhook", url="https://a.example.com", url_secret={"secret_id": "omp/x"})


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(30, "30s"), (300, "5m"), (14400, "4h"), (5400, "1h30m"), (0.5, "500ms"), (90000, "1d1h")],
)
def test_durations_round_trip_as_alertmanager_strings(seconds, text):
    assert svc_config.format_duration(timedelta(seconds=seconds)) == text
    from omp.domain.routing_config import parse_duration

    assert parse_duration(text) == timedelta(seconds=seconds)


def test_the_stored_document_reads_back_as_the_same_config():
    cfg = RoutingConfig.model_validate(
        {
            "route": {
                "receiver": "r",
                "group_wait": "10s",
                "routes": [{"matchers": ['team="db"'], "continue": True, "repeat_interval": "1h"}],
            },
            "receivers": [
                {
                    "name": "r",
                    "integrations": [
                        MsTeamsIntegration.model_validate(
                            {"webhook_url": {"secret_id": "omp/t/notify/teams"}}
                        ).model_dump()
                    ],
                }
            ],
        }
    )
    doc = svc_config.config_document(cfg)
    assert doc["route"]["group_wait"] == "10s"
    assert doc["route"]["routes"][0]["continue"] is True
    assert RoutingConfig.model_validate(doc) == cfg


def test_the_flush_leaves_groups_for_the_next_tick_when_time_runs_out():
    from omp.adapters.memory import FixedClock

    class Groups:
        def due(self, now, limit):
            return ["grp_1", "grp_2"]

        def load(self, group_id):
            raise AssertionError("no time left: nothing is loaded")

    ports = svc.NotifyPorts(
        configs=None,
        groups=Groups(),
        log=None,
        escalations=None,
        incidents=None,
        alarms=None,
        events=None,
        clock=FixedClock(T0),
        send=FakeSend(),
    )
    summary = svc.flush_due(ports, None, time_left=lambda: False)
    assert summary.skipped == 2 and summary.groups == 0 and summary.sent == 0


@pytest.mark.parametrize(
    "value", ["99999999999999d", "1" * 400 + "s", 1e300, float("nan"), float("inf"), "3651d"]
)
def test_absurd_durations_are_refused_not_overflowed(value):
    from omp.domain.routing_config import RouteConfig

    with pytest.raises(ValueError):
        RouteConfig(group_wait=value)
    with pytest.raises(ValueError):
        nc.EscalationLevel(receivers=["a"], delay=value)
