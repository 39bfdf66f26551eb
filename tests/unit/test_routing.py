from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from omp.domain.routing import (
    AlertStatus,
    GroupAlert,
    GroupScheduler,
    GroupTiming,
    NotifyReason,
    RoutingTree,
    group_key,
    group_labels,
    route_muted,
)
from omp.domain.routing_config import Receiver, RouteConfig, RoutingConfig, parse_duration
from omp.domain.silences import RecurringSchedule

S = timedelta(seconds=1)
M = timedelta(minutes=1)
H = timedelta(hours=1)
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

TREE = RoutingTree.build(
    RouteConfig.model_validate(
        {
            "receiver": "default",
            "group_by": ["alertname"],
            "routes": [
                {
                    "matchers": ['team="db"'],
                    "receiver": "dba",
                    "group_wait": "10s",
                    "routes": [
                        {"matchers": ['severity="critical"'], "receiver": "dba-pager",
                         "repeat_interval": "1h"},
                        {"matchers": ['severity=~"warn.*"'], "group_by": ["..."]},
                    ],
                },
                {"matchers": ['team="web"'], "receiver": "web", "continue": True,
                 "group_by": ["alertname", "cluster"]},
                {"matchers": ['env="prod"'], "receiver": "prod-audit", "group_by": []},
                {"matchers": ['team="web"'], "receiver": "web-fallback"},
            ],
        }
    )
)  # fmt: skip


def receivers(labels):
    return [m.receiver for m in TREE.route(labels)]


@pytest.mark.parametrize(
    ("labels", "expected"),
    [
        ({}, ["default"]),  # nothing matches below the root: the root itself
        ({"team": "ops"}, ["default"]),
        ({"team": "db"}, ["dba"]),  # no child of db matches: the db node
        ({"team": "db", "severity": "critical"}, ["dba-pager"]),  # depth first
        ({"team": "db", "severity": "warning"}, ["dba"]),  # inherits the receiver
        ({"team": "db", "env": "prod"}, ["dba"]),  # first match wins, no continue
        ({"team": "web"}, ["web", "web-fallback"]),  # continue: later siblings are tried
        ({"team": "web", "env": "prod"}, ["web", "prod-audit"]),  # continue reaches env=prod
        ({"env": "prod"}, ["prod-audit"]),
        ({"team": "webx"}, ["default"]),  # matchers are anchored
    ],
)
def test_route_first_match_and_continue(labels, expected):
    assert receivers(labels) == expected


def test_a_later_sibling_is_skipped_without_continue():
    # {team=web} also matches the 4th child, but prod-audit (no continue) stops the search
    assert "web-fallback" not in receivers({"team": "web", "env": "prod"})
    tree = RoutingTree.build(
        RouteConfig.model_validate(
            {
                "receiver": "root",
                "routes": [
                    {"matchers": ['a="1"'], "receiver": "first"},
                    {"matchers": ['a="1"'], "receiver": "second"},
                ],
            }
        )
    )
    assert [m.receiver for m in tree.route({"a": "1"})] == ["first"]


def test_settings_are_inherited_from_parents():
    (pager,) = TREE.route({"team": "db", "severity": "critical"})
    assert pager.group_wait == 10 * S  # from the db node
    assert pager.group_interval == 5 * M  # Alertmanager's default, from the root
    assert pager.repeat_interval == H  # its own
    assert pager.group_by == ("alertname",)  # from the root
    assert not pager.group_by_all
    (warn,) = TREE.route({"team": "db", "severity": "warning"})
    assert warn.group_by_all and warn.receiver == "dba" and warn.group_wait == 10 * S
    (root,) = TREE.route({})
    assert (root.group_wait, root.group_interval, root.repeat_interval) == (30 * S, 5 * M, 4 * H)
    prod = TREE.route({"env": "prod"})[0]
    assert prod.group_by == () and not prod.group_by_all  # an explicit [] resets group_by


