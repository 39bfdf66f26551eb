"""The alert pipeline's stores on the monitoring table: dedup state, alarm timelines, incidents
and correlation groups. Key design (see docs/noise-reduction.md, "Storage"):

- alert state: pk `ALERT#<source>#<fingerprint>`, sk `S`; while flapping also
  gsi1 `ALERT_FLAPPING` / `<last_change>#<source>#<fingerprint>` (the settle sweep's list).
- timeline entry: pk `ALARM#<alarm id>`, sk `T#<at>#<nnn>#<kind>`.
- incident member: pk `INCIDENT#<id>`, sk `ALARM#<alarm id>` (one item per alarm; no index).
- incident: pk `INCIDENT#<id>`, sk `I`; gsi1 `INCIDENTS#<day>` and
  gsi3 `INCIDENT_ST#<status>#<day>`, both sorted by `<opened_at>#<id>` (day of `opened_at`).
- correlation group: pk `CGROUP#<key>`, sk `G`; while pending also
  gsi1 `CGROUP_PENDING` / `<first_at>#<key>`. It keeps at most 20 of its resources (a sample).
- group resource: pk `CGROUP#<key>`, sk `R#<resource>`; gsi2 `CGROUP_RES#<resource>` /
  `<key>`, one per resource of a group that is not closed (every one: the full set lives
  here, not on the group item), stamped with the group's `first_at`.

Timeline entries live in their alarm's partition (next to the alarm item, sk `A`), so a timeline
is one Query. Times are stored as fixed-width RFC 3339 UTC strings with microseconds, so string
order is time order (the repeat condition `last_seen < :t` compares them). A closed group gets
`expires_at` (TTL) and loses its resource items: only live groups are found by resource.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import suppress
from datetime import datetime, timedelta
from typing import Any

from omp.adapters.dynamo import (
    ConditionFailed,
    batch_get,
    batch_write,
    call,
    day_partitions,
    from_item,
    list_newest_first,
    to_item,
)
from omp.adapters.dynamo_timeline import parse_ts as _dt
from omp.adapters.dynamo_timeline import timeline_entry, timeline_item, timeline_sk, ts
from omp.analytics.correlation import Group, Pending, sample_resources
from omp.domain.alarms import Severity
from omp.domain.dedup import AlertState, AlertStatus, RepeatUpdate, TimelineEntry
from omp.domain.errors import BadRequest, Conflict, NotFound
from omp.domain.incidents import (
    Incident,
    IncidentAlarm,
    IncidentStatus,
    IncidentTimelineEntry,
    alarm_dict,
)
from omp.domain.pagination import DEFAULT_LIMIT, Page, decode_token, encode_token, merge_keyed
from omp.domain.queries import TimeRange
from omp.domain.timeutil import iso, utc

FLAPPING = "ALERT_FLAPPING"
PENDING = "CGROUP_PENDING"
DEFAULT_CLOSED_GROUP_TTL = timedelta(days=7)
_TRANSACT_MAX = 100


def _opt_dt(value: Any) -> datetime | None:
    return None if value is None else _dt(value)


def _invalid_token() -> BadRequest:
    return BadRequest("next_token is not a token this API issued", code="INVALID_NEXT_TOKEN")


def _start_key(token: str, pk: str, sk_prefix: str) -> dict[str, Any]:
    """The ExclusiveStartKey inside a token of a base-table query of partition `pk`."""
    key = decode_token(token, required_keys=("k",))["k"]
    if (
        not isinstance(key, dict)
        or set(key) != {"pk", "sk"}
        or key["pk"] != {"S": pk}
        or not isinstance(key["sk"], dict)
        or not str(key["sk"].get("S", "")).startswith(sk_prefix)
    ):
        raise _invalid_token()
    return key


# A timeline entry's sort key (`timeline_sk`): a token names one, nothing else reaches a Query.
_SK = re.compile(r"T#\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z#\d{3}#[a-z_]{1,64}")


def _timeline_after(token: str, alarm_id: str) -> str:
    """The key a timeline token resumes after. Tokens issued before the people entries moved
        onto the alarm item held DynamoDB's LastEvaluatedKey (`k`); they still resume. Another
    alarm's token is a 400, never a page of this one."""
    state = decode_token(token, required_keys=())
    if "k" in state:
        return str(_start_key(token, f"ALARM#{alarm_id}", "T#")["sk"]["S"])
    after = state.get("after")
    if state.get("alarm") != alarm_id or not isinstance(after, str) or not _SK.fullmatch(after):
        raise _invalid_token()
    return after


