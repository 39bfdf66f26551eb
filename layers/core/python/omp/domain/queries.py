"""List filters, validated before they reach a store."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from omp.domain.errors import ValidationFailed
from omp.domain.timeutil import utc

DEFAULT_WINDOW = timedelta(days=30)
MAX_WINDOW = timedelta(days=366)


@dataclass(frozen=True)
class TimeRange:
    start: datetime
    end: datetime

    @classmethod
    def build(cls, start: datetime | None, end: datetime | None, now: datetime) -> TimeRange:
        """`[start, end]`; the default is the last 30 days, the widest 366 days."""
        try:
            end_ = utc(end) if end else now
            start_ = utc(start) if start else end_ - DEFAULT_WINDOW
        except ValueError as exc:
            raise ValidationFailed(
                str(exc), details=[{"loc": ["query", "from/to"], "msg": str(exc)}]
            ) from exc
        if start_ > end_:
            raise ValidationFailed(
                "from must not be after to",
                details=[{"loc": ["query", "from"], "msg": "after to"}],
            )
        if end_ - start_ > MAX_WINDOW:
            raise ValidationFailed(
                "the time range spans more than 366 days",
                details=[{"loc": ["query", "from"], "msg": "range wider than 366 days"}],
            )
        return cls(start_, end_)

    def days(self) -> list[str]:
        """The UTC days the range touches, newest first."""
        out = []
        cursor = self.end.date()
        while cursor >= self.start.date():
            out.append(cursor.isoformat())
            cursor -= timedelta(days=1)
        return out