def test_mute_and_active_intervals_are_not_inherited():
    config = RoutingConfig.model_validate(
        {
            "route": {
                "receiver": "r",
                "routes": [
                    {
                        "matchers": ['a="1"'],
                        "mute_time_intervals": ["nights"],
                        "routes": [{"matchers": ['b="2"']}],
                    }
                ],
            },
            "receivers": [{"name": "r"}],
            "time_intervals": {"nights": {"cron": "0 22 * * *", "duration": "8h"}},
        }
    )
    tree = config.tree()
    (parent,) = tree.route({"a": "1"})
    (child,) = tree.route({"a": "1", "b": "2"})
    assert parent.mute_time_intervals == ("nights",)
    assert child.mute_time_intervals == ()
    schedules = config.schedules()
    night = datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
    assert route_muted(parent, night, schedules)
    assert not route_muted(parent, T0, schedules)
    assert not route_muted(child, night, schedules)


def test_active_time_intervals_mute_outside_them():
    route = RoutingTree.build(
        RouteConfig.model_validate(
            {"receiver": "r", "routes": [{"matchers": ['a="1"'],
                                          "active_time_intervals": ["office"]}]}
        )
    ).route({"a": "1"})[0]  # fmt: skip
    office = {"office": RecurringSchedule.of("0 9 * * MON-FRI", 8 * H, "UTC")}
    assert not route_muted(route, datetime(2026, 3, 2, 10, 0, tzinfo=UTC), office)  # Monday
    assert route_muted(route, datetime(2026, 3, 2, 18, 0, tzinfo=UTC), office)
    assert route_muted(route, datetime(2026, 3, 1, 10, 0, tzinfo=UTC), office)  # Sunday


def test_group_key_uses_group_by_labels_present_on_the_alert():
    web = TREE.route({"team": "web", "alertname": "5xx", "cluster": "eu", "pod": "p1"})[0]
    assert web.receiver == "web"
    key = group_key(web, {"team": "web", "alertname": "5xx", "cluster": "eu", "pod": "p1"})
    assert key.endswith(':{alertname="5xx", cluster="eu"}')
    other_pod = group_key(web, {"team": "web", "alertname": "5xx", "cluster": "eu", "pod": "p2"})
    assert other_pod == key  # pod is not a grouping label
    assert group_key(web, {"team": "web", "alertname": "5xx"}).endswith(':{alertname="5xx"}')


def test_group_by_all_makes_every_label_set_its_own_group():
    labels = {"team": "db", "severity": "warning", "pod": "p1"}
    (warn,) = TREE.route(labels)
    assert group_labels(warn, labels) == labels
    assert group_key(warn, labels) != group_key(warn, {**labels, "pod": "p2"})


def test_empty_group_by_puts_everything_in_one_group():
    (prod,) = TREE.route({"env": "prod", "alertname": "A"})
    assert group_key(prod, {"env": "prod", "alertname": "A"}) == group_key(
        prod, {"env": "prod", "alertname": "B"}
    )


def test_group_keys_differ_per_route_even_with_equal_matchers():
    tree = RoutingTree.build(
        RouteConfig.model_validate(
            {
                "receiver": "root",
                "routes": [
                    {"matchers": ['a="1"'], "receiver": "x", "continue": True},
                    {"matchers": ['a="1"'], "receiver": "y"},
                ],
            }
        )
    )
    first, second = tree.route({"a": "1"})
    assert first.route_id != second.route_id
    assert group_key(first, {"a": "1"}) != group_key(second, {"a": "1"})
    assert first.route_id == '{}/{a="1"}/0'


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30s", 30 * S), ("5m", 5 * M), ("4h", 4 * H), ("1h30m", 90 * M), ("1d", 24 * H),
     ("1w", 7 * 24 * H), ("500ms", timedelta(milliseconds=500)), ("0", timedelta(0)), (90, 90 * S)],
)  # fmt: skip
def test_parse_duration(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "5", "5 m", "m", "1.5h", "-5m", True])
def test_parse_duration_rejects(text):
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    "route",
    [
        {"matchers": ['a="1"'], "receiver": "r"},  # root with matchers
        {"receiver": "r", "continue": True},
        {"receiver": "r", "mute_time_intervals": ["x"]},
        {"group_by": ["a"]},  # root without receiver
    ],
)
def test_root_rules(route):
    with pytest.raises((ValueError, ValidationError)):
        RoutingTree.build(RouteConfig.model_validate(route))