def _check_index_token(token: str | None, index: str, partitions: list[str]) -> None:
    """A `list_newest_first` token must name one of this listing's partitions and a key of
    its index: another listing's token is a 400, never a silent empty page or a 500."""
    if not token:
        return
    state = decode_token(token, required_keys=("d", "k"))
    key = state["k"]
    if state["d"] not in partitions:
        raise _invalid_token()
    if key is None:
        return
    attrs = {"pk", "sk", f"{index}pk", f"{index}sk"}
    if not isinstance(key, dict) or set(key) != attrs or key[f"{index}pk"] != {"S": state["d"]}:
        raise _invalid_token()


# ---- alert state and timeline ---------------------------------------------------------------


def _alert_pk(source: str, fingerprint: str) -> str:
    if "#" in source or not source or not fingerprint:
        raise ValueError("a source is non-empty and has no '#'; a fingerprint is non-empty")
    return f"ALERT#{source}#{fingerprint}"


def _state_item(state: AlertState) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": _alert_pk(state.source, state.fingerprint),
        "sk": "S",
        "source": state.source,
        "fingerprint": state.fingerprint,
        "alarm_id": state.alarm_id,
        "status": state.status.value,
        "occurrences": state.occurrences,
        "first_seen": ts(state.first_seen),
        "last_seen": ts(state.last_seen),
        "last_change": ts(state.last_change),
        "flapping": state.flapping,
        "suppressed": state.suppressed,
        "changes": [ts(c) for c in state.changes],
        "version": state.version,
    }
    if state.flapping:
        item |= {
            "gsi1pk": FLAPPING,
            "gsi1sk": f"{ts(state.last_change)}#{state.source}#{state.fingerprint}",
        }
    return item


