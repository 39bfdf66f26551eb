"""Silences, their guardrails and recurring maintenance windows. Pure: the clock is passed in.

A silence mutes notifications (never storage: a silenced alarm is kept and shown as
suppressed) for the alerts its matchers select, between `starts_at` and `ends_at`. As in
Alertmanager its state is derived from the clock: `pending` before `starts_at`, `active` from
`starts_at` to `ends_at` inclusive, `expired` after. Deleting a silence expires it (`expire`).

Guardrails (`SilencePolicy`, raised as `ValidationFailed`, HTTP 422, with a stable code):

- `SILENCE_REASON_REQUIRED`: neither a comment nor a ticket reference;
- `SILENCE_INVALID_TIME_RANGE`: `ends_at` not after `starts_at`, or already in the past;
- `SILENCE_TOO_LONG`: longer than `max_duration` (7 days by default);
- `SILENCE_TOO_BROAD` (`details.reason == "matches_everything"`): no matcher narrows the
  selection to a value. Only `=` with a non-empty value and `=~` with a regex that rejects ""
  and does not accept every probe value narrow; `!=`, `!~`, `=""`, `=~".*"`, `=~".+"` do not.
  Alertmanager only asks for one matcher that does not match "" (so it allows
  `alertname=~".+"`); we also refuse the match-any-value regexes.
- `SILENCE_TOO_BROAD` (`details.reason == "share_of_active"`): the silence would match more
  than `max_active_share` (50%) of the currently active alarms, once at least
  `share_min_alarms` (10) are active (below that a share means little: silencing the only
  firing alarm is 100% of them and legitimate).

A maintenance window repeats a silence: a 5-field cron expression (minute hour day-of-month
month day-of-week, with `*`, lists, ranges, steps and JAN..DEC / SUN..SAT names; day-of-week 0
and 7 are Sunday; when both day fields are restricted either may match, as in Vixie cron)
evaluated on the wall clock of an IANA time zone, a duration in elapsed time, and matchers.
Across daylight-saving changes: a start that falls in a skipped hour begins when the clock
jumps (02:30 on a spring-forward night starts at 03:00 local); a start in a repeated hour begins
at its first occurrence only.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AwareDatetime,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from omp.domain.errors import ValidationFailed
from omp.domain.events import DomainEvent
from omp.domain.matchers import Matcher, MatcherIn, MatchType, matches_all
from omp.domain.model import Model

ID_PREFIX = "sil"
WINDOW_ID_PREFIX = "mwn"
MAX_MATCHERS = 32
DEFAULT_MAX_DURATION = timedelta(days=7)
DEFAULT_MAX_ACTIVE_SHARE = 0.5
DEFAULT_SHARE_MIN_ALARMS = 10
# A positive regex that accepts all of these is treated as "any value" (`.*`, `.+`, `\S*|.*`).
_PROBES = ("x", "0", "prod", "zz-probe-9", "a b", "ÿ", "-", "/", ".")


class SilenceState(StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    EXPIRED = "expired"


@dataclass(frozen=True)
class Silence:
    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str
    created_at: datetime
    comment: str = ""
    ticket: str | None = None

    def state(self, now: datetime) -> SilenceState:
        if now < self.starts_at:
            return SilenceState.PENDING
        if now > self.ends_at:
            return SilenceState.EXPIRED
        return SilenceState.ACTIVE

    def is_active(self, now: datetime) -> bool:
        return self.state(now) is SilenceState.ACTIVE

    def matches(self, labels: Mapping[str, str]) -> bool:
        return matches_all(self.matchers, labels)

    def expire(self, now: datetime) -> Silence:
        """What DELETE does: an active silence ends now; a pending one never starts."""
        state = self.state(now)
        if state is SilenceState.EXPIRED:
            return self
        if state is SilenceState.PENDING:
            return replace(self, starts_at=now, ends_at=now)
        return replace(self, ends_at=now)


Text = Annotated[str, StringConstraints(strip_whitespace=True, max_length=1024)]
Ticket = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]


class CreateSilence(Model):
    """The body of `POST /v1/silences`. The creator comes from the caller's identity."""

    model_config = ConfigDict(extra="forbid")

    matchers: list[MatcherIn] = Field(min_length=1, max_length=MAX_MATCHERS)
    starts_at: AwareDatetime | None = Field(
        default=None, description="RFC 3339 with offset; defaults to the time of the request"
    )
    ends_at: AwareDatetime
    comment: Text = Field(default="", description="why; required unless `ticket` is given")
    ticket: Ticket | None = Field(default=None, description="a change or incident reference")

    def to_matchers(self) -> tuple[Matcher, ...]:
        return tuple(m.to_matcher() for m in self.matchers)