@pytest.mark.parametrize(
    "route",
    [
        {"receiver": "r", "group_by": ["...", "a"]},
        {"receiver": "r", "group_by": ["bad name"]},
        {"receiver": "r", "group_by": ["a", "a"]},
        {"receiver": "r", "group_interval": "0"},
        {"receiver": "r", "repeat_interval": "0"},
        {"receiver": "r", "group_wait": "soon"},
        {"receiver": "r", "routes": [{"matchers": ['a=~"("']}]},
        {"receiver": "r", "unknown": 1},
    ],
)
def test_route_config_validation(route):
    with pytest.raises(ValidationError):
        RouteConfig.model_validate(route)


def test_routing_config_cross_checks_receivers_and_intervals():
    good = {
        "route": {"receiver": "a", "routes": [{"matchers": ['x="1"'], "receiver": "b"}]},
        "receivers": [{"name": "a"}, {"name": "b"}],
    }
    RoutingConfig.model_validate(good)
    with pytest.raises(ValidationError, match="unknown receiver 'b'"):
        RoutingConfig.model_validate({**good, "receivers": [{"name": "a"}]})
    with pytest.raises(ValidationError, match="unique"):
        RoutingConfig.model_validate({**good, "receivers": [{"name": "a"}, {"name": "a"}]})
    with pytest.raises(ValidationError, match="unknown time interval"):
        RoutingConfig.model_validate(
            {**good, "route": {"receiver": "a", "routes": [
                {"matchers": ['x="1"'], "mute_time_intervals": ["nope"]}]}}
        )  # fmt: skip


def test_receivers_model_secret_references_only():
    r = Receiver.model_validate(
        {
            "name": "oncall",
            "integrations": [
                {"type": "sns", "topic_arn": "arn:aws:sns:eu-west-1:123456789012:oncall"},
                {
                    "type": "slack",
                    "webhook_url": {
                        "secret_id": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:slack-AbC",
                        "json_key": "url",
                    },
                    "channel": "#alerts",
                },
                {"type": "msteams", "webhook_url": {"secret_id": "omp/teams-webhook"}},
                {
                    "type": "webhook",
                    "url": "https://hooks.example.com/omp",
                    "authorization": {"secret_id": "omp/hook-token"},
                    "send_resolved": False,
                },
            ],
        }
    )
    assert [i.type for i in r.integrations] == ["sns", "slack", "msteams", "webhook"]
    assert r.integrations[3].send_resolved is False
    bad = [
        {"type": "sns", "topic_arn": "not-an-arn"},
        {"type": "slack", "webhook_url": "https://hooks.slack.com/services/T/B/X"},  # inline secret
        {"type": "webhook", "url": "http://insecure.example.com"},
        {"type": "msteams", "webhook_url": {"secret_id": "has space"}},
        {"type": "pagerduty", "routing_key": {"secret_id": "x"}},
    ]
    for integration in bad:
        with pytest.raises(ValidationError):
            Receiver.model_validate({"name": "x", "integrations": [integration]})


# -- the notification schedule, simulated with a fake clock ------------------------------------


def firing(fp, starts=T0):
    return GroupAlert(fp, AlertStatus.FIRING, starts)


def resolved(fp, starts=T0):
    return GroupAlert(fp, AlertStatus.RESOLVED, starts)


class Group:
    """Drives a GroupScheduler like the dispatcher does: wake at next_wake, flush, apply."""

    def __init__(self, scheduler, now, first):
        self.s = scheduler
        self.alerts = {}
        self.state = scheduler.open(now)
        self.sent = []  # (time, reason, delivered fingerprints with status)
        self.add(first, now)

    def add(self, alert, now):
        self.alerts[alert.fingerprint] = alert
        self.state = self.s.on_alert(self.state, alert, now)

    def run_until(self, until, fail=False):
        while self.s.next_wake(self.state) <= until:
            now = self.s.next_wake(self.state)
            decision = self.s.flush(self.state, list(self.alerts.values()), now)
            assert decision.due
            if fail and decision.notify:
                self.state = decision.state_on_failure
                continue
            if decision.notify:
                delivered = tuple((a.fingerprint, a.status.value) for a in decision.deliver)
                self.sent.append((now - T0, decision.reason, delivered))
            self.state = decision.state
            for fp in decision.drop:
                self.alerts.pop(fp, None)


