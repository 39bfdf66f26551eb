"""Alarm timeline entries as DynamoDB values: the `T#` items of an alarm's partition and the
`people_timeline` entries on the alarm item share this shape and these keys. Kept apart from
`dynamo_alerting` so the alarm repository can use it without loading the pipeline's stores."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from omp.domain.dedup import AlertStatus, TimelineEntry
from omp.domain.timeutil import parse, utc


def ts(value: datetime) -> str:
    """`YYYY-MM-DDTHH:MM:SS.ffffffZ`: fixed width, so string order is time order."""
    return utc(value).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_ts(value: Any) -> datetime:
    """A stored time (as `ts` writes it) as an aware UTC datetime."""
    return utc(parse(str(value)))


def timeline_sk(entry: TimelineEntry, seq: int) -> str:
    """The entry's sort key: its time, its position in its decision and its kind. Not the
    processing time (`recorded_at`): a redelivered record re-applies the same decision later,
    and its entries must overwrite the first attempt's, not add to them."""
    return f"T#{ts(entry.at)}#{seq:03d}#{entry.kind}"


def timeline_item(entry: TimelineEntry, seq: int) -> dict[str, Any]:
    sk = timeline_sk(entry, seq)
    item: dict[str, Any] = {
        "pk": f"ALARM#{entry.alarm_id}",
        "sk": sk,
        "alarm_id": entry.alarm_id,
        "at": ts(entry.at),
        "recorded_at": ts(entry.recorded_at),
        "kind": entry.kind,
        "status": entry.status.value,
        "occurrences": entry.occurrences,
        "note": entry.note,
    }
    if entry.actor:
        item["actor"] = entry.actor
    return item


def timeline_entry(values: dict[str, Any]) -> TimelineEntry:
    return TimelineEntry(
        alarm_id=str(values["alarm_id"]),
        at=parse_ts(values["at"]),
        recorded_at=parse_ts(values["recorded_at"]),
        kind=str(values["kind"]),
        status=AlertStatus(values["status"]),
        occurrences=int(values["occurrences"]),
        note=str(values.get("note", "")),
        actor=str(values.get("actor", "")),
    )