def narrows(matcher: Matcher) -> bool:
    """Does this matcher select alerts by a value (rather than match (nearly) everything)?"""
    if matcher.type is MatchType.EQUAL:
        return matcher.value != ""
    if matcher.type is MatchType.REGEX:
        return not matcher.matches_empty and not all(matcher.matches_value(p) for p in _PROBES)
    return False


def matches_everything(matchers: Sequence[Matcher]) -> bool:
    return not any(narrows(m) for m in matchers)


@dataclass(frozen=True)
class SilencePolicy:
    max_duration: timedelta = DEFAULT_MAX_DURATION
    max_active_share: float = DEFAULT_MAX_ACTIVE_SHARE
    share_min_alarms: int = DEFAULT_SHARE_MIN_ALARMS

    def check(
        self,
        matchers: Sequence[Matcher],
        *,
        starts_at: datetime,
        ends_at: datetime,
        comment: str,
        ticket: str | None,
        now: datetime,
        active_alarms: Sequence[Mapping[str, str]] = (),
    ) -> None:
        if not comment.strip() and not (ticket or "").strip():
            raise ValidationFailed(
                "a silence needs a comment (the reason) or a ticket reference",
                code="SILENCE_REASON_REQUIRED",
                details={"fields": ["comment", "ticket"]},
            )
        if ends_at <= starts_at or ends_at <= now:
            raise ValidationFailed(
                "ends_at must be after starts_at and in the future",
                code="SILENCE_INVALID_TIME_RANGE",
                details={"starts_at": _iso(starts_at), "ends_at": _iso(ends_at)},
            )
        duration = ends_at - starts_at
        if duration > self.max_duration:
            raise ValidationFailed(
                f"a silence may last at most {self.max_duration}",
                code="SILENCE_TOO_LONG",
                details={
                    "duration_seconds": int(duration.total_seconds()),
                    "max_duration_seconds": int(self.max_duration.total_seconds()),
                },
            )
        if matches_everything(matchers):
            raise ValidationFailed(
                "the matchers select every alarm: add one that pins a label to a value",
                code="SILENCE_TOO_BROAD",
                details={"reason": "matches_everything", "matchers": [str(m) for m in matchers]},
            )
        total = len(active_alarms)
        if total >= self.share_min_alarms and total > 0:
            matched = sum(1 for labels in active_alarms if matches_all(matchers, labels))
            share = matched / total
            if share > self.max_active_share:
                raise ValidationFailed(
                    f"the silence would mute {matched} of {total} active alarms",
                    code="SILENCE_TOO_BROAD",
                    details={
                        "reason": "share_of_active",
                        "matched": matched,
                        "active": total,
                        "share": round(share, 4),
                        "max_share": self.max_active_share,
                    },
                )

    def admit(
        self,
        request: CreateSilence,
        *,
        silence_id: str,
        created_by: str,
        now: datetime,
        active_alarms: Sequence[Mapping[str, str]] = (),
    ) -> Silence:
        """Check the request against the guardrails and build the silence."""
        matchers = request.to_matchers()
        starts_at = _utc(request.starts_at) if request.starts_at else now
        ends_at = _utc(request.ends_at)
        self.check(
            matchers,
            starts_at=starts_at,
            ends_at=ends_at,
            comment=request.comment,
            ticket=request.ticket,
            now=now,
            active_alarms=active_alarms,
        )
        return Silence(
            id=silence_id,
            matchers=matchers,
            starts_at=starts_at,
            ends_at=ends_at,
            created_by=created_by,
            created_at=now,
            comment=request.comment,
            ticket=request.ticket,
        )