def _state(values: dict[str, Any]) -> AlertState:
    return AlertState(
        source=str(values["source"]),
        fingerprint=str(values["fingerprint"]),
        alarm_id=str(values["alarm_id"]),
        status=AlertStatus(values["status"]),
        occurrences=int(values["occurrences"]),
        first_seen=_dt(values["first_seen"]),
        last_seen=_dt(values["last_seen"]),
        last_change=_dt(values["last_change"]),
        flapping=bool(values.get("flapping", False)),
        suppressed=bool(values.get("suppressed", False)),
        changes=tuple(_dt(c) for c in values.get("changes", [])),
        version=int(values["version"]),
    )


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class DynamoAlertStateStore:
    def __init__(self, table: str) -> None:
        self.table = table

    def get(self, source: str, fingerprint: str) -> AlertState | None:
        key = {"pk": {"S": _alert_pk(source, fingerprint)}, "sk": {"S": "S"}}
        item = call("get_item", TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        return _state(from_item(item)) if item else None

    def put(
        self,
        state: AlertState,
        expected_version: int | None,
        timeline: Sequence[TimelineEntry] = (),
    ) -> None:
        """One conditional write; with `timeline`, one transaction that also writes those
        entries (keys from the entries, as `append_timeline`): both or neither."""
        put: dict[str, Any] = {"TableName": self.table, "Item": to_item(_state_item(state))}
        if expected_version is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "#version = :expected"
            put["ExpressionAttributeNames"] = {"#version": "version"}
            put["ExpressionAttributeValues"] = {":expected": {"N": str(expected_version)}}
        expected = "no state" if expected_version is None else f"version {expected_version}"
        conflict = Conflict(
            f"the state of {state.source}/{state.fingerprint} is not at {expected}",
            code="VERSION_CONFLICT",
        )
        if timeline:
            entries = [
                {"Put": {"TableName": self.table, "Item": to_item(timeline_item(e, seq))}}
                for seq, e in enumerate(timeline)
            ]
            try:
                call("transact_write_items", TransactItems=[{"Put": put}, *entries])
            except Conflict as cancelled:
                raise conflict from cancelled
            return
        try:
            call("put_item", **put)
        except ConditionFailed as failed:
            raise conflict from failed

    def repeat(self, source: str, fingerprint: str, update: RepeatUpdate) -> bool:
        """Exactly one UpdateItem: `ADD occurrences SET last_seen [, flapping = false]
        [REMOVE the flapping index keys]` on `alarm_id = :id AND last_seen < :t AND status IN`."""
        statuses = [s.value for s in update.expected_status]
        expression = "ADD #occurrences :n SET #last_seen = :t"
        if update.clear_flapping:
            expression += ", #flapping = :false REMOVE gsi1pk, gsi1sk"
        sources = ", ".join(f":s{i}" for i in range(len(statuses)))
        names = {
            "#occurrences": "occurrences",
            "#last_seen": "last_seen",
            "#alarm_id": "alarm_id",
            "#status": "status",
        }
        values: dict[str, Any] = {
            ":n": update.add_occurrences,
            ":t": ts(update.last_seen),
            ":alarm_id": update.alarm_id,
        } | {f":s{i}": s for i, s in enumerate(statuses)}
        if update.clear_flapping:
            names["#flapping"] = "flapping"
            values[":false"] = False
        key = {"pk": {"S": _alert_pk(source, fingerprint)}, "sk": {"S": "S"}}
        try:
            call(
                "update_item",
                TableName=self.table,
                Key=key,
                UpdateExpression=expression,
                ConditionExpression=(
                    f"#alarm_id = :alarm_id AND #last_seen < :t AND #status IN ({sources})"
                ),
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_item(values),
            )
        except ConditionFailed:
            return False
        return True

    def append_timeline(self, entries: Sequence[TimelineEntry]) -> None:
        """The entries of one decision in one write (a transaction when there are several, so
        they appear together). Keys derive from the entries: a retry overwrites, never adds."""
        items = {}
        for seq, entry in enumerate(entries):
            item = timeline_item(entry, seq)
            items[(item["pk"], item["sk"])] = item
        if len(items) == 1:
            call("put_item", TableName=self.table, Item=to_item(next(iter(items.values()))))
            return
        for chunk in _chunks(list(items.values()), _TRANSACT_MAX):
            call(
                "transact_write_items",
                TransactItems=[
                    {"Put": {"TableName": self.table, "Item": to_item(i)}} for i in chunk
                ],
            )

    def timeline(
        self,
        alarm_id: str,
        limit: int = DEFAULT_LIMIT,
        next_token: str | None = None,
        people: Sequence[TimelineEntry] = (),
    ) -> Page[TimelineEntry]:
        """The `T#` items of the alarm's partition merged, in key order, with `people`: the
        API's acknowledge/resolve entries, which live on the alarm item (`DynamoAlarmRepository.
        change_status`). A `T#` item with the same key wins: it is the same change, written
        again with its occurrences by `put`. The token is the key of the last entry given."""
        after = _timeline_after(next_token, alarm_id) if next_token else "T#"
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :p AND sk BETWEEN :after AND :end",
            "ExpressionAttributeValues": {
                ":p": {"S": f"ALARM#{alarm_id}"},
                ":after": {"S": after},
                ":end": {"S": "T$"},  # "$" follows "#": every key that begins with "T#"
            },
            "ScanIndexForward": True,
            "Limit": limit + 1,  # BETWEEN includes `after` itself, which is skipped
        }
        stored: list[tuple[str, TimelineEntry]] = []
        while True:
            page = call("query", **kwargs)
            stored += [
                (str(v["sk"]), timeline_entry(v))
                for v in map(from_item, page.get("Items", []))
                if str(v["sk"]) > after
            ]
            last = page.get("LastEvaluatedKey")
            if stored or not last:
                break
            kwargs["ExclusiveStartKey"] = last
        more = bool(last) or len(stored) > limit
        keyed_people = [(timeline_sk(e, 0), e) for e in people]
        items, resume = merge_keyed(stored[:limit], more, keyed_people, after=after, limit=limit)
        return Page(items, encode_token({"alarm": alarm_id, "after": resume}) if resume else None)

    def flapping(
        self, limit: int = DEFAULT_LIMIT, next_token: str | None = None
    ) -> Page[AlertState]:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :p",
            "ExpressionAttributeValues": {":p": {"S": FLAPPING}},
            "ScanIndexForward": True,
            "Limit": limit,
        }
        if next_token:
            key = decode_token(next_token, required_keys=("k",))["k"]
            if (
                not isinstance(key, dict)
                or set(key) != {"pk", "sk", "gsi1pk", "gsi1sk"}
                or key["gsi1pk"] != {"S": FLAPPING}
            ):
                raise _invalid_token()
            kwargs["ExclusiveStartKey"] = key
        page = call("query", **kwargs)
        last = page.get("LastEvaluatedKey")
        return Page(
            [_state(from_item(i)) for i in page.get("Items", [])],
            encode_token({"k": last}) if last else None,
        )