DEFAULT = GroupScheduler(GroupTiming(30 * S, 5 * M, 4 * H))


def test_first_notification_waits_group_wait_and_batches_the_group():
    g = Group(DEFAULT, T0, firing("a"))
    g.add(firing("b", T0 + 10 * S), T0 + 10 * S)
    g.run_until(T0 + 29 * S)
    assert g.sent == []
    g.run_until(T0 + 30 * S)
    assert g.sent == [(30 * S, NotifyReason.FIRST, (("a", "firing"), ("b", "firing")))]


def test_should_notify_and_next_wake_before_and_at_the_tick():
    state = DEFAULT.open(T0)
    alerts = [firing("a")]
    assert DEFAULT.next_wake(state, T0) == T0 + 30 * S
    assert not DEFAULT.should_notify(state, alerts, T0 + 29 * S)
    assert DEFAULT.should_notify(state, alerts, T0 + 30 * S)
    decision = DEFAULT.flush(state, alerts, T0 + 30 * S)
    assert decision.next_wake == T0 + 30 * S + 5 * M


def test_new_alerts_go_out_at_the_next_group_interval_tick_not_before():
    g = Group(DEFAULT, T0, firing("a"))
    g.run_until(T0 + 30 * S)
    g.add(firing("b", T0 + M), T0 + M)
    g.run_until(T0 + 5 * M + 29 * S)
    assert len(g.sent) == 1
    g.run_until(T0 + 5 * M + 30 * S)
    assert g.sent[1] == (
        5 * M + 30 * S,
        NotifyReason.NEW_ALERTS,
        (("a", "firing"), ("b", "firing")),
    )


def test_unchanged_group_is_resent_on_the_first_tick_after_repeat_interval():
    g = Group(DEFAULT, T0, firing("a"))
    g.run_until(T0 + 5 * H)
    times = [t for t, _, _ in g.sent]
    reasons = [r for _, r, _ in g.sent]
    # 4h is 48 ticks of 5m; at that tick `last < now - 4h` is not yet true (equal), so the
    # repeat goes out one tick later, as in Alertmanager
    assert times == [30 * S, 30 * S + 4 * H + 5 * M]
    assert reasons == [NotifyReason.FIRST, NotifyReason.REPEAT]


def test_no_duplicate_within_repeat_interval():
    g = Group(DEFAULT, T0, firing("a"))
    g.run_until(T0 + 4 * H)
    assert len(g.sent) == 1


def test_repeat_not_multiple_of_group_interval():
    g = Group(GroupScheduler(GroupTiming(0 * S, 5 * M, 12 * M)), T0, firing("a"))
    g.run_until(T0 + 40 * M)
    assert [t for t, _, _ in g.sent] == [0 * S, 15 * M, 30 * M]


@pytest.mark.parametrize("send_resolved", [True, False])
def test_resolved_alerts_are_sent_once(send_resolved):
    g = Group(GroupScheduler(DEFAULT.timing, send_resolved=send_resolved), T0, firing("a"))
    g.add(firing("b"), T0)
    g.run_until(T0 + 30 * S)
    g.add(resolved("a"), T0 + M)
    g.run_until(T0 + 30 * M)
    if send_resolved:
        assert g.sent[1] == (
            5 * M + 30 * S,
            NotifyReason.NEW_RESOLVED,
            (("a", "resolved"), ("b", "firing")),
        )
        assert len(g.sent) == 2  # later ticks: `a` is gone, nothing new
    else:
        assert len(g.sent) == 1  # a partial resolve alone is not news without send_resolved
    assert "a" not in g.alerts