def match_labels(
    labels: Mapping[str, str], *, name: str, severity: str, source: str
) -> dict[str, str]:
    """The label set silences, windows and inhibition rules match an alarm on: its labels, plus
    `alertname`, `severity` and `source` where the alarm's labels do not carry them (a CloudWatch
    alarm has no `alertname` label; a silence on `alertname="X"` should still find it)."""
    return {"alertname": name, "severity": severity, "source": source} | dict(labels)


def is_silenced(
    labels: Mapping[str, str],
    silences: Iterable[Silence],
    now: datetime,
    windows: Iterable[MaintenanceWindow] = (),
) -> list[str]:
    """The ids of the active silences (and active maintenance windows) that match `labels`,
    in the order given. Empty: not silenced."""
    ids = [s.id for s in silences if s.is_active(now) and s.matches(labels)]
    ids += [w.id for w in windows if w.matches(labels) and w.schedule.active(now)]
    return ids


def expiring(
    silences: Iterable[Silence],
    now: datetime,
    within: timedelta,
    *,
    since: datetime | None = None,
) -> list[Silence]:
    """Active silences that end within `within` of `now` (soonest first).

    With `since` (the previous sweep's `now`) only those whose warning time
    (`ends_at - within`) fell in `(since, now]` are returned, so a periodic sweep emits one
    "SilenceExpiring" event per silence even though it sees it several times.
    """
    found = []
    for silence in silences:
        if not silence.is_active(now) or silence.ends_at - now > within:
            continue
        if since is not None and not since < silence.ends_at - within <= now:
            continue
        found.append(silence)
    return sorted(found, key=lambda s: (s.ends_at, s.id))


# -- cron -------------------------------------------------------------------------------------

_MONTH_NAMES = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
_DAY_NAMES = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]
_FIELDS: tuple[tuple[str, int, int, dict[str, int]], ...] = (
    ("minute", 0, 59, {}),
    ("hour", 0, 23, {}),
    ("day of month", 1, 31, {}),
    ("month", 1, 12, {n: i + 1 for i, n in enumerate(_MONTH_NAMES)}),
    ("day of week", 0, 7, {n: i for i, n in enumerate(_DAY_NAMES)}),
)
_TERM = re.compile(r"^(?:(?P<star>\*)|(?P<lo>\w+)(?:-(?P<hi>\w+))?)(?:/(?P<step>\d+))?$")


def _field(text: str, name: str, lo: int, hi: int, names: dict[str, int]) -> frozenset[int]:
    def number(token: str) -> int:
        value = names.get(token.upper())
        if value is None:
            if not token.isdigit():
                raise ValueError(f"cron {name}: {token!r} is not a number or a name")
            value = int(token)
        if not lo <= value <= hi:
            raise ValueError(f"cron {name}: {value} is outside {lo}-{hi}")
        return value

    values: set[int] = set()
    for term in text.split(","):
        found = _TERM.match(term)
        if not found:
            raise ValueError(f"cron {name}: cannot read {term!r}")
        step = int(found.group("step") or 1)
        if step < 1:
            raise ValueError(f"cron {name}: the step must be positive")
        if found.group("star"):
            start, stop = lo, hi
        else:
            start = number(found.group("lo"))
            stop = number(found.group("hi")) if found.group("hi") else start
            if found.group("step") and not found.group("hi"):
                stop = hi  # `5/15` means 5-max/15
            if stop < start:
                raise ValueError(f"cron {name}: the range {term!r} runs backwards")
        values.update(range(start, stop + 1, step))
    return frozenset(values)