# ---- incidents ------------------------------------------------------------------------------


def _incident_key(incident_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"INCIDENT#{incident_id}"}, "sk": {"S": "I"}}


def _member_from(v: dict[str, Any]) -> IncidentAlarm:
    return IncidentAlarm(
        alarm_id=str(v["alarm_id"]),
        severity=Severity(v["severity"]),
        resource=None if v.get("resource") is None else str(v["resource"]),
        name=str(v.get("name", "")),
        resolved=bool(v.get("resolved", False)),
    )


def _incident_item(incident: Incident) -> dict[str, Any]:
    """The summary only: members are items of their own (`_member_item`), so the incident
    item stays small (about 1 KB) whatever the number of its alarms."""
    day = utc(incident.opened_at).strftime("%Y-%m-%d")
    sort = f"{iso(incident.opened_at)}#{incident.id}"
    item: dict[str, Any] = {
        "pk": f"INCIDENT#{incident.id}",
        "sk": "I",
        "id": incident.id,
        "status": incident.status.value,
        "title": incident.title,
        "group_key": incident.group_key,
        "rule": incident.rule,
        "severity": incident.severity.value,  # derived; stored for filters and reading by eye
        "opened_at": ts(incident.opened_at),
        "updated_at": ts(incident.updated_at),
        "alarm_count": incident.alarm_count,
        "open_alarm_count": incident.open_alarm_count,
        "severity_counts": dict(incident.severity_counts),
        "resources": dict(incident.resources),
        "resources_truncated": incident.resources_truncated,
        "timeline": [
            {
                k: v
                for k, v in {
                    "at": ts(e.at),
                    "kind": e.kind,
                    "actor": e.actor,
                    "alarm_id": e.alarm_id,
                    "note": e.note,
                }.items()
                if v is not None
            }
            for e in incident.timeline
        ],
        "acknowledged_at": ts(incident.acknowledged_at) if incident.acknowledged_at else None,
        "acknowledged_by": incident.acknowledged_by,
        "resolved_at": ts(incident.resolved_at) if incident.resolved_at else None,
        "resolved_by": incident.resolved_by,
        "merged_into": incident.merged_into,
        "version": incident.version,
        "gsi1pk": f"INCIDENTS#{day}",
        "gsi1sk": sort,
        "gsi3pk": f"INCIDENT_ST#{incident.status.value}#{day}",
        "gsi3sk": sort,
    }
    return item


def _incident(v: dict[str, Any]) -> Incident:
    def opt(name: str) -> str | None:
        return None if v.get(name) is None else str(v[name])

    return Incident(
        id=str(v["id"]),
        status=IncidentStatus(v["status"]),
        title=str(v["title"]),
        group_key=str(v["group_key"]),
        opened_at=_dt(v["opened_at"]),
        updated_at=_dt(v["updated_at"]),
        alarm_count=int(v.get("alarm_count", 0)),
        open_alarm_count=int(v.get("open_alarm_count", 0)),
        severity_counts={str(k): int(n) for k, n in (v.get("severity_counts") or {}).items()},
        resources={str(k): int(n) for k, n in (v.get("resources") or {}).items()},
        resources_truncated=bool(v.get("resources_truncated", False)),
        timeline=tuple(
            IncidentTimelineEntry(
                at=_dt(e["at"]),
                kind=str(e["kind"]),
                actor=str(e["actor"]),
                alarm_id=None if e.get("alarm_id") is None else str(e["alarm_id"]),
                note=str(e.get("note", "")),
            )
            for e in v.get("timeline", [])
        ),
        rule=str(v.get("rule", "")),
        acknowledged_at=_opt_dt(v.get("acknowledged_at")),
        acknowledged_by=opt("acknowledged_by"),
        resolved_at=_opt_dt(v.get("resolved_at")),
        resolved_by=opt("resolved_by"),
        merged_into=opt("merged_into"),
        version=int(v["version"]),
    )