@pytest.mark.parametrize(
    ("send_resolved", "delivered"), [(True, (("a", "resolved"),)), (False, ())]
)
def test_all_resolved_updates_the_log_and_empties_the_group(send_resolved, delivered):
    scheduler = GroupScheduler(DEFAULT.timing, send_resolved=send_resolved)
    state = scheduler.open(T0)
    first = scheduler.flush(state, [firing("a")], T0 + 30 * S)
    done = scheduler.flush(first.state, [resolved("a")], T0 + 5 * M + 30 * S)
    assert done.reason is NotifyReason.ALL_RESOLVED
    assert tuple((a.fingerprint, a.status.value) for a in done.deliver) == delivered
    assert done.group_empty and done.drop == {"a"}
    assert done.state.last_notification.firing == frozenset()
    # the same alert firing again is a first notification for the group
    again = scheduler.flush(done.state, [firing("a")], T0 + 10 * M + 30 * S)
    assert again.reason is NotifyReason.FIRST


def test_a_group_of_only_resolved_alerts_is_never_announced():
    state = DEFAULT.open(T0)
    decision = DEFAULT.flush(state, [resolved("a")], T0 + 30 * S)
    assert not decision.notify and decision.group_empty and decision.drop == {"a"}


def test_fired_and_resolved_between_ticks_is_not_announced():
    state = DEFAULT.open(T0)
    first = DEFAULT.flush(state, [firing("a")], T0 + 30 * S)
    done = DEFAULT.flush(first.state, [resolved("a")], T0 + 5 * M + 30 * S)
    later = DEFAULT.flush(done.state, [resolved("b")], T0 + 10 * M + 30 * S)
    assert later.reason is NotifyReason.NONE


def test_an_old_alert_in_a_new_group_flushes_immediately():
    state = DEFAULT.open(T0)
    state = DEFAULT.on_alert(state, firing("a", T0 - H), T0)
    assert DEFAULT.next_wake(state) == T0
    # ... but not once the group has flushed
    flushed = DEFAULT.flush(state, [firing("a", T0 - H)], T0).state
    later = DEFAULT.on_alert(flushed, firing("b", T0 - H), T0 + M)
    assert DEFAULT.next_wake(later) == T0 + 5 * M


def test_an_alert_just_started_does_not_shorten_group_wait():
    state = DEFAULT.on_alert(DEFAULT.open(T0), firing("a", T0 - 30 * S), T0)
    assert DEFAULT.next_wake(state) == T0 + 30 * S  # starts_at + wait is not *before* now


def test_a_failed_delivery_is_retried_at_the_next_tick():
    g = Group(DEFAULT, T0, firing("a"))
    g.run_until(T0 + 30 * S, fail=True)
    assert g.sent == []
    g.run_until(T0 + 5 * M + 30 * S)
    assert g.sent == [(5 * M + 30 * S, NotifyReason.FIRST, (("a", "firing"),))]


def test_muted_flush_sends_nothing_logs_nothing_but_drops_resolved():
    state = DEFAULT.open(T0)
    decision = DEFAULT.flush(state, [firing("a"), resolved("b")], T0 + 30 * S, muted=True)
    assert not decision.notify and decision.drop == {"b"}
    assert decision.state.last_notification is None
    after = DEFAULT.flush(decision.state, [firing("a")], T0 + 5 * M + 30 * S)
    assert after.reason is NotifyReason.FIRST


def test_annotation_only_change_is_not_news_but_a_new_fingerprint_is():
    state = DEFAULT.open(T0)
    first = DEFAULT.flush(state, [firing("a")], T0 + 30 * S)
    same = DEFAULT.flush(first.state, [firing("a", T0 + M)], T0 + 5 * M + 30 * S)
    assert same.reason is NotifyReason.NONE
    changed = DEFAULT.flush(same.state, [firing("a2")], T0 + 10 * M + 30 * S)
    assert changed.reason is NotifyReason.NEW_ALERTS


def test_flush_before_due_changes_nothing():
    state = DEFAULT.open(T0)
    decision = DEFAULT.flush(state, [firing("a")], T0 + 10 * S)
    assert not decision.due and not decision.notify and decision.state == state
