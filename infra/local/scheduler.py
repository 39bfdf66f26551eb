"""Schedules: `rate(...)` fully, `cron(...)` with numbers, `*`, `?`, lists, ranges and steps
in every field (month and weekday names included); `L`, `W` and `#` are not supported (such a
function still ticks on demand through `POST /_local/tick/{function}`). Times are UTC.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import re
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from infra import wiring
from infra.local import names
from infra.local.invoker import HandlerError

log = logging.getLogger("omp.local")

_RATE = re.compile(r"^rate\((\d+)\s+(minute|minutes|hour|hours|day|days)\)$")
_CRON = re.compile(r"^cron\((.+)\)$")
_UNIT_S = {"minute": 60, "hour": 3600, "day": 86400}
_MONTHS = {
    m: i + 1
    for i, m in enumerate(
        ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    )
}
_DAYS = {d: i + 1 for i, d in enumerate(["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"])}


class UnsupportedSchedule(ValueError):
    pass


@dataclass(frozen=True)
class Rate:
    seconds: int


@dataclass(frozen=True)
class Cron:
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int] | None  # None: `?` (the weekday field decides)
    months: frozenset[int]
    weekdays: frozenset[int] | None  # 1 = Sunday, as EventBridge counts
    years: frozenset[int] | None  # None: any year

    def matches(self, t: dt.datetime) -> bool:
        weekday = (t.isoweekday() % 7) + 1  # Monday=1..Sunday=7 -> Sunday=1..Saturday=7
        if t.minute not in self.minutes or t.hour not in self.hours or t.month not in self.months:
            return False
        if self.years is not None and t.year not in self.years:
            return False
        if self.days is not None and t.day not in self.days:
            return False
        return self.weekdays is None or weekday in self.weekdays


def parse(expression: str) -> Rate | Cron:
    expression = expression.strip()
    rate = _RATE.match(expression)
    if rate:
        value = int(rate.group(1))
        if value <= 0:
            raise UnsupportedSchedule(f"{expression}: the rate must be positive")
        return Rate(value * _UNIT_S[rate.group(2).rstrip("s")])
    cron = _CRON.match(expression)
    if not cron:
        raise UnsupportedSchedule(f"{expression}: not rate(...) or cron(...)")
    fields = cron.group(1).split()
    if len(fields) != 6:
        raise UnsupportedSchedule(f"{expression}: cron needs 6 fields")
    minute, hour, dom, month, dow, year = fields
    return Cron(
        minutes=_field(minute, 0, 59, {}),
        hours=_field(hour, 0, 23, {}),
        days=None if dom == "?" else _field(dom, 1, 31, {}),
        months=_field(month, 1, 12, _MONTHS),
        weekdays=None if dow in ("?", "*") else _field(dow, 1, 7, _DAYS),
        years=None if year == "*" else _field(year, 1970, 2199, {}),
    )


def _field(text: str, low: int, high: int, aliases: dict[str, int]) -> frozenset[int]:
    values: set[int] = set()
    for part in text.split(","):
        step = 1
        if "/" in part:
            part, step_text = part.split("/", 1)
            step = _num(step_text, aliases)
        if part in ("*", "?"):
            start, end = low, high
        elif "-" in part:
            a, b = part.split("-", 1)
            start, end = _num(a, aliases), _num(b, aliases)
        else:
            start = _num(part, aliases)
            end = high if step != 1 else start
        if not (low <= start <= high and low <= end <= high) or step <= 0:
            raise UnsupportedSchedule(f"cron field {text!r} is out of range {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


def _num(text: str, aliases: dict[str, int]) -> int:
    if text.upper() in aliases:
        return aliases[text.upper()]
    if not text.isdigit():
        raise UnsupportedSchedule(f"cron value {text!r} is not supported (L, W and # are not)")
    return int(text)


def scheduled_event(function: str, when: dt.datetime | None = None) -> dict[str, Any]:
    """The payload EventBridge Scheduler rules deliver to a Lambda target."""
    when = when or dt.datetime.now(dt.UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": names.ACCOUNT_ID,
        "time": when.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": names.REGION,
        "resources": [
            f"arn:aws:events:{names.REGION}:{names.ACCOUNT_ID}:rule/{names.physical(function)}-schedule"
        ],
        "detail": {},
    }


Invoke = Callable[[str, Any, str], Any]


class Scheduler(threading.Thread):
    """Ticks every scheduled function on its own; the ticks run on a small worker pool."""

    def __init__(self, functions: list[wiring.Function], invoke: Invoke) -> None:
        super().__init__(name="scheduler", daemon=True)
        self._invoke = invoke
        self._halt = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="tick")
        self.schedules: dict[str, Rate | Cron] = {}
        for fn in functions:
            if isinstance(fn.trigger, wiring.Schedule):
                try:
                    self.schedules[fn.name] = parse(fn.trigger.expression)
                except UnsupportedSchedule as exc:
                    log.warning("%s will only tick on demand: %s", fn.name, exc)

    def stop(self) -> None:
        self._halt.set()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def run(self) -> None:
        now = dt.datetime.now(dt.UTC)
        due = {
            name: now + dt.timedelta(seconds=s.seconds)
            for name, s in self.schedules.items()
            if isinstance(s, Rate)
        }
        minute = now.replace(second=0, microsecond=0)
        while not self._halt.is_set():
            now = dt.datetime.now(dt.UTC)
            for name, when in list(due.items()):
                if now >= when:
                    schedule = self.schedules[name]
                    assert isinstance(schedule, Rate)
                    due[name] = when + dt.timedelta(seconds=schedule.seconds)
                    self._submit(name, when)
            this_minute = now.replace(second=0, microsecond=0)
            if this_minute > minute:
                minute = this_minute
                for name, schedule in self.schedules.items():
                    if isinstance(schedule, Cron) and schedule.matches(minute):
                        self._submit(name, minute)
            self._halt.wait(1.0)

    def _submit(self, name: str, when: dt.datetime) -> None:
        with contextlib.suppress(RuntimeError):  # shutting down
            self._pool.submit(self._tick, name, when)

    def _tick(self, name: str, when: dt.datetime) -> None:
        with contextlib.suppress(HandlerError):  # already logged by the invoker
            self._invoke(name, scheduled_event(name, when), "schedule")
