"""The alarm repository on the monitoring table.

Item: pk `ALARM#<id>`, sk `A`. Indexes (sort key `<triggered_at>#<id>` on each):
gsi1 `ALARMS#<day>` (all, by time), gsi2 `ALARM_RES#<resource>` (by resource),
gsi3 `ALARM_ST#<status>#<day>` (by status: the open-alarms view).

`people_timeline` on the item: the timeline entries of acknowledge/resolve through the API,
appended by the same conditional UpdateItem that changes the status, so the change and its
entry are one write (`DynamoAlertStateStore.timeline` merges them with the `T#` items).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from omp.adapters.dynamo import (
    ConditionFailed,
    call,
    day_partitions,
    from_item,
    list_newest_first,
    to_item,
)
from omp.adapters.dynamo_timeline import timeline_entry, timeline_item
from omp.domain.alarms import ALLOWED_FROM, Alarm, AlarmQuery, AlarmStatus, check_transition
from omp.domain.dedup import TimelineEntry
from omp.domain.errors import Conflict, NotFound
from omp.domain.ids import id_time_ms
from omp.domain.pagination import Page

PEOPLE_TIMELINE = "people_timeline"
# Entries the alarm item keeps (a note is up to 4,096 characters: at most about 100 KB); past
# them, a change's entry is an item of its own (one more write, only for such an alarm).
MAX_PEOPLE_ENTRIES = 6
# Attributes of the item that are not fields of `Alarm`.
_NOT_ALARM = (
    "pk",
    "sk",
    "gsi1pk",
    "gsi1sk",
    "gsi2pk",
    "gsi2sk",
    "gsi3pk",
    "gsi3sk",
    PEOPLE_TIMELINE,
)


def _key(alarm_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"ALARM#{alarm_id}"}, "sk": {"S": "A"}}


def _index_keys(alarm: dict[str, Any]) -> dict[str, Any]:
    day = alarm["triggered_at"][:10]
    sort = f"{alarm['triggered_at']}#{alarm['id']}"
    keys = {
        "gsi1pk": f"ALARMS#{day}",
        "gsi1sk": sort,
        "gsi3pk": f"ALARM_ST#{alarm['status']}#{day}",
        "gsi3sk": sort,
    }
    if alarm.get("resource"):
        keys |= {"gsi2pk": f"ALARM_RES#{alarm['resource']}", "gsi2sk": sort}
    return keys


def _people_value(entry: TimelineEntry) -> dict[str, Any]:
    return {k: v for k, v in timeline_item(entry, 0).items() if k not in ("pk", "sk", "alarm_id")}


def _people_full(item: dict[str, Any] | None) -> bool:
    people = (item or {}).get(PEOPLE_TIMELINE, {}).get("L")
    return people is not None and len(people) >= MAX_PEOPLE_ENTRIES


def _alarm_values(values: dict[str, Any]) -> Alarm:
    return Alarm.model_validate({k: v for k, v in values.items() if k not in _NOT_ALARM})


def _alarm(item: dict[str, Any]) -> Alarm:
    return _alarm_values(from_item(item))


class DynamoAlarmRepository:
    def __init__(self, table: str) -> None:
        self.table = table

    def put_new(self, alarm: Alarm) -> None:
        values = alarm.model_dump(mode="json")
        item = {"pk": f"ALARM#{alarm.id}", "sk": "A", **values, **_index_keys(values)}
        try:
            call(
                "put_item",
                TableName=self.table,
                Item=to_item(item),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except Conflict as exc:
            raise Conflict(f"alarm {alarm.id} already exists", code="ALARM_EXISTS") from exc

    def get(self, alarm_id: str) -> Alarm | None:
        item = call("get_item", TableName=self.table, Key=_key(alarm_id)).get("Item")
        return _alarm(item) if item else None

    def change_status(
        self,
        alarm_id: str,
        target: AlarmStatus,
        changes: dict[str, Any],
        *,
        expected_version: int | None,
        entry: TimelineEntry | None = None,
    ) -> Alarm:
        """`entry`, when given, is appended to `people_timeline` in the same write."""
        allowed = sorted(s.value for s in ALLOWED_FROM[target])
        day = datetime.fromtimestamp(id_time_ms(alarm_id) / 1000, UTC).strftime("%Y-%m-%d")
        fields = changes | {"gsi3pk": f"ALARM_ST#{target.value}#{day}"}
        names = {f"#{k}": k for k in fields} | {"#version": "version"}
        values: dict[str, Any] = {f":{k}": v for k, v in fields.items()}
        values[":one"] = 1
        values |= {f":from{i}": s for i, s in enumerate(allowed)}
        sets = [f"#{k} = :{k}" for k in fields] + ["#version = #version + :one"]
        sources = ", ".join(f":from{i}" for i in range(len(allowed)))
        condition = f"attribute_exists(pk) AND #status IN ({sources})"
        if entry is not None:
            names["#people"] = PEOPLE_TIMELINE
            values[":entry"] = [_people_value(entry)]
            values[":none"] = []
            values[":cap"] = MAX_PEOPLE_ENTRIES
            sets.append("#people = list_append(if_not_exists(#people, :none), :entry)")
            condition += " AND (attribute_not_exists(#people) OR size(#people) < :cap)"
        update = "SET " + ", ".join(sets)
        if expected_version is not None:
            condition += " AND #version = :expected"
            values[":expected"] = expected_version
        try:
            result = call(
                "update_item",
                TableName=self.table,
                Key=_key(alarm_id),
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_item(values),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ConditionFailed as failed:
            if entry is not None and _people_full(failed.item):
                # The list is full (an alarm reopened again and again): the change alone, then
                # its entry as a `T#` item of its own, which the timeline reads all the same.
                alarm = self.change_status(
                    alarm_id, target, changes, expected_version=expected_version
                )
                call("put_item", TableName=self.table, Item=to_item(timeline_item(entry, 0)))
                return alarm
            raise _why(alarm_id, target, failed.item, expected_version) from failed
        return _alarm(result["Attributes"])

    def people_timeline(self, alarm_id: str) -> list[TimelineEntry] | None:
        """The API's acknowledge/resolve entries of the alarm, oldest first; None: no alarm."""
        item = call(
            "get_item",
            TableName=self.table,
            Key=_key(alarm_id),
            ProjectionExpression="pk, #people",
            ExpressionAttributeNames={"#people": PEOPLE_TIMELINE},
        ).get("Item")
        if item is None:
            return None
        return [
            timeline_entry(v | {"alarm_id": alarm_id})
            for v in from_item(item).get(PEOPLE_TIMELINE, [])
        ]

    def reopen(self, alarm_id: str, changes: dict[str, Any]) -> Alarm:
        """resolved -> open, same id: the alert pipeline's flapping reopen. No API route calls
        it (the public lifecycle never goes back to open)."""
        day = datetime.fromtimestamp(id_time_ms(alarm_id) / 1000, UTC).strftime("%Y-%m-%d")
        fields = dict(changes) | {"status": "open", "gsi3pk": f"ALARM_ST#open#{day}"}
        names = {f"#{k}": k for k in fields} | {
            "#version": "version",
            "#resolved_at": "resolved_at",
            "#resolved_by": "resolved_by",
        }
        values = {f":{k}": v for k, v in fields.items()} | {":one": 1, ":resolved": "resolved"}
        update = (
            "SET "
            + ", ".join([f"#{k} = :{k}" for k in fields] + ["#version = #version + :one"])
            + " REMOVE #resolved_at, #resolved_by"
        )
        try:
            result = call(
                "update_item",
                TableName=self.table,
                Key=_key(alarm_id),
                UpdateExpression=update,
                ConditionExpression="attribute_exists(pk) AND #status = :resolved",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_item(values),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ConditionFailed as failed:
            if not failed.item:
                raise NotFound(f"alarm {alarm_id} does not exist", code="ALARM_NOT_FOUND") from None
            current = _alarm(failed.item)
            if current.status.value == "open":
                return current
            raise Conflict(
                f"alarm {alarm_id} is {current.status.value}; only a resolved alarm reopens",
                code="INVALID_TRANSITION",
            ) from failed
        return _alarm(result["Attributes"])

    def list(self, query: AlarmQuery) -> Page[Alarm]:
        clauses: list[str] = []
        values: dict[str, str | bool] = {}
        for field in ("severity", "source", "name", "status"):
            value = getattr(query, field)
            if value is not None:
                clauses.append(f"#{field} = :{field}")
                values[f":{field}"] = str(value)
        if query.suppressed is not None:
            # Alarms stored before suppression existed have no attribute: not suppressed.
            clauses.append(
                "#suppressed = :suppressed"
                if query.suppressed
                else "(attribute_not_exists(#suppressed) OR #suppressed = :suppressed)"
            )
            values[":suppressed"] = query.suppressed
        if query.resource:
            index, partitions = "gsi2", [f"ALARM_RES#{query.resource}"]
        elif query.status:
            index, partitions = (
                "gsi3",
                day_partitions(f"ALARM_ST#{query.status.value}", query.window),
            )
        else:
            index, partitions = "gsi1", day_partitions("ALARMS", query.window)
        names = {f"#{k[1:]}": k[1:] for k in values}
        page = list_newest_first(
            table=self.table,
            index=index,
            partitions=partitions,
            window=query.window,
            limit=query.limit,
            next_token=query.next_token,
            filter_expression=" AND ".join(clauses) or None,
            names=names,
            values=values,
        )
        return Page([_alarm_values(v) for v in page.items], page.next_token)


def _why(
    alarm_id: str, target: AlarmStatus, old: dict[str, Any] | None, expected: int | None
) -> Exception:
    """Name the condition that failed from the item DynamoDB returned with the failure."""
    if not old:
        return NotFound(f"alarm {alarm_id} does not exist", code="ALARM_NOT_FOUND")
    current = _alarm(old)
    check_transition(alarm_id, current.status, target)  # raises INVALID_TRANSITION
    return Conflict(
        f"alarm {alarm_id} is at version {current.version}, not {expected}",
        code="VERSION_CONFLICT",
        details={"version": current.version},
    )
