"""The local runtime's own EventBridge pattern matcher and schedule parser (no I/O)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from infra.local import patterns, scheduler

EVENT: dict[str, Any] = {
    "source": "omp.monitoring",
    "detail-type": "AlarmRaised",
    "resources": ["arn:a", "arn:b"],
    "detail": {
        "severity": "critical",
        "count": 12,
        "ratio": 0.5,
        "ok": False,
        "none": None,
        "ip": "10.0.0.7",
        "tags": ["prod", "eu"],
        "nested": {"name": "HighCPU.eu-west-1"},
    },
}


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ({"source": ["omp.monitoring"]}, True),
        ({"source": ["omp.cmdb", "omp.monitoring"]}, True),  # a list is OR
        ({"source": [{"prefix": "omp."}]}, True),
        ({"source": [{"prefix": "aws."}]}, False),
        ({"source": [{"prefix": {"equals-ignore-case": "OMP."}}]}, True),
        ({"detail-type": [{"suffix": "Raised"}]}, True),
        ({"detail-type": [{"equals-ignore-case": "alarmraised"}]}, True),
        ({"detail-type": [{"wildcard": "Alarm*d"}]}, True),
        ({"detail-type": [{"wildcard": "Alarm*x"}]}, False),
        ({"detail": {"severity": [{"anything-but": ["info", "warning"]}]}}, True),
        ({"detail": {"severity": [{"anything-but": "critical"}]}}, False),
        ({"detail": {"severity": [{"anything-but": {"prefix": "crit"}}]}}, False),
        ({"detail": {"missing": [{"anything-but": "x"}]}}, False),  # needs the field
        ({"detail": {"count": [{"numeric": [">", 10, "<=", 12]}]}}, True),
        ({"detail": {"count": [{"numeric": [">", 12]}]}}, False),
        ({"detail": {"missing": [{"numeric": [">", 0]}]}}, False),  # moto raised here
        ({"detail": {"severity": [{"numeric": [">", 0]}]}}, False),  # not a number
        ({"detail": {"count": [12]}}, True),  # number literal
        ({"detail": {"count": [13]}}, False),
        ({"detail": {"ratio": [0.5]}}, True),
        ({"detail": {"ok": [False]}}, True),
        ({"detail": {"ok": [0]}}, False),  # false is not 0
        ({"detail": {"none": [None]}}, True),
        ({"detail": {"missing": [None]}}, False),
        ({"detail": {"missing": [{"exists": False}]}}, True),
        ({"detail": {"severity": [{"exists": True}]}}, True),
        ({"detail": {"severity": [{"exists": False}]}}, False),
        ({"detail": {"tags": ["eu"]}}, True),  # arrays: any element
        ({"resources": ["arn:b"]}, True),
        ({"detail": {"ip": [{"cidr": "10.0.0.0/24"}]}}, True),
        ({"detail": {"ip": [{"cidr": "10.0.1.0/24"}]}}, False),
        ({"detail": {"nested": {"name": [{"prefix": "HighCPU"}]}}}, True),
        ({"$or": [{"source": ["nope"]}, {"detail": {"count": [12]}}]}, True),
        ({"$or": [{"source": ["nope"]}, {"detail": {"count": [1]}}]}, False),
        ({"source": ["omp.monitoring"], "detail-type": ["Other"]}, False),  # keys are AND
        ({"detail": {"severity": ["critical", {"prefix": "x"}]}}, True),  # mixed OR
    ],
)
def test_pattern_semantics(pattern: dict[str, Any], expected: bool) -> None:
    assert patterns.matches(pattern, EVENT) is expected


def test_moto_uses_the_matcher() -> None:
    from moto.events.models import EventPattern

    patterns.install()
    rule = EventPattern.load('{"detail": {"missing": [{"numeric": [">", 0]}]}}')
    assert rule.matches_event(EVENT) is False  # no TypeError from moto's matcher


def test_rate_expressions() -> None:
    assert scheduler.parse("rate(1 minute)") == scheduler.Rate(60)
    assert scheduler.parse("rate(5 minutes)") == scheduler.Rate(300)
    assert scheduler.parse("rate(2 hours)") == scheduler.Rate(7200)
    assert scheduler.parse("rate(1 day)") == scheduler.Rate(86400)
    with pytest.raises(scheduler.UnsupportedSchedule):
        scheduler.parse("rate(0 minutes)")


def test_cron_expressions() -> None:
    every_15 = scheduler.parse("cron(0/15 * * * ? *)")
    assert isinstance(every_15, scheduler.Cron)
    assert every_15.matches(dt.datetime(2026, 3, 1, 7, 45, tzinfo=dt.UTC))
    assert not every_15.matches(dt.datetime(2026, 3, 1, 7, 46, tzinfo=dt.UTC))
    weekdays = scheduler.parse("cron(30 8-17 ? * MON-FRI *)")
    assert isinstance(weekdays, scheduler.Cron)
    assert weekdays.matches(dt.datetime(2026, 3, 2, 9, 30, tzinfo=dt.UTC))  # a Monday
    assert not weekdays.matches(dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC))  # a Sunday
    assert not weekdays.matches(dt.datetime(2026, 3, 2, 18, 30, tzinfo=dt.UTC))
    monthly = scheduler.parse("cron(0 0 1 JAN,JUL ? 2026)")
    assert isinstance(monthly, scheduler.Cron)
    assert monthly.matches(dt.datetime(2026, 7, 1, 0, 0, tzinfo=dt.UTC))
    assert not monthly.matches(dt.datetime(2027, 7, 1, 0, 0, tzinfo=dt.UTC))
    for unsupported in ("cron(0 0 L * ? *)", "cron(0 0 ? * 6#3 *)", "cron(0 0 * *)"):
        with pytest.raises(scheduler.UnsupportedSchedule):
            scheduler.parse(unsupported)


def test_scheduled_event_shape() -> None:
    event = scheduler.scheduled_event("sweep", dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["time"] == "2026-01-02T03:04:05Z"
    assert event["detail"] == {}
    assert event["resources"] == [
        "arn:aws:events:us-east-1:123456789012:rule/omp-local-sweep-schedule"
    ]
