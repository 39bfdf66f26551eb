"""Notification state on the monitoring table (see docs/notifications.md, "Storage"):

- routing configuration: pk `NOTIFY_CONFIG`, sk `C`: the config as JSON, `version`.
- aggregation group: pk `NGROUP#<group id>`, sk `G`: key, receiver, settings, timer
  (`created_at`, `next_flush_at`, `flushed`), the per-integration notification log (`logs`,
  JSON), `version` (the flusher's claim), `alerts_rev` (bumped by every alert change);
  gsi1 `NGROUP_DUE` / `<next_flush_at>#<group id>`: the flusher's list of due groups.
- group alert: pk `NGROUP#<group id>`, sk `A#<alarm id>`: the alert as JSON, `status`,
  `changed_at` (the alarm's `updated_at`: an older event never overwrites a newer one).
- notification log entry: pk `NOTIFICATION#<id>`, sk `N`; gsi1 `NOTIFICATIONS#<day>` /
  `<at>#<id>`; expires after 30 days (TTL).
- escalation policy: pk `ESCPOLICY#<id>`, sk `P`; gsi1 `ESCPOLICIES` / `<created_at>#<id>`.
- escalation of an incident: pk `ESCALATION#<incident id>`, sk `E`; while active gsi1
  `ESCALATION_DUE` / `<next_at>#<incident id>`.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from omp.adapters.dynamo import ConditionFailed, call, from_item, list_newest_first, to_item
from omp.adapters.dynamo_documents import VersionedDocument
from omp.adapters.dynamo_timeline import ts
from omp.domain.errors import BadRequest, Conflict, NotFound
from omp.domain.notify_config import EscalationPolicy, NotificationQuery, NotificationRecordView
from omp.domain.pagination import Page, decode_token, encode_token
from omp.domain.queries import TimeRange
from omp.domain.timeutil import parse

# The engine's types (groups, running escalations) are imported where they are built: the
# configuration, policy and log functions use this module without the engine.
if TYPE_CHECKING:
    from omp.domain.notifications import Escalation, NotifyAlert
    from omp.domain.routing import NotificationRecord

CONFIG_PK = "NOTIFY_CONFIG"
DUE = "NGROUP_DUE"
ESC_DUE = "ESCALATION_DUE"
POLICIES = "ESCPOLICIES"
LOG_TTL = timedelta(days=30)
DROPPED = "dropped"  # a resolved alert that was notified and left its group (a tombstone)
TOMBSTONE_TTL = timedelta(days=4)  # SQS keeps a message at most 4 days by default


def _dt(value: Any) -> datetime:
    return parse(str(value))


# ---- configuration --------------------------------------------------------------------------


class DynamoNotificationConfigStore(VersionedDocument):
    def __init__(self, table: str) -> None:
        super().__init__(table, {"pk": CONFIG_PK, "sk": "C"}, "the notification configuration")


# ---- aggregation groups ---------------------------------------------------------------------


@dataclass(frozen=True)
class StoredGroup:
    group_id: str
    group_key: str
    receiver: str
    route_id: str
    group_labels: dict[str, str]
    settings: dict[str, Any]  # group_wait/group_interval/repeat_interval seconds, intervals
    created_at: datetime
    next_flush_at: datetime
    flushed: bool
    logs: dict[str, NotificationRecord]
    version: int
    alerts_rev: int
    alerts: tuple[NotifyAlert, ...]


def _logs_json(logs: dict[str, NotificationRecord]) -> str:
    return json.dumps(
        {
            key: {"at": ts(r.at), "firing": sorted(r.firing), "resolved": sorted(r.resolved)}
            for key, r in logs.items()
        },
        sort_keys=True,
    )


def _logs(raw: str) -> dict[str, NotificationRecord]:
    from omp.domain.routing import NotificationRecord

    return {
        key: NotificationRecord(
            at=_dt(r["at"]), firing=frozenset(r["firing"]), resolved=frozenset(r["resolved"])
        )
        for key, r in json.loads(raw or "{}").items()
    }


def _gpk(group_id: str) -> str:
    return f"NGROUP#{group_id}"


class DynamoNotificationGroupStore:
    def __init__(self, table: str) -> None:
        self.table = table

    def put_alert(self, group_id: str, alert: NotifyAlert) -> bool:
        """Store the alert unless the group holds the same or a newer change of it; True when
        something changed (a redelivered event changes nothing)."""
        changed = alert.changed_at.isoformat() if alert.changed_at else ""
        item = {
            "pk": _gpk(group_id),
            "sk": f"A#{alert.alarm_id}",
            "alert": json.dumps(alert.to_dict()),
            "status": alert.status.value,
            "changed_at": changed,
        }
        try:
            call(
                "put_item",
                TableName=self.table,
                Item=to_item(item),
                ConditionExpression=(
                    "attribute_not_exists(pk) OR #c < :c OR (#c = :c AND #s <> :s AND #s <> :d)"
                ),
                ExpressionAttributeNames={"#c": "changed_at", "#s": "status"},
                ExpressionAttributeValues=to_item(
                    {":c": changed, ":s": alert.status.value, ":d": DROPPED}
                ),
            )
        except ConditionFailed:
            return False
        return True

    def touch(
        self,
        *,
        group_id: str,
        group_key: str,
        receiver: str,
        route_id: str,
        group_labels: dict[str, str],
        settings: dict[str, Any],
        now: datetime,
        first_flush_at: datetime,
        due_now: bool,
    ) -> None:
        """After an alert change: create the group (first flush at `first_flush_at`), or bump
        `alerts_rev` (and, for a group never flushed, make it due now when `due_now`)."""
        names = {"#rev": "alerts_rev"}
        values: dict[str, Any] = {":one": 1}
        update = "SET #rev = #rev + :one"
        try:
            call(
                "update_item",
                TableName=self.table,
                Key=to_item({"pk": _gpk(group_id), "sk": "G"}),
                UpdateExpression=update,
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=to_item(values),
            )
        except ConditionFailed:
            item = {
                "pk": _gpk(group_id),
                "sk": "G",
                "group_id": group_id,
                "group_key": group_key,
                "receiver": receiver,
                "route_id": route_id,
                "group_labels": json.dumps(group_labels, sort_keys=True),
                "settings": json.dumps(settings, sort_keys=True),
                "created_at": ts(now),
                "next_flush_at": ts(first_flush_at),
                "flushed": False,
                "logs": "{}",
                "version": 1,
                "alerts_rev": 1,
                "gsi1pk": DUE,
                "gsi1sk": f"{ts(first_flush_at)}#{group_id}",
            }
            try:
                call(
                    "put_item",
                    TableName=self.table,
                    Item=to_item(item),
                    ConditionExpression="attribute_not_exists(pk)",
                )
            except ConditionFailed:
                # A racing consumer created it: bump it instead.
                self.touch(
                    group_id=group_id,
                    group_key=group_key,
                    receiver=receiver,
                    route_id=route_id,
                    group_labels=group_labels,
                    settings=settings,
                    now=now,
                    first_flush_at=first_flush_at,
                    due_now=due_now,
                )
            return
        if due_now:
            with contextlib.suppress(ConditionFailed):  # already flushed, or due already
                call(
                    "update_item",
                    TableName=self.table,
                    Key=to_item({"pk": _gpk(group_id), "sk": "G"}),
                    UpdateExpression="SET #n = :now, gsi1sk = :sk",
                    ConditionExpression="#f = :false AND #n > :now",
                    ExpressionAttributeNames={"#n": "next_flush_at", "#f": "flushed"},
                    ExpressionAttributeValues=to_item(
                        {":now": ts(now), ":false": False, ":sk": f"{ts(now)}#{group_id}"}
                    ),
                )

    def due(self, now: datetime, limit: int = 100) -> list[str]:
        """Ids of groups whose next flush is at or before `now`, earliest first."""
        out: list[str] = []
        start: dict[str, Any] | None = None
        while len(out) < limit:
            kwargs: dict[str, Any] = {
                "TableName": self.table,
                "IndexName": "gsi1",
                "KeyConditionExpression": "gsi1pk = :p AND gsi1sk <= :hi",
                "ExpressionAttributeValues": to_item({":p": DUE, ":hi": ts(now) + "#\uffff"}),
                "Limit": limit - len(out),
            }
            if start:
                kwargs["ExclusiveStartKey"] = start
            page = call("query", **kwargs)
            out.extend(from_item(i)["group_id"] for i in page.get("Items", []))
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        return out

    def load(self, group_id: str) -> StoredGroup | None:
        items: list[dict[str, Any]] = []
        start: dict[str, Any] | None = None
        while True:
            kwargs: dict[str, Any] = {
                "TableName": self.table,
                "KeyConditionExpression": "pk = :p",
                "ExpressionAttributeValues": to_item({":p": _gpk(group_id)}),
                "ConsistentRead": True,
            }
            if start:
                kwargs["ExclusiveStartKey"] = start
            page = call("query", **kwargs)
            items.extend(from_item(i) for i in page.get("Items", []))
            start = page.get("LastEvaluatedKey")
            if not start:
                break
        header = next((i for i in items if i["sk"] == "G"), None)
        if header is None:
            return None
        from omp.domain.notifications import NotifyAlert

        alerts = tuple(
            NotifyAlert.from_dict(json.loads(i["alert"]))
            for i in items
            if i["sk"] != "G" and i.get("status") != DROPPED
        )
        return StoredGroup(
            group_id=group_id,
            group_key=header["group_key"],
            receiver=header["receiver"],
            route_id=header["route_id"],
            group_labels=json.loads(header["group_labels"]),
            settings=json.loads(header["settings"]),
            created_at=_dt(header["created_at"]),
            next_flush_at=_dt(header["next_flush_at"]),
            flushed=bool(header["flushed"]),
            logs=_logs(header.get("logs", "{}")),
            version=int(header["version"]),
            alerts_rev=int(header["alerts_rev"]),
            alerts=alerts,
        )

    def save_timer(
        self,
        group_id: str,
        *,
        next_flush_at: datetime,
        flushed: bool,
        logs: dict[str, NotificationRecord] | None,
        expected_version: int,
    ) -> int:
        """One conditional write of the timer (and the log when given); the new version.
        `Conflict` when the version moved (another flusher claimed the group)."""
        sets = ["#n = :n", "#f = :f", "gsi1sk = :sk", "#v = #v + :one"]
        values: dict[str, Any] = {
            ":n": ts(next_flush_at),
            ":f": flushed,
            ":sk": f"{ts(next_flush_at)}#{group_id}",
            ":one": 1,
            ":v": expected_version,
        }
        names = {"#n": "next_flush_at", "#f": "flushed", "#v": "version"}
        if logs is not None:
            sets.append("#l = :l")
            names["#l"] = "logs"
            values[":l"] = _logs_json(logs)
        call(
            "update_item",
            TableName=self.table,
            Key=to_item({"pk": _gpk(group_id), "sk": "G"}),
            UpdateExpression="SET " + ", ".join(sets),
            ConditionExpression="#v = :v",
            ExpressionAttributeNames=names,
            ExpressionAttributeValues=to_item(values),
        )
        return expected_version + 1

    def drop_resolved(self, group_id: str, alerts: tuple[NotifyAlert, ...], now: datetime) -> None:
        """Resolved alerts that have not changed since they were read leave the group. They stay
        as tombstones for a while (TTL) so that a late, older event of the same alarm (an SQS
        redelivery) cannot bring it back."""
        expires = int((now + TOMBSTONE_TTL).timestamp())
        for alert in alerts:
            changed = alert.changed_at.isoformat() if alert.changed_at else ""
            with contextlib.suppress(ConditionFailed):  # it fired again meanwhile: it stays
                call(
                    "update_item",
                    TableName=self.table,
                    Key=to_item({"pk": _gpk(group_id), "sk": f"A#{alert.alarm_id}"}),
                    UpdateExpression="SET #s = :d, expires_at = :e",
                    ConditionExpression="#s = :r AND #c = :c",
                    ExpressionAttributeNames={"#s": "status", "#c": "changed_at"},
                    ExpressionAttributeValues=to_item(
                        {":r": "resolved", ":c": changed, ":d": DROPPED, ":e": expires}
                    ),
                )

    def delete_if_unchanged(self, group_id: str, alerts_rev: int) -> bool:
        """Delete an emptied group unless an alert arrived since it was read."""
        try:
            call(
                "delete_item",
                TableName=self.table,
                Key=to_item({"pk": _gpk(group_id), "sk": "G"}),
                ConditionExpression="#r = :r",
                ExpressionAttributeNames={"#r": "alerts_rev"},
                ExpressionAttributeValues=to_item({":r": alerts_rev}),
            )
        except ConditionFailed:
            return False
        return True

    def delete(self, group_id: str) -> None:
        """The whole group (its receiver is gone from the configuration)."""
        group = self.load(group_id)
        if group is None:
            return
        for alert in group.alerts:
            call(
                "delete_item",
                TableName=self.table,
                Key=to_item({"pk": _gpk(group_id), "sk": f"A#{alert.alarm_id}"}),
            )
        call("delete_item", TableName=self.table, Key=to_item({"pk": _gpk(group_id), "sk": "G"}))


# ---- the notification log -------------------------------------------------------------------


class DynamoNotificationLog:
    def __init__(self, table: str) -> None:
        self.table = table

    def record(self, entry: NotificationRecordView) -> None:
        at = _dt(entry.at)
        values = entry.model_dump(mode="json")
        item = {
            "pk": f"NOTIFICATION#{entry.id}",
            "sk": "N",
            "data": json.dumps(values),
            "receiver": entry.receiver,
            "status": entry.status.value,
            "kind": entry.kind,
            "incident_id": entry.incident_id,
            "gsi1pk": f"NOTIFICATIONS#{at.strftime('%Y-%m-%d')}",
            "gsi1sk": f"{ts(at)}#{entry.id}",
            "expires_at": int((at + LOG_TTL).timestamp()),
        }
        call("put_item", TableName=self.table, Item=to_item(item))

    def list(self, query: NotificationQuery) -> Page[NotificationRecordView]:
        window = TimeRange(start=query.start, end=query.end)
        clauses: list[str] = []
        values: dict[str, Any] = {}
        for name in ("receiver", "status", "kind", "incident_id"):
            value = getattr(query, name)
            if value is not None:
                clauses.append(f"#{name} = :{name}")
                values[f":{name}"] = str(value)
        page = list_newest_first(
            table=self.table,
            index="gsi1",
            partitions=[f"NOTIFICATIONS#{d}" for d in window.days()],
            window=window,
            limit=query.limit,
            next_token=query.next_token,
            filter_expression=" AND ".join(clauses) or None,
            names={f"#{k[1:]}": k[1:] for k in values},
            values=values,
        )
        return Page(
            [NotificationRecordView.model_validate_json(i["data"]) for i in page.items],
            page.next_token,
        )


# ---- escalation policies and escalations ----------------------------------------------------


def _policy_json(policy: EscalationPolicy) -> str:
    # delays as seconds: pydantic would write ISO 8601 durations, which the model does not read
    data = policy.model_dump(mode="json")
    data["levels"] = [
        {"receivers": list(lv.receivers), "delay": lv.delay.total_seconds()} for lv in policy.levels
    ]
    return json.dumps(data)


class DynamoEscalationStore:
    def __init__(self, table: str) -> None:
        self.table = table

    # policies
    def create_policy(self, policy: EscalationPolicy) -> None:
        item = {
            "pk": f"ESCPOLICY#{policy.id}",
            "sk": "P",
            "data": _policy_json(policy),
            "gsi1pk": POLICIES,
            "gsi1sk": f"{policy.created_at}#{policy.id}",
        }
        try:
            call(
                "put_item",
                TableName=self.table,
                Item=to_item(item),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ConditionFailed as exc:
            raise Conflict(f"policy {policy.id} exists", code="ESCALATION_POLICY_EXISTS") from exc

    def get_policy(self, policy_id: str) -> EscalationPolicy | None:
        key = to_item({"pk": f"ESCPOLICY#{policy_id}", "sk": "P"})
        item = call("get_item", TableName=self.table, Key=key).get("Item")
        return EscalationPolicy.model_validate_json(from_item(item)["data"]) if item else None

    def list_policies(self, limit: int, next_token: str | None) -> Page[EscalationPolicy]:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :p",
            "ExpressionAttributeValues": to_item({":p": POLICIES}),
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if next_token:
            key = decode_token(next_token, required_keys=("k",))["k"]
            if not isinstance(key, dict) or key.get("gsi1pk") != {"S": POLICIES}:
                raise BadRequest(
                    "next_token is not a token this API issued", code="INVALID_NEXT_TOKEN"
                )
            kwargs["ExclusiveStartKey"] = key
        page = call("query", **kwargs)
        items = [EscalationPolicy.model_validate_json(from_item(i)["data"]) for i in page["Items"]]
        last = page.get("LastEvaluatedKey")
        return Page(items, encode_token({"k": last}) if last else None)

    def delete_policy(self, policy_id: str) -> None:
        try:
            call(
                "delete_item",
                TableName=self.table,
                Key=to_item({"pk": f"ESCPOLICY#{policy_id}", "sk": "P"}),
                ConditionExpression="attribute_exists(pk)",
            )
        except ConditionFailed as exc:
            raise NotFound(
                f"no escalation policy {policy_id}", code="ESCALATION_POLICY_NOT_FOUND"
            ) from exc

    # escalations
    def _item(self, esc: Escalation) -> dict[str, Any]:
        item: dict[str, Any] = {
            "pk": f"ESCALATION#{esc.incident_id}",
            "sk": "E",
            "incident_id": esc.incident_id,
            "policy_id": esc.policy_id,
            "step": esc.step,
            "next_at": ts(esc.next_at),
            "active": esc.active,
            "stopped_reason": esc.stopped_reason,
            "version": esc.version,
        }
        if esc.active:
            item |= {"gsi1pk": ESC_DUE, "gsi1sk": f"{ts(esc.next_at)}#{esc.incident_id}"}
        return item

    def start(self, esc: Escalation) -> bool:
        """False when the incident already has one (a redelivered IncidentOpened)."""
        try:
            call(
                "put_item",
                TableName=self.table,
                Item=to_item(self._item(esc)),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ConditionFailed:
            return False
        return True

    def get(self, incident_id: str) -> Escalation | None:
        key = to_item({"pk": f"ESCALATION#{incident_id}", "sk": "E"})
        item = call("get_item", TableName=self.table, Key=key, ConsistentRead=True).get("Item")
        if not item:
            return None
        v = from_item(item)
        from omp.domain.notifications import Escalation

        return Escalation(
            incident_id=v["incident_id"],
            policy_id=v["policy_id"],
            step=int(v["step"]),
            next_at=_dt(v["next_at"]),
            active=bool(v["active"]),
            stopped_reason=v.get("stopped_reason", ""),
            version=int(v["version"]),
        )

    def save(self, esc: Escalation, expected_version: int) -> Escalation:
        """One conditional write; `Conflict` when another sweep moved it first."""
        from dataclasses import replace

        saved = replace(esc, version=expected_version + 1)
        call(
            "put_item",
            TableName=self.table,
            Item=to_item(self._item(saved)),
            ConditionExpression="#v = :v",
            ExpressionAttributeNames={"#v": "version"},
            ExpressionAttributeValues=to_item({":v": expected_version}),
        )
        return saved

    def due(self, now: datetime, limit: int = 100) -> Iterator[str]:
        page = call(
            "query",
            TableName=self.table,
            IndexName="gsi1",
            KeyConditionExpression="gsi1pk = :p AND gsi1sk <= :hi",
            ExpressionAttributeValues=to_item({":p": ESC_DUE, ":hi": ts(now) + "#\uffff"}),
            Limit=limit,
        )
        for item in page.get("Items", []):
            yield from_item(item)["incident_id"]
