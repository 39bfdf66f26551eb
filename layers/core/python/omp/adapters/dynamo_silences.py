"""Silences, maintenance windows and inhibition rules on the monitoring table.

Key design (docs/silences-and-routing.md, "Storage"):

- silence: pk `SILENCE#<id>`, sk `S`; gsi1 `SILENCES` / `<ends_at>#<id>`. One partition: silences
  are few (hundreds), and sorting by the end time makes every read a key range: the unexpired
  ones are `>= now` (what the alert consumer loads), the expired ones `< now`, the ones the
  expiry sweep looks at a window around now. `expires_at` (TTL) removes a silence
  `EXPIRED_RETENTION` after it ended.
- maintenance window: pk `MWINDOW#<id>`, sk `W`; gsi1 `MWINDOWS` / `<created_at>#<id>`.
- inhibition rule: pk `INHIBIT#<id>`, sk `R`; gsi1 `INHIBIT_RULES` / `<created_at>#<id>`.

Times are fixed-width RFC 3339 UTC strings (`dynamo_alerting.ts`), so string order is time order.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from omp.adapters.dynamo import ConditionFailed, call, from_item, to_item
from omp.adapters.dynamo_timeline import parse_ts as _dt
from omp.adapters.dynamo_timeline import ts
from omp.domain.errors import BadRequest, Conflict, NotFound
from omp.domain.inhibition import InhibitionRuleRecord, InhibitRule
from omp.domain.matchers import Matcher
from omp.domain.pagination import DEFAULT_LIMIT, Page, decode_token, encode_token
from omp.domain.silences import (
    MaintenanceWindow,
    RecurringSchedule,
    Silence,
    SilenceRecord,
    SilenceState,
)

SILENCES = "SILENCES"
WINDOWS = "MWINDOWS"
RULES = "INHIBIT_RULES"
EXPIRED_RETENTION = timedelta(days=30)
FLAGS = ("warned_at", "expiry_announced_at")

T = TypeVar("T")


def _opt_dt(value: Any) -> datetime | None:
    return None if value is None else _dt(value)


def _invalid_token() -> BadRequest:
    return BadRequest("next_token is not a token this API issued", code="INVALID_NEXT_TOKEN")


def _start_key(token: str, partition: str) -> dict[str, Any]:
    """The ExclusiveStartKey in a token of a gsi1 query of `partition`: another listing's
    token is a 400, never a silent empty page or a 500."""
    key = decode_token(token, required_keys=("k",))["k"]
    if (
        not isinstance(key, dict)
        or set(key) != {"pk", "sk", "gsi1pk", "gsi1sk"}
        or key["gsi1pk"] != {"S": partition}
        or not all(
            isinstance(v, dict) and set(v) == {"S"} and isinstance(v["S"], str)
            for v in key.values()
        )
    ):
        raise _invalid_token()
    return key


def _query(
    table: str,
    partition: str,
    *,
    condition: str = "",
    values: dict[str, Any] | None = None,
    forward: bool = True,
    limit: int | None = None,
    next_token: str | None = None,
    filter_expression: str | None = None,
    names: dict[str, str] | None = None,
) -> tuple[list[dict[str, Any]], str | None]:
    """One gsi1 query page (`limit` given) or every item (`limit` None)."""
    kwargs: dict[str, Any] = {
        "TableName": table,
        "IndexName": "gsi1",
        "KeyConditionExpression": "gsi1pk = :p" + (f" AND {condition}" if condition else ""),
        "ExpressionAttributeValues": to_item({":p": partition, **(values or {})}),
        "ScanIndexForward": forward,
    }
    if filter_expression:
        kwargs["FilterExpression"] = filter_expression
    if names:
        kwargs["ExpressionAttributeNames"] = names
    if next_token:
        kwargs["ExclusiveStartKey"] = _start_key(next_token, partition)
    items: list[dict[str, Any]] = []
    while True:
        if limit is not None:
            kwargs["Limit"] = limit - len(items)
        page = call("query", **kwargs)
        items.extend(from_item(i) for i in page.get("Items", []))
        last = page.get("LastEvaluatedKey")
        if not last:
            return items, None
        if limit is not None and len(items) >= limit:
            return items, encode_token({"k": last})
        kwargs["ExclusiveStartKey"] = last


def _delete(table: str, key: dict[str, str], not_found: NotFound) -> dict[str, Any]:
    try:
        result = call(
            "delete_item",
            TableName=table,
            Key=to_item(key),
            ConditionExpression="attribute_exists(pk)",
            ReturnValues="ALL_OLD",
        )
    except ConditionFailed:
        raise not_found from None
    return from_item(result["Attributes"])


def _put_new(table: str, item: dict[str, Any], exists: Conflict) -> None:
    try:
        call(
            "put_item",
            TableName=table,
            Item=to_item(item),
            ConditionExpression="attribute_not_exists(pk)",
        )
    except ConditionFailed:
        raise exists from None


def _get(table: str, key: dict[str, str], read: Callable[[dict[str, Any]], T]) -> T | None:
    item = call("get_item", TableName=table, Key=to_item(key)).get("Item")
    return read(from_item(item)) if item else None


def _matchers(values: Any) -> tuple[Matcher, ...]:
    return tuple(Matcher.from_dict(m) for m in values)


# ---- silences -------------------------------------------------------------------------------


def _silence_key(silence_id: str) -> dict[str, str]:
    return {"pk": f"SILENCE#{silence_id}", "sk": "S"}


def _silence_item(record: SilenceRecord) -> dict[str, Any]:
    s = record.silence
    return {
        **_silence_key(s.id),
        "gsi1pk": SILENCES,
        "gsi1sk": f"{ts(s.ends_at)}#{s.id}",
        "id": s.id,
        "matchers": [m.to_dict() for m in s.matchers],
        "starts_at": ts(s.starts_at),
        "ends_at": ts(s.ends_at),
        "created_by": s.created_by,
        "created_at": ts(s.created_at),
        "comment": s.comment,
        "ticket": s.ticket,
        "version": record.version,
        "warned_at": ts(record.warned_at) if record.warned_at else None,
        "expiry_announced_at": (
            ts(record.expiry_announced_at) if record.expiry_announced_at else None
        ),
        # integer arithmetic: `ends_at + timedelta` overflows for a year-9999 silence
        "expires_at": int(s.ends_at.timestamp()) + int(EXPIRED_RETENTION.total_seconds()),
    }


def _silence_record(values: dict[str, Any]) -> SilenceRecord:
    silence = Silence(
        id=str(values["id"]),
        matchers=_matchers(values["matchers"]),
        starts_at=_dt(values["starts_at"]),
        ends_at=_dt(values["ends_at"]),
        created_by=str(values["created_by"]),
        created_at=_dt(values["created_at"]),
        comment=str(values.get("comment", "")),
        ticket=values.get("ticket"),
    )
    return SilenceRecord(
        silence=silence,
        version=int(values["version"]),
        warned_at=_opt_dt(values.get("warned_at")),
        expiry_announced_at=_opt_dt(values.get("expiry_announced_at")),
    )


class DynamoSilenceStore:
    def __init__(self, table: str) -> None:
        self.table = table

    def put_new(self, record: SilenceRecord) -> None:
        sid = record.silence.id
        _put_new(
            self.table,
            _silence_item(record),
            Conflict(f"silence {sid} already exists", code="SILENCE_EXISTS"),
        )

    def get(self, silence_id: str) -> SilenceRecord | None:
        return _get(self.table, _silence_key(silence_id), _silence_record)

    def save(self, record: SilenceRecord, expected_version: int) -> SilenceRecord:
        """The silence's times (and the index and TTL that follow them) on the stored version.
        An update, not a put: the sweep's flags, set without a version, are kept."""
        item = _silence_item(record)
        fields = {k: item[k] for k in ("starts_at", "ends_at", "gsi1sk", "expires_at")}
        names = {f"#{k}": k for k in fields} | {"#version": "version"}
        values = {f":{k}": v for k, v in fields.items()} | {
            ":expected": expected_version,
            ":one": 1,
        }
        try:
            result = call(
                "update_item",
                TableName=self.table,
                Key=to_item(_silence_key(record.silence.id)),
                UpdateExpression="SET "
                + ", ".join(f"#{k} = :{k}" for k in fields)
                + ", #version = #version + :one",
                ConditionExpression="attribute_exists(pk) AND #version = :expected",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_item(values),
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ConditionFailed as failed:
            sid = record.silence.id
            if not failed.item:
                raise NotFound(f"silence {sid} does not exist", code="SILENCE_NOT_FOUND") from None
            raise Conflict(
                f"silence {sid} changed since it was read", code="VERSION_CONFLICT"
            ) from None
        return _silence_record(from_item(result["Attributes"]))

    def unexpired(self, now: datetime) -> list[Silence]:
        items, _ = _query(
            self.table, SILENCES, condition="gsi1sk >= :now", values={":now": ts(now)}
        )
        return [_silence_record(i).silence for i in items]

    def ending_between(self, start: datetime, end: datetime) -> list[SilenceRecord]:
        items, _ = _query(
            self.table,
            SILENCES,
            condition="gsi1sk BETWEEN :lo AND :hi",
            values={":lo": ts(start), ":hi": ts(end) + "#\uffff"},
        )
        return [_silence_record(i) for i in items]

    def mark(self, silence_id: str, flag: str, at: datetime) -> bool:
        if flag not in FLAGS:
            raise ValueError(f"not a silence flag: {flag}")
        try:
            call(
                "update_item",
                TableName=self.table,
                Key=to_item(_silence_key(silence_id)),
                UpdateExpression="SET #f = :at",
                ConditionExpression="attribute_exists(pk) AND attribute_not_exists(#f)",
                ExpressionAttributeNames={"#f": flag},
                ExpressionAttributeValues=to_item({":at": ts(at)}),
            )
        except ConditionFailed:
            return False
        return True

    def unmark(self, silence_id: str, flag: str) -> None:
        if flag not in FLAGS:
            raise ValueError(f"not a silence flag: {flag}")
        try:
            call(
                "update_item",
                TableName=self.table,
                Key=to_item(_silence_key(silence_id)),
                UpdateExpression="REMOVE #f",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames={"#f": flag},
            )
        except ConditionFailed:
            return

    def list(
        self,
        state: SilenceState | None,
        now: datetime,
        limit: int = DEFAULT_LIMIT,
        next_token: str | None = None,
    ) -> Page[SilenceRecord]:
        bound = {":now": ts(now)}
        if state is SilenceState.EXPIRED:
            args: dict[str, Any] = {"condition": "gsi1sk < :now", "values": bound}
        elif state is None:
            args = {}
        else:
            # Unexpired: ends_at >= now; then pending (not started) or active (started).
            op = ">" if state is SilenceState.PENDING else "<="
            args = {
                "condition": "gsi1sk >= :now",
                "values": bound,
                "filter_expression": f"#starts_at {op} :now",
                "names": {"#starts_at": "starts_at"},
            }
        items, token = _query(
            self.table, SILENCES, forward=False, limit=limit, next_token=next_token, **args
        )
        return Page([_silence_record(i) for i in items], token)


# ---- maintenance windows --------------------------------------------------------------------


def _window_key(window_id: str) -> dict[str, str]:
    return {"pk": f"MWINDOW#{window_id}", "sk": "W"}


def _window_item(window: MaintenanceWindow) -> dict[str, Any]:
    created = window.created_at
    if created is None:
        raise ValueError("a stored maintenance window has a created_at")
    schedule = window.schedule
    return {
        **_window_key(window.id),
        "gsi1pk": WINDOWS,
        "gsi1sk": f"{ts(created)}#{window.id}",
        "id": window.id,
        "name": window.name,
        "cron": schedule.cron.expression,
        "duration_minutes": int(schedule.duration.total_seconds() // 60),
        "timezone": schedule.timezone,
        "matchers": [m.to_dict() for m in window.matchers],
        "created_by": window.created_by,
        "created_at": ts(created),
        "comment": window.comment,
    }


def _window(values: dict[str, Any]) -> MaintenanceWindow:
    return MaintenanceWindow(
        id=str(values["id"]),
        name=str(values["name"]),
        schedule=RecurringSchedule.of(
            str(values["cron"]),
            timedelta(minutes=int(values["duration_minutes"])),
            str(values["timezone"]),
        ),
        matchers=_matchers(values["matchers"]),
        created_by=str(values.get("created_by", "")),
        comment=str(values.get("comment", "")),
        created_at=_dt(values["created_at"]),
    )


def _window_not_found(window_id: str) -> NotFound:
    return NotFound(
        f"maintenance window {window_id} does not exist", code="MAINTENANCE_WINDOW_NOT_FOUND"
    )


class DynamoMaintenanceWindowStore:
    def __init__(self, table: str) -> None:
        self.table = table

    def put_new(self, window: MaintenanceWindow) -> None:
        _put_new(
            self.table,
            _window_item(window),
            Conflict(f"maintenance window {window.id} exists", code="MAINTENANCE_WINDOW_EXISTS"),
        )

    def get(self, window_id: str) -> MaintenanceWindow | None:
        return _get(self.table, _window_key(window_id), _window)

    def delete(self, window_id: str) -> MaintenanceWindow:
        return _window(_delete(self.table, _window_key(window_id), _window_not_found(window_id)))

    def all(self) -> list[MaintenanceWindow]:
        return [_window(i) for i in _query(self.table, WINDOWS)[0]]

    def list(
        self, limit: int = DEFAULT_LIMIT, next_token: str | None = None
    ) -> Page[MaintenanceWindow]:
        items, token = _query(
            self.table, WINDOWS, forward=False, limit=limit, next_token=next_token
        )
        return Page([_window(i) for i in items], token)


# ---- inhibition rules -----------------------------------------------------------------------


def _rule_key(rule_id: str) -> dict[str, str]:
    return {"pk": f"INHIBIT#{rule_id}", "sk": "R"}


def _rule_item(record: InhibitionRuleRecord) -> dict[str, Any]:
    rule = record.rule
    return {
        **_rule_key(record.id),
        "gsi1pk": RULES,
        "gsi1sk": f"{ts(record.created_at)}#{record.id}",
        "id": record.id,
        "name": rule.name,
        "source_matchers": [m.to_dict() for m in rule.source_matchers],
        "target_matchers": [m.to_dict() for m in rule.target_matchers],
        "equal": list(rule.equal),
        "created_by": record.created_by,
        "created_at": ts(record.created_at),
    }


def _rule(values: dict[str, Any]) -> InhibitionRuleRecord:
    return InhibitionRuleRecord(
        id=str(values["id"]),
        rule=InhibitRule(
            source_matchers=_matchers(values["source_matchers"]),
            target_matchers=_matchers(values["target_matchers"]),
            equal=tuple(str(e) for e in values.get("equal", [])),
            name=str(values.get("name", "")),
        ),
        created_by=str(values.get("created_by", "")),
        created_at=_dt(values["created_at"]),
    )


def _rule_not_found(rule_id: str) -> NotFound:
    return NotFound(f"inhibition rule {rule_id} does not exist", code="INHIBITION_RULE_NOT_FOUND")


class DynamoInhibitionRuleStore:
    def __init__(self, table: str) -> None:
        self.table = table

    def put_new(self, record: InhibitionRuleRecord) -> None:
        _put_new(
            self.table,
            _rule_item(record),
            Conflict(f"inhibition rule {record.id} exists", code="INHIBITION_RULE_EXISTS"),
        )

    def get(self, rule_id: str) -> InhibitionRuleRecord | None:
        return _get(self.table, _rule_key(rule_id), _rule)

    def delete(self, rule_id: str) -> InhibitionRuleRecord:
        return _rule(_delete(self.table, _rule_key(rule_id), _rule_not_found(rule_id)))

    def all(self) -> list[InhibitionRuleRecord]:
        return [_rule(i) for i in _query(self.table, RULES)[0]]

    def list(
        self, limit: int = DEFAULT_LIMIT, next_token: str | None = None
    ) -> Page[InhibitionRuleRecord]:
        items, token = _query(self.table, RULES, limit=limit, next_token=next_token)
        return Page([_rule(i) for i in items], token)