def _put_incident(table: str, incident: Incident, expected_version: int | None) -> dict[str, Any]:
    """The PutItem arguments of one conditional incident write."""
    kwargs: dict[str, Any] = {"TableName": table, "Item": to_item(_incident_item(incident))}
    if expected_version is None:
        kwargs["ConditionExpression"] = "attribute_not_exists(pk)"
    else:
        kwargs["ConditionExpression"] = "#version = :expected"
        kwargs["ExpressionAttributeNames"] = {"#version": "version"}
        kwargs["ExpressionAttributeValues"] = {":expected": {"N": str(expected_version)}}
    return kwargs


MEMBER = "ALARM#"  # a member's sort key prefix, in its incident's partition
_MOVE_CHUNK = 49  # members a merge relocates per transaction: a delete and a put each
_MOVE_RETRIES = 5


def _member_key(incident_id: str, alarm_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"INCIDENT#{incident_id}"}, "sk": {"S": f"{MEMBER}{alarm_id}"}}


def _member_item(incident_id: str, a: IncidentAlarm) -> dict[str, Any]:
    values = {k: v for k, v in alarm_dict(a).items() if v is not None}
    return {"pk": f"INCIDENT#{incident_id}", "sk": f"{MEMBER}{a.alarm_id}"} | values


def _put_member(table: str, incident_id: str, a: IncidentAlarm, new: bool) -> dict[str, Any]:
    put: dict[str, Any] = {"TableName": table, "Item": to_item(_member_item(incident_id, a))}
    if new:
        put["ConditionExpression"] = "attribute_not_exists(pk)"
    return put


def _update_member(table: str, incident_id: str, a: IncidentAlarm) -> dict[str, Any]:
    return {
        "TableName": table,
        "Key": _member_key(incident_id, a.alarm_id),
        "UpdateExpression": "SET resolved = :r",
        "ConditionExpression": "attribute_exists(pk)",
        "ExpressionAttributeValues": {":r": {"BOOL": a.resolved}},
    }