@dataclass(frozen=True)
class Cron:
    """A standard 5-field cron expression over a wall clock."""

    expression: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday .. 6 = Saturday
    days_restricted: bool
    weekdays_restricted: bool

    @classmethod
    def parse(cls, expression: str) -> Cron:
        fields = expression.split()
        if len(fields) != 5:
            raise ValueError(
                f"cron {expression!r}: expected 5 fields (minute hour day-of-month month "
                f"day-of-week), got {len(fields)}"
            )
        sets = [_field(text, *spec) for text, spec in zip(fields, _FIELDS, strict=True)]
        weekdays = frozenset(d % 7 for d in sets[4])
        return cls(
            expression=" ".join(fields),
            minutes=sets[0],
            hours=sets[1],
            days=sets[2],
            months=sets[3],
            weekdays=weekdays,
            days_restricted=not fields[2].startswith("*"),
            weekdays_restricted=not fields[4].startswith("*"),
        )

    def matches_day(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        in_days = day.day in self.days
        in_weekdays = day.isoweekday() % 7 in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return in_days or in_weekdays  # Vixie cron: either day field may match
        return in_days and in_weekdays

    def matches(self, local: datetime) -> bool:
        """Does this wall-clock minute (naive or aware: its own fields are read) match?"""
        return (
            local.minute in self.minutes
            and local.hour in self.hours
            and self.matches_day(local.date())
        )


def _exists(local: datetime) -> bool:
    """False for a wall-clock time inside a skipped (spring-forward) hour."""
    back = local.astimezone(UTC).astimezone(local.tzinfo)
    return back.replace(tzinfo=None, fold=0) == local.replace(tzinfo=None, fold=0)


def _start_instant(day: date, hour: int, minute: int, zone: ZoneInfo) -> datetime:
    """The UTC instant a wall-clock start on `day` means in `zone` (see the module notes)."""
    local = datetime.combine(day, time(hour, minute), tzinfo=zone)  # fold=0: first occurrence
    probe = local
    for _ in range(24 * 60):  # a skipped hour: move to the first minute that exists
        if _exists(probe):
            break
        probe = probe + timedelta(minutes=1)  # wall-clock arithmetic on an aware datetime
    return probe.astimezone(UTC)


@dataclass(frozen=True)
class RecurringSchedule:
    """A cron start on the wall clock of `timezone`, lasting `duration` (elapsed time)."""

    cron: Cron
    duration: timedelta
    timezone: str

    def __post_init__(self) -> None:
        if self.duration <= timedelta(0):
            raise ValueError("a window's duration must be positive")
        _zone(self.timezone)

    @classmethod
    def of(cls, cron: str, duration: timedelta, timezone: str = "UTC") -> RecurringSchedule:
        return cls(Cron.parse(cron), duration, timezone)

    def last_start(self, now: datetime) -> datetime | None:
        """The latest start at or before `now` within one duration (plus a day) of it, in UTC."""
        zone = _zone(self.timezone)
        local_now = now.astimezone(zone)
        earliest = (now - self.duration).astimezone(zone).date() - timedelta(days=1)
        day = local_now.date()
        hours = sorted(self.cron.hours, reverse=True)
        minutes = sorted(self.cron.minutes, reverse=True)
        while day >= earliest:
            if self.cron.matches_day(day):
                for hour in hours:
                    for minute in minutes:
                        start = _start_instant(day, hour, minute, zone)
                        if start <= now:
                            return start
            day -= timedelta(days=1)
        return None

    def active(self, now: datetime) -> bool:
        start = self.last_start(now)
        return start is not None and now < start + self.duration

    def next_start(self, now: datetime, *, horizon_days: int = 366) -> datetime | None:
        """The first start after `now` (UTC), looking ahead at most `horizon_days`."""
        zone = _zone(self.timezone)
        day = now.astimezone(zone).date()
        hours, minutes = sorted(self.cron.hours), sorted(self.cron.minutes)
        for _ in range(horizon_days + 1):
            if self.cron.matches_day(day):
                for hour in hours:
                    for minute in minutes:
                        start = _start_instant(day, hour, minute, zone)
                        if start > now:
                            return start
            day += timedelta(days=1)
        return None


@dataclass(frozen=True)
class MaintenanceWindow:
    id: str
    name: str
    schedule: RecurringSchedule
    matchers: tuple[Matcher, ...]
    created_by: str = ""
    comment: str = ""
    created_at: datetime | None = None

    def matches(self, labels: Mapping[str, str]) -> bool:
        return matches_all(self.matchers, labels)

    def active(self, now: datetime) -> bool:
        return self.schedule.active(now)


def active(window: MaintenanceWindow | RecurringSchedule, now: datetime) -> bool:
    """Is the window open at `now` (an aware datetime)?"""
    schedule = window.schedule if isinstance(window, MaintenanceWindow) else window
    return schedule.active(now)


class CreateMaintenanceWindow(Model):
    """The body of `POST /v1/maintenance-windows`."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=256)]
    cron: Annotated[str, StringConstraints(strip_whitespace=True, min_length=9, max_length=256)]
    duration_minutes: int = Field(gt=0, le=int(DEFAULT_MAX_DURATION.total_seconds() // 60))
    timezone: str = "UTC"
    matchers: list[MatcherIn] = Field(min_length=1, max_length=MAX_MATCHERS)
    comment: Text = ""

    @field_validator("cron")
    @classmethod
    def _cron_parses(cls, value: str) -> str:
        Cron.parse(value)
        return value

    @field_validator("timezone")
    @classmethod
    def _zone_exists(cls, value: str) -> str:
        _zone(value)
        return value

    def to_window(
        self, *, window_id: str, created_by: str, created_at: datetime | None = None
    ) -> MaintenanceWindow:
        matchers = tuple(m.to_matcher() for m in self.matchers)
        if matches_everything(matchers):
            raise ValidationFailed(
                "the matchers select every alarm: add one that pins a label to a value",
                code="SILENCE_TOO_BROAD",
                details={"reason": "matches_everything", "matchers": [str(m) for m in matchers]},
            )
        schedule = RecurringSchedule.of(
            self.cron, timedelta(minutes=self.duration_minutes), self.timezone
        )
        return MaintenanceWindow(
            id=window_id,
            name=self.name,
            schedule=schedule,
            matchers=matchers,
            created_by=created_by,
            comment=self.comment,
            created_at=created_at,
        )


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {name!r}") from None


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("a time zone offset is required (RFC 3339)")
    try:
        return value.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+14:00, 9999-12-31T23:59-14:00: no UTC instant
        raise ValidationFailed(
            "the time is outside years 1-9999 in UTC",
            code="SILENCE_INVALID_TIME_RANGE",
            details={"time": value.isoformat()},
        ) from None


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def describe(silence: Silence, now: datetime) -> dict[str, Any]:
    """The API shape of a silence (times RFC 3339 UTC, matchers in the object form)."""
    return {
        "id": silence.id,
        "matchers": [m.to_dict() for m in silence.matchers],
        "starts_at": _iso(silence.starts_at),
        "ends_at": _iso(silence.ends_at),
        "created_by": silence.created_by,
        "created_at": _iso(silence.created_at),
        "comment": silence.comment,
        "ticket": silence.ticket,
        "state": silence.state(now).value,
    }


@dataclass(frozen=True)
class SilenceRecord:
    """A stored silence: its optimistic `version` and when the expiry sweep announced it
    (`warned_at`: `SilenceExpiring` sent; `expiry_announced_at`: `SilenceExpired` sent)."""

    silence: Silence
    version: int = 1
    warned_at: datetime | None = None
    expiry_announced_at: datetime | None = None


def describe_window(window: MaintenanceWindow, now: datetime) -> dict[str, Any]:
    """The API shape of a maintenance window, with whether it is open now and its next start."""
    schedule = window.schedule
    next_start = schedule.next_start(now)
    last = schedule.last_start(now)
    return {
        "id": window.id,
        "name": window.name,
        "cron": schedule.cron.expression,
        "duration_minutes": int(schedule.duration.total_seconds() // 60),
        "timezone": schedule.timezone,
        "matchers": [m.to_dict() for m in window.matchers],
        "comment": window.comment,
        "created_by": window.created_by,
        "created_at": _iso(window.created_at) if window.created_at else None,
        "active": schedule.active(now),
        "current_ends_at": (
            _iso(last + schedule.duration) if last and schedule.active(now) else None
        ),
        "next_start": _iso(next_start) if next_start else None,
    }


# -- events ------------------------------------------------------------------------------------

EVENT_SOURCE = "omp.monitoring"
SILENCE_CREATED = "SilenceCreated"
SILENCE_EXPIRING = "SilenceExpiring"
SILENCE_EXPIRED = "SilenceExpired"


def silence_event(
    detail_type: str, silence: Silence, now: datetime, actor: str, **extra: Any
) -> DomainEvent:
    """`SilenceCreated`, `SilenceExpiring` (with `expires_in_seconds`) or `SilenceExpired`
    (with `reason`: `deleted` or `ended`)."""
    detail: dict[str, Any] = {"silence": describe(silence, now), "actor": actor} | extra
    return DomainEvent(source=EVENT_SOURCE, detail_type=detail_type, detail=detail)
