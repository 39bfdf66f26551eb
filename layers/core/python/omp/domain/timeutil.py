"""RFC 3339 UTC times: any offset read, always written as `YYYY-MM-DDTHH:MM:SS.mmmZ`."""

from __future__ import annotations

from datetime import UTC, datetime


def utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("a time zone offset is required (RFC 3339)")
    return value.astimezone(UTC)


def iso(value: datetime) -> str:
    return utc(value).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse(stamp: str) -> datetime:
    """A time as `iso` writes it (or any RFC 3339 time with an offset)."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def day(value: datetime) -> str:
    return utc(value).strftime("%Y-%m-%d")
