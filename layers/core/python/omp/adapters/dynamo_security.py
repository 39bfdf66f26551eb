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
from omp.domain.errors import NotFound
from omp.domain.pagination import Page, decode_token, encode_token

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
    """Keys by hash (what the authorizer reads), a pointer by id (what revoke reads), and the
    listing index gsi1 `INTEGRATION_KEYS` / `<created_at>#<id>`."""

    def __init__(self, table: str) -> None:
        self.table = table

    @staticmethod
    def _key(key_hash: str) -> dict[str, Any]:
        return {"pk": {"S": f"APIKEY#{key_hash}"}, "sk": {"S": "K"}}

    def find(self, key_hash: str) -> dict[str, Any] | None:
        item = call("get_item", TableName=self.table, Key=self._key(key_hash)).get("Item")
        return from_item(item) if item else None

    def put(self, key_hash: str, record: dict[str, Any]) -> None:
        call(
            "put_item",
            TableName=self.table,
            Item=to_item({"pk": f"APIKEY#{key_hash}", "sk": "K", **record}),
        )

    def create(self, key_hash: str, record: dict[str, Any]) -> None:
        listed = {"gsi1pk": "INTEGRATION_KEYS", "gsi1sk": f"{record['created_at']}#{record['id']}"}
        item = {"pk": f"APIKEY#{key_hash}", "sk": "K", **record, **listed}
        pointer = {"pk": f"IKEY#{record['id']}", "sk": "K", "key_hash": key_hash}
        new = "attribute_not_exists(pk)"
        call(
            "transact_write_items",
            TransactItems=[
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": to_item(item),
                        "ConditionExpression": new,
                    }
                },
                {
                    "Put": {
                        "TableName": self.table,
                        "Item": to_item(pointer),
                        "ConditionExpression": new,
                    }
                },
            ],
        )

    def _hash_of(self, key_id: str) -> str | None:
        key = {"pk": {"S": f"IKEY#{key_id}"}, "sk": {"S": "K"}}
        item = call("get_item", TableName=self.table, Key=key).get("Item")
        return str(from_item(item)["key_hash"]) if item else None

    def get(self, key_id: str) -> dict[str, Any] | None:
        key_hash = self._hash_of(key_id)
        return self.find(key_hash) if key_hash else None

    def list(self, limit: int, next_token: str | None) -> Page[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :p",
            "ExpressionAttributeValues": {":p": {"S": "INTEGRATION_KEYS"}},
            "ScanIndexForward": False,
            "Limit": limit,
        }
        if next_token:
            kwargs["ExclusiveStartKey"] = decode_token(next_token, required_keys=("k",))["k"]
        page = call("query", **kwargs)
        last = page.get("LastEvaluatedKey")
        return Page(
            [from_item(i) for i in page.get("Items", [])],
            encode_token({"k": last}) if last else None,
        )

    def revoke(self, key_id: str, changes: dict[str, Any]) -> dict[str, Any]:
        key_hash = self._hash_of(key_id)
        if key_hash is None:
            raise NotFound(f"integration key {key_id} does not exist", code="KEY_NOT_FOUND")
        names = {f"#{k}": k for k in changes}
        values = to_item({f":{k}": v for k, v in changes.items()} | {":no": False})
        try:
            result = call(
                "update_item",
                TableName=self.table,
                Key=self._key(key_hash),
                UpdateExpression="SET " + ", ".join(f"#{k} = :{k}" for k in changes),
                ConditionExpression="attribute_exists(pk) AND #revoked = :no",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ConditionFailed as failed:
            if failed.item:  # already revoked: revoking again changes nothing
                return from_item(failed.item)
            raise NotFound(
                f"integration key {key_id} does not exist", code="KEY_NOT_FOUND"
            ) from failed
        return from_item(result["Attributes"])