class DynamoIncidentRepository:
    """Incident summaries (pk `INCIDENT#<id>`, sk `I`) and their members (same partition, sk
    `ALARM#<alarm id>`, one item each, about 150 bytes). A join writes the member on "not
    exists" and the summary on its version in one transaction, so a redelivered join neither
    adds the member twice nor counts it twice, and the summary's counters always match the
    members written."""

    def __init__(self, table: str) -> None:
        self.table = table

    def get(self, incident_id: str) -> Incident | None:
        item = call(
            "get_item", TableName=self.table, Key=_incident_key(incident_id), ConsistentRead=True
        ).get("Item")
        return _incident(from_item(item)) if item else None

    def put_new(self, incident: Incident, alarms: Sequence[IncidentAlarm]) -> None:
        """The incident with its first members in one transaction; members beyond what one
        transaction holds are put first, each on "not exists" (an existing one is left as it
        is: a retry never overwrites a member a later change moved on)."""
        first, rest = alarms[: _TRANSACT_MAX - 1], alarms[_TRANSACT_MAX - 1 :]
        for a in rest:
            with suppress(ConditionFailed):
                call("put_item", **_put_member(self.table, incident.id, a, new=True))
        items = [{"Put": _put_incident(self.table, incident, None)}]
        items += [{"Put": _put_member(self.table, incident.id, a, new=True)} for a in first]
        try:
            call("transact_write_items", TransactItems=items)
        except Conflict as failed:
            if self.get(incident.id) is None:
                raise  # a member exists without its incident: not ours to paper over
            raise Conflict(
                f"incident {incident.id} already exists", code="INCIDENT_EXISTS"
            ) from failed

    def save(self, incident: Incident, expected_version: int) -> None:
        try:
            call(
                "put_item",
                **_put_incident(self.table, incident, expected_version),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ConditionFailed as failed:
            if not failed.item:
                raise NotFound(
                    f"incident {incident.id} does not exist", code="INCIDENT_NOT_FOUND"
                ) from failed
            current = int(failed.item["version"]["N"])
            raise Conflict(
                f"incident {incident.id} is at version {current}, not {expected_version}",
                code="VERSION_CONFLICT",
                details={"version": current},
            ) from failed

    def add_alarm(self, incident: Incident, expected_version: int, alarm: IncidentAlarm) -> bool:
        items = [
            {"Put": _put_member(self.table, incident.id, alarm, new=True)},
            {"Put": _put_incident(self.table, incident, expected_version)},
        ]
        try:
            call("transact_write_items", TransactItems=items)
        except Conflict as failed:
            # Read only on failure: the member already there is a redelivered join.
            if self.alarm(incident.id, alarm.alarm_id) is not None:
                return False
            raise Conflict(
                f"incident {incident.id} changed since it was read", code="VERSION_CONFLICT"
            ) from failed
        return True

    def update_alarm(
        self,
        incident: Incident,
        expected_version: int,
        alarm: IncidentAlarm,
        holder_id: str | None = None,
    ) -> None:
        items = [
            {"Update": _update_member(self.table, holder_id or incident.id, alarm)},
            {"Put": _put_incident(self.table, incident, expected_version)},
        ]
        try:
            call("transact_write_items", TransactItems=items)
        except Conflict as failed:
            raise Conflict(
                f"incident {incident.id} or its alarm {alarm.alarm_id} changed since read",
                code="VERSION_CONFLICT",
            ) from failed

    def alarm(self, incident_id: str, alarm_id: str) -> IncidentAlarm | None:
        item = call(
            "get_item",
            TableName=self.table,
            Key=_member_key(incident_id, alarm_id),
            ConsistentRead=True,
        ).get("Item")
        return _member_from(from_item(item)) if item else None

    def alarms_of(self, incident_id: str, alarm_ids: Sequence[str]) -> dict[str, IncidentAlarm]:
        keys = [_member_key(incident_id, a) for a in dict.fromkeys(alarm_ids)]
        members = (_member_from(i) for i in batch_get(self.table, keys, consistent=True))
        return {m.alarm_id: m for m in members}

    def alarms(
        self, incident_id: str, limit: int = DEFAULT_LIMIT, next_token: str | None = None
    ) -> Page[IncidentAlarm]:
        pk = f"INCIDENT#{incident_id}"
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :p AND begins_with(sk, :m)",
            "ExpressionAttributeValues": {":p": {"S": pk}, ":m": {"S": MEMBER}},
            "Limit": limit,
        }
        if next_token:
            kwargs["ExclusiveStartKey"] = _start_key(next_token, pk, MEMBER)
        page = call("query", **kwargs)
        last = page.get("LastEvaluatedKey")
        return Page(
            [_member_from(from_item(i)) for i in page.get("Items", [])],
            encode_token({"k": last}) if last else None,
        )

    def save_all(self, writes: Sequence[tuple[Incident, int | None]]) -> None:
        if len(writes) > _TRANSACT_MAX:
            raise ValueError(f"at most {_TRANSACT_MAX} incidents in one transaction")
        items = []
        for incident, expected in writes:
            items.append({"Put": _put_incident(self.table, incident, expected)})
        call("transact_write_items", TransactItems=items)

    def split(
        self,
        remaining: Incident,
        expected_version: int,
        new: Incident,
        moving: Sequence[IncidentAlarm],
    ) -> None:
        if 2 + 2 * len(moving) > _TRANSACT_MAX:
            raise ValueError("too many alarms for one split transaction")
        items: list[dict[str, Any]] = [
            {"Put": _put_incident(self.table, remaining, expected_version)},
            {"Put": _put_incident(self.table, new, None)},
        ]
        for a in moving:
            items.append(
                {
                    "Delete": {
                        "TableName": self.table,
                        "Key": _member_key(remaining.id, a.alarm_id),
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                }
            )
            items.append({"Put": _put_member(self.table, new.id, a, new=True)})
        call("transact_write_items", TransactItems=items)

    def move_alarms(self, source_id: str, target_id: str) -> int:
        """Chunks of 49 members: each deleted from the source on the `resolved` value read (a
        resolve racing the move fails the chunk, which is read again) and put in the target,
        in one transaction. The source's partition shrinks as chunks commit, so a retry after
        a crash goes on where the first attempt stopped."""
        moved = failures = 0
        while True:
            page = self.alarms(source_id, limit=_MOVE_CHUNK)
            if not page.items:
                return moved
            items: list[dict[str, Any]] = []
            for a in page.items:
                items.append(
                    {
                        "Delete": {
                            "TableName": self.table,
                            "Key": _member_key(source_id, a.alarm_id),
                            "ConditionExpression": "resolved = :r",
                            "ExpressionAttributeValues": {":r": {"BOOL": a.resolved}},
                        }
                    }
                )
                items.append({"Put": _put_member(self.table, target_id, a, new=False)})
            try:
                call("transact_write_items", TransactItems=items)
            except Conflict:
                failures += 1
                if failures >= _MOVE_RETRIES:
                    raise
                continue
            moved += len(page.items)

    def list(
        self,
        window: TimeRange,
        status: IncidentStatus | None = None,
        limit: int = DEFAULT_LIMIT,
        next_token: str | None = None,
    ) -> Page[Incident]:
        if status is None:
            index, partitions = "gsi1", day_partitions("INCIDENTS", window)
        else:
            index, partitions = "gsi3", day_partitions(f"INCIDENT_ST#{status.value}", window)
        _check_index_token(next_token, index, partitions)
        page = list_newest_first(
            table=self.table,
            index=index,
            partitions=partitions,
            window=window,
            limit=limit,
            next_token=next_token,
        )
        return Page([_incident(v) for v in page.items], page.next_token)


# ---- correlation groups ---------------------------------------------------------------------


def _group_pk(key: str) -> str:
    return f"CGROUP#{key}"


def _group_item(group: Group, closed_ttl: timedelta) -> dict[str, Any]:
    item: dict[str, Any] = {
        "pk": _group_pk(group.key),
        "sk": "G",
        "key": group.key,
        "rule": group.rule,
        "first_at": ts(group.first_at),
        "last_at": ts(group.last_at),
        "size": group.size,
        "resources": sorted(group.resources),
        "resources_truncated": group.resources_truncated,
        "incident_id": group.incident_id,
        "pending": [
            {
                "alarm_id": p.alarm_id,
                "at": ts(p.at),
                "alarm": {k: v for k, v in alarm_dict(p.alarm).items() if v is not None},
            }
            for p in group.pending
        ],
        "closed": group.closed,
    }
    if group.is_pending:
        item |= {"gsi1pk": PENDING, "gsi1sk": f"{ts(group.first_at)}#{group.key}"}
    if group.closed:
        item["expires_at"] = int((utc(group.last_at) + closed_ttl).timestamp())
    return item


def _group(v: dict[str, Any]) -> Group:
    # An item written before the sample (every resource in the list) reads as its sample; its
    # resource items already index them all, and the next save writes the small item.
    resources, truncated = sample_resources(
        frozenset(), bool(v.get("resources_truncated", False)), map(str, v.get("resources", []))
    )
    return Group(
        key=str(v["key"]),
        rule=str(v["rule"]),
        first_at=_dt(v["first_at"]),
        last_at=_dt(v["last_at"]),
        size=int(v["size"]),
        resources=resources,
        resources_truncated=truncated,
        incident_id=None if v.get("incident_id") is None else str(v["incident_id"]),
        pending=tuple(
            Pending(alarm_id=str(p["alarm_id"]), at=_dt(p["at"]), alarm=_member_from(p["alarm"]))
            for p in v.get("pending", [])
        ),
        closed=bool(v.get("closed", False)),
    )


def _query_all(**kwargs: Any) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = call("query", **kwargs)
        items.extend(page.get("Items", []))
        last = page.get("LastEvaluatedKey")
        if not last:
            return items
        kwargs["ExclusiveStartKey"] = last


class DynamoCorrelationGroupStore:
    """Correlation groups (a `GroupView`). The group item keeps a sample of its resources (at
    most `MAX_GROUP_RESOURCES`), so it stays small however many distinct resources a storm
    brings; every resource of a live group has an item of its own in the group's partition,
    indexed by resource (gsi2), so `groups_with_resource` is a Query and a BatchGetItem. A save
    writes only the resource items its decision adds; a closed group has none and expires
    (`expires_at`, `closed_ttl` after its last alarm).

    `save` is last-writer-wins, like `MemoryGroupStore`: process one group key at a time (one
    consumer, or an SQS FIFO message group per key)."""

    def __init__(self, table: str, closed_ttl: timedelta = DEFAULT_CLOSED_GROUP_TTL) -> None:
        self.table = table
        self.closed_ttl = closed_ttl

    def group(self, key: str) -> Group | None:
        item = call(
            "get_item",
            TableName=self.table,
            Key={"pk": {"S": _group_pk(key)}, "sk": {"S": "G"}},
            ConsistentRead=True,
        ).get("Item")
        return _group(from_item(item)) if item else None

    def groups_with_resource(self, resource: str) -> Iterable[Group]:
        """The live groups whose resource item names `resource`. An item counts only for the
        group of its `first_at` (a later group under the same key is another group, and a
        closing that crashed can leave an earlier one's items); items written before the stamp
        (no `first_at`) count for the live group."""
        pointers = _query_all(
            TableName=self.table,
            IndexName="gsi2",
            KeyConditionExpression="gsi2pk = :p",
            ExpressionAttributeValues={":p": {"S": f"CGROUP_RES#{resource}"}},
        )
        stamps: dict[str, set[str | None]] = {}
        for p in map(from_item, pointers):
            first_at = p.get("first_at")
            stamps.setdefault(str(p["key"]), set()).add(None if first_at is None else str(first_at))
        return [
            g
            for g in self._batch_get(sorted(stamps))
            if not g.closed and (None in stamps[g.key] or ts(g.first_at) in stamps[g.key])
        ]

    def _batch_get(self, keys: Sequence[str]) -> list[Group]:
        items = batch_get(self.table, [{"pk": {"S": _group_pk(k)}, "sk": {"S": "G"}} for k in keys])
        return sorted((_group(i) for i in items), key=lambda g: g.key)

    def save(self, group: Group, new_resources: Iterable[str] | None = None) -> None:
        """A live group: the resource items of `new_resources` (None: of `group.resources`), then
        the group. Puts are whole-item and derived from the group, so a retry repeats them
        harmlessly; a crash between them leaves extra items, which find the group only if it
        is the same group (same `first_at`), for a resource its alarm was correlated on. A
        closed group: the group, then every resource item of the partition deleted (paged), so
        a resource's index partition holds only live groups."""
        pk = _group_pk(group.key)
        item = to_item(_group_item(group, self.closed_ttl))
        if group.closed:
            call("put_item", TableName=self.table, Item=item)
            present = _query_all(
                TableName=self.table,
                KeyConditionExpression="pk = :p AND begins_with(sk, :r)",
                ExpressionAttributeValues={":p": {"S": pk}, ":r": {"S": "R#"}},
                ProjectionExpression="pk, sk",
                ConsistentRead=True,
            )
            batch_write(
                self.table,
                [{"DeleteRequest": {"Key": {"pk": i["pk"], "sk": i["sk"]}}} for i in present],
            )
            return
        added = sorted(set(group.resources if new_resources is None else new_resources))
        first_at = ts(group.first_at)
        batch_write(
            self.table,
            [
                {
                    "PutRequest": {
                        "Item": to_item(
                            {
                                "pk": pk,
                                "sk": f"R#{r}",
                                "key": group.key,
                                "first_at": first_at,
                                "gsi2pk": f"CGROUP_RES#{r}",
                                "gsi2sk": group.key,
                            }
                        )
                    }
                }
                for r in added
            ],
        )
        call("put_item", TableName=self.table, Item=item)

    def delete(self, key: str) -> None:
        items = _query_all(
            TableName=self.table,
            KeyConditionExpression="pk = :p",
            ExpressionAttributeValues={":p": {"S": _group_pk(key)}},
            ProjectionExpression="pk, sk",
            ConsistentRead=True,
        )
        batch_write(
            self.table, [{"DeleteRequest": {"Key": {"pk": i["pk"], "sk": i["sk"]}}} for i in items]
        )

    def pending(self) -> list[Group]:
        items = _query_all(
            TableName=self.table,
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :p",
            ExpressionAttributeValues={":p": {"S": PENDING}},
        )
        return [g for g in (_group(from_item(i)) for i in items) if g.is_pending]
