"""The security table: the audit log and hashed API keys.

Audit: pk `AUDIT#<event id>`, sk `E`; gsi1 `AUDIT#<day>` / `<time>#<event id>`.
API keys: pk `APIKEY#<sha256 of the key>`, sk `K`. The key itself is never stored.
"""

from __future__ import annotations

from typing import Any

from omp.adapters.dynamo import (
    ConditionFailed,
    call,
    day_partitions,
    from_item,
    list_newest_first,
    to_item,
)
from omp.domain.audit import AuditEntry, AuditQuery
from omp.domain.pagination import Page

_AUDIT_FIELDS = set(AuditEntry.model_fields)


class DynamoAuditLog:
    def __init__(self, table: str) -> None:
        self.table = table

    def record(self, entry: AuditEntry) -> bool:
        values = entry.model_dump(mode="json")
        item = {
            "pk": f"AUDIT#{entry.event_id}",
            "sk": "E",
            "gsi1pk": f"AUDIT#{entry.time[:10]}",
            "gsi1sk": f"{entry.time}#{entry.event_id}",
            **values,
        }
        try:
            call(
                "put_item",
                TableName=self.table,
                Item=to_item(item),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ConditionFailed:
            return False  # a redelivery of an event already recorded
        return True

    def list(self, query: AuditQuery) -> Page[AuditEntry]:
        clauses, values, names = [], {}, {}
        if query.source:
            clauses.append("#source = :source")
            names["#source"], values[":source"] = "source", query.source
        if query.detail_type:
            clauses.append("#detail_type = :detail_type")
            names["#detail_type"], values[":detail_type"] = "detail_type", query.detail_type
        page = list_newest_first(
            table=self.table,
            index="gsi1",
            partitions=day_partitions("AUDIT", query.window),
            window=query.window,
            limit=query.limit,
            next_token=query.next_token,
            filter_expression=" AND ".join(clauses) or None,
            names=names,
            values=values,
        )
        return Page(
            [
                AuditEntry.model_validate({k: v for k, v in i.items() if k in _AUDIT_FIELDS})
                for i in page.items
            ],
            page.next_token,
        )


class DynamoApiKeyStore:
    def __init__(self, table: str) -> None:
        self.table = table

    def find(self, key_hash: str) -> dict[str, Any] | None:
        item = call(
            "get_item",
            TableName=self.table,
            Key={"pk": {"S": f"APIKEY#{key_hash}"}, "sk": {"S": "K"}},
        ).get("Item")
        return from_item(item) if item else None

    def put(self, key_hash: str, record: dict[str, Any]) -> None:
        call(
            "put_item",
            TableName=self.table,
            Item=to_item({"pk": f"APIKEY#{key_hash}", "sk": "K", **record}),
        )
