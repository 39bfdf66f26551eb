"""The CMDB on its DynamoDB table (single-table design).

Items (pk / sk):
- `CITYPE#<name>` / `T`: a user CI type; gsi1 `CITYPES` / `<name>` lists them.
- `CI#<id>` / `CI`: a CI (JSON `body`, numeric `version`, `head_hash` of its history chain);
  gsi1 `CIT#<type>` / `<name>#<id>` (by type), gsi2 `CIS` / `<type>#<name>#<id>` (all),
  gsi3 `CICHG#<YYYY-MM-DDTHH>` / `<updated_at>#<id>` (changed in that hour: anchoring).
- `CI#<id>` / `V#<version>`: one history record (JSON `record`), written in the same transaction
  as the version it describes, never overwritten (attribute_not_exists).
- `CINK#<type>#<natural key>` / `K`: the natural-key claim (create and batch upsert match on it).
- `CIUQ#<type>#<attribute>#<value>` / `U`: a unique attribute's claim.
- `CIX#<type>#<attribute>#<value>` / `<ci id>`: an indexed attribute's entry (filter by it).

Every CI write is one TransactWriteItems: the CI on its version, the history record, and the
claims and index entries that change. A claim held by another CI cancels the transaction and is
reported as UNIQUE_VIOLATION / CI_EXISTS; a changed version as VERSION_CONFLICT.
"""

from __future__ import annotations

import builtins
import hashlib
import json
from typing import Any

from omp.adapters.aws import client, enqueue_job, translate
from omp.adapters.dynamo import batch_get, call, from_item, to_item
from omp.domain.cmdb.cis import Ci
from omp.domain.cmdb.history import HistoryRecord
from omp.domain.cmdb.types import CiType, ResolvedType, index_value
from omp.domain.errors import Conflict
from omp.domain.pagination import DEFAULT_LIMIT, Page, decode_token, encode_token

_MAX_KEY_VALUE = 512  # longer values are claimed and indexed by their sha256


def _key_value(value: Any) -> str:
    text = index_value(value)
    if len(text) > _MAX_KEY_VALUE:
        return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    return text


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _token(last: dict[str, Any] | None, scope: str) -> str | None:
    return encode_token({"k": last, "s": scope}) if last else None


def _start(next_token: str | None, scope: str) -> dict[str, Any] | None:
    if not next_token:
        return None
    state = decode_token(next_token, required_keys=("k", "s"))
    if state["s"] != scope or not isinstance(state["k"], dict):
        from omp.domain.errors import BadRequest

        raise BadRequest("next_token belongs to another query", code="INVALID_NEXT_TOKEN")
    return state["k"]


# ---- CI types -------------------------------------------------------------------------------


class DynamoCiTypeRepository:
    def __init__(self, table: str) -> None:
        self.table = table

    def get(self, name: str) -> CiType | None:
        item = call(
            "get_item", TableName=self.table, Key=to_item({"pk": f"CITYPE#{name}", "sk": "T"})
        ).get("Item")
        return CiType.model_validate_json(from_item(item)["body"]) if item else None

    def list(self, limit: int = DEFAULT_LIMIT, next_token: str | None = None) -> Page[CiType]:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "gsi1",
            "KeyConditionExpression": "gsi1pk = :p",
            "ExpressionAttributeValues": to_item({":p": "CITYPES"}),
            "Limit": limit,
        }
        start = _start(next_token, "types")
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = call("query", **kwargs)
        return Page(
            [CiType.model_validate_json(from_item(i)["body"]) for i in page.get("Items", [])],
            _token(page.get("LastEvaluatedKey"), "types"),
        )

    def source_priority(self) -> dict[str, Any] | None:
        """The `source_priority` of the CMDB settings document (omp.adapters.aws_config), or
        None: the default priority."""
        from omp.adapters.aws_config import DynamoCmdbSettings

        found = DynamoCmdbSettings(self.table).get().get("source_priority")
        return found if isinstance(found, dict) else None

    def put(self, ci_type: CiType, expected_version: int | None) -> None:
        """Create (expected_version None: CI_TYPE_EXISTS if taken) or replace at a version."""
        item = {
            "pk": f"CITYPE#{ci_type.name}",
            "sk": "T",
            "gsi1pk": "CITYPES",
            "gsi1sk": ci_type.name,
            "version": ci_type.version,
            "body": ci_type.model_dump_json(),
        }
        kwargs: dict[str, Any] = {"TableName": self.table, "Item": to_item(item)}
        if expected_version is None:
            kwargs["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            kwargs["ConditionExpression"] = "#v = :v"
            kwargs["ExpressionAttributeNames"] = {"#v": "version"}
            kwargs["ExpressionAttributeValues"] = to_item({":v": expected_version})
        try:
            call("put_item", **kwargs)
        except Conflict as exc:
            if expected_version is None:
                raise Conflict(
                    f"CI type {ci_type.name} already exists", code="CI_TYPE_EXISTS"
                ) from exc
            raise Conflict(
                f"CI type {ci_type.name} is not at version {expected_version}",
                code="VERSION_CONFLICT",
            ) from exc


# ---- CIs ------------------------------------------------------------------------------------


def _ci_key(ci_id: str) -> dict[str, Any]:
    return to_item({"pk": f"CI#{ci_id}", "sk": "CI"})


def _claims(ci: Ci | None, ci_type: ResolvedType) -> dict[tuple[str, str], str]:
    """(pk, sk) -> kind of every claim and index entry a CI holds: "key", "unique", "index"."""
    if ci is None:
        return {}
    out = {(f"CINK#{ci.type}#{_key_value(ci.natural_key)}", "K"): "key"}
    for attr in ci_type.attributes:
        value = ci.attributes.get(attr.name)
        if value is None:
            continue
        if attr.unique:
            out[(f"CIUQ#{ci.type}#{attr.name}#{_key_value(value)}", "U")] = "unique"
        if attr.indexed:
            out[(f"CIX#{ci.type}#{attr.name}#{_key_value(value)}", ci.id)] = "index"
    return out


class DynamoCiRepository:
    def __init__(self, table: str) -> None:
        self.table = table

    # ---- reads ----

    def get(self, ci_id: str) -> tuple[Ci, str] | None:
        """The CI and the hash at the head of its history chain."""
        item = call("get_item", TableName=self.table, Key=_ci_key(ci_id)).get("Item")
        if not item:
            return None
        values = from_item(item)
        return Ci.model_validate_json(values["body"]), str(values.get("head_hash", ""))

    def get_many(self, ci_ids: list[str]) -> dict[str, Ci]:
        keys = [_ci_key(i) for i in dict.fromkeys(ci_ids)]
        cis = (Ci.model_validate_json(item["body"]) for item in batch_get(self.table, keys))
        return {ci.id: ci for ci in cis}

    def find_by_key(self, type_name: str, natural_key: str) -> Ci | None:
        item = call(
            "get_item",
            TableName=self.table,
            Key=to_item({"pk": f"CINK#{type_name}#{_key_value(natural_key)}", "sk": "K"}),
        ).get("Item")
        if not item:
            return None
        found = self.get(str(from_item(item)["ci_id"]))
        return found[0] if found else None

    def find_many_by_key(
        self, keys: builtins.list[tuple[str, str]]
    ) -> dict[tuple[str, str], tuple[Ci, str]]:
        """`find_by_key` for many (type, natural key) pairs, with each CI's head hash: two
        BatchGetItem rounds per 100 keys instead of two GetItems per key (imports)."""
        claims = {
            f"CINK#{type_name}#{_key_value(key)}": (type_name, key)
            for type_name, key in dict.fromkeys(keys)
        }
        holders: dict[str, tuple[str, str]] = {}
        for item in batch_get(self.table, [to_item({"pk": pk, "sk": "K"}) for pk in claims]):
            holders[str(item["ci_id"])] = claims[str(item["pk"])]
        out: dict[tuple[str, str], tuple[Ci, str]] = {}
        for item in batch_get(self.table, [_ci_key(i) for i in holders]):
            ci = Ci.model_validate_json(item["body"])
            out[holders[ci.id]] = (ci, str(item.get("head_hash", "")))
        return out

    def holder(self, type_name: str, attribute: str, value: Any) -> str | None:
        """The CI holding a unique value."""
        item = call(
            "get_item",
            TableName=self.table,
            Key=to_item({"pk": f"CIUQ#{type_name}#{attribute}#{_key_value(value)}", "sk": "U"}),
        ).get("Item")
        return str(from_item(item)["ci_id"]) if item else None

    def find_by_attribute(
        self,
        type_name: str,
        attribute: str,
        value: Any,
        limit: int = DEFAULT_LIMIT,
        next_token: str | None = None,
    ) -> Page[Ci]:
        pk = f"CIX#{type_name}#{attribute}#{_key_value(value)}"
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": to_item({":p": pk}),
            "Limit": limit,
        }
        start = _start(next_token, pk)
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = call("query", **kwargs)
        ids = [str(from_item(i)["sk"]) for i in page.get("Items", [])]
        found = self.get_many(ids)
        return Page([found[i] for i in ids if i in found], _token(page.get("LastEvaluatedKey"), pk))

    def list(
        self,
        type_name: str | None = None,
        status: str | None = None,
        limit: int = DEFAULT_LIMIT,
        next_token: str | None = None,
    ) -> Page[Ci]:
        index, pk = ("gsi1", f"CIT#{type_name}") if type_name else ("gsi2", "CIS")
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": index,
            "KeyConditionExpression": f"{index}pk = :p",
            "ExpressionAttributeValues": to_item({":p": pk}),
            "Limit": limit,
        }
        if status:
            kwargs["FilterExpression"] = "#s = :s"
            kwargs["ExpressionAttributeNames"] = {"#s": "status"}
            kwargs["ExpressionAttributeValues"] |= to_item({":s": status})
        start = _start(next_token, pk)
        if start:
            kwargs["ExclusiveStartKey"] = start
        items: list[Ci] = []
        # A filter can leave a page short: keep reading until the page is full or the end.
        while True:
            page = call("query", **kwargs)
            items += [Ci.model_validate_json(from_item(i)["body"]) for i in page.get("Items", [])]
            last = page.get("LastEvaluatedKey")
            if not last or len(items) >= limit:
                return Page(items, _token(last, pk))
            kwargs["ExclusiveStartKey"] = last
            kwargs["Limit"] = limit - len(items)

    def history(
        self, ci_id: str, limit: int = DEFAULT_LIMIT, next_token: str | None = None
    ) -> Page[dict[str, Any]]:
        scope = f"H#{ci_id}"
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :p AND begins_with(sk, :v)",
            "ExpressionAttributeValues": to_item({":p": f"CI#{ci_id}", ":v": "V#"}),
            "Limit": limit,
        }
        start = _start(next_token, scope)
        if start:
            kwargs["ExclusiveStartKey"] = start
        page = call("query", **kwargs)
        return Page(
            [json.loads(from_item(i)["record"]) for i in page.get("Items", [])],
            _token(page.get("LastEvaluatedKey"), scope),
        )

    def all_history(self, ci_id: str) -> builtins.list[dict[str, Any]]:
        """Every record, oldest first (pages of up to 1 MB: about 1,000 records each)."""
        out: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :p AND begins_with(sk, :v)",
            "ExpressionAttributeValues": to_item({":p": f"CI#{ci_id}", ":v": "V#"}),
            "ProjectionExpression": "#r",
            "ExpressionAttributeNames": {"#r": "record"},
        }
        while True:
            page = call("query", **kwargs)
            out += [json.loads(i["record"]["S"]) for i in page.get("Items", [])]
            last = page.get("LastEvaluatedKey")
            if not last:
                return out
            kwargs["ExclusiveStartKey"] = last

    # ---- the one write ----

    def write(
        self,
        after: Ci,
        before: Ci | None,
        record: HistoryRecord,
        ci_type: ResolvedType,
    ) -> None:
        """Store a CI version with its history record and claims, all or nothing."""
        ops, kinds = self._write_ops(after, before, record, ci_type)
        self._transact(ops, kinds, after)

    def write_many(
        self, writes: builtins.list[tuple[Ci, Ci | None, HistoryRecord, ResolvedType]]
    ) -> None:
        """Several CI writes (as `write` takes them) in one TransactWriteItems, all or nothing:
        each keeps its own conditions, so a claim or version taken by another writer cancels
        the lot (the caller then writes them one by one to learn which). At most 100 items in
        all, no item twice (`write_ops_count` and `write_keys` tell the caller how to pack)."""
        ops: list[dict[str, Any]] = []
        kinds: list[tuple[str, Any]] = []
        for after, before, record, ci_type in writes:
            more, more_kinds = self._write_ops(after, before, record, ci_type)
            ops += more
            kinds += more_kinds
        if len(ops) > 100:
            from omp.domain.errors import ValidationFailed

            raise ValidationFailed("a transaction takes at most 100 items")
        if ops:
            self._transact(ops, kinds, writes[0][0])

    def write_keys(
        self, after: Ci, before: Ci | None, record: HistoryRecord, ci_type: ResolvedType
    ) -> builtins.list[tuple[str, str]]:
        """The (pk, sk) of every item `write` would touch (a transaction names an item once)."""
        ops, _ = self._write_ops(after, before, record, ci_type)
        out = []
        for op in ops:
            body = next(iter(op.values()))
            key = body.get("Item") or body.get("Key") or {}
            out.append((key["pk"]["S"], key["sk"]["S"]))
        return out

    def _write_ops(
        self,
        after: Ci,
        before: Ci | None,
        record: HistoryRecord,
        ci_type: ResolvedType,
    ) -> tuple[builtins.list[dict[str, Any]], builtins.list[tuple[str, Any]]]:
        ops: list[dict[str, Any]] = []
        kinds: list[tuple[str, Any]] = []
        body = {
            "pk": f"CI#{after.id}",
            "sk": "CI",
            "version": after.version,
            "status": after.status.value,
            "head_hash": record.hash,
            "body": after.model_dump_json(),
            "gsi1pk": f"CIT#{after.type}",
            "gsi1sk": f"{after.name}#{after.id}",
            "gsi2pk": "CIS",
            "gsi2sk": f"{after.type}#{after.name}#{after.id}",
            # gsi3: the hour bucket of the newest change, for anchoring (omp.adapters.cmdb_anchors)
            "gsi3pk": f"CICHG#{after.updated_at[:13]}",
            "gsi3sk": f"{after.updated_at}#{after.id}",
        }
        put: dict[str, Any] = {"TableName": self.table, "Item": to_item(body)}
        if before is None:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "#v = :v"
            put["ExpressionAttributeNames"] = {"#v": "version"}
            put["ExpressionAttributeValues"] = to_item({":v": before.version})
        ops.append({"Put": put})
        kinds.append(("version", None))
        history = {
            "pk": f"CI#{after.id}",
            "sk": f"V#{after.version:010d}",
            "version": after.version,
            "record": record.model_dump_json(),
        }
        ops.append(
            {
                "Put": {
                    "TableName": self.table,
                    "Item": to_item(history),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
        )
        kinds.append(("version", None))
        old, new = _claims(before, ci_type), _claims(after, ci_type)
        for (pk, sk), kind in new.items():
            if (pk, sk) in old:
                continue
            item: dict[str, Any] = {"pk": pk, "sk": sk, "ci_id": after.id}
            op: dict[str, Any] = {"TableName": self.table, "Item": to_item(item)}
            if kind != "index":
                op["ConditionExpression"] = "attribute_not_exists(pk) OR ci_id = :me"
                op["ExpressionAttributeValues"] = to_item({":me": after.id})
            ops.append({"Put": op})
            kinds.append((kind, pk))
        for pk, sk in old.keys() - new.keys():
            ops.append({"Delete": {"TableName": self.table, "Key": to_item({"pk": pk, "sk": sk})}})
            kinds.append(("delete", pk))
        if len(ops) > 100:
            from omp.domain.errors import ValidationFailed

            raise ValidationFailed("too many unique and indexed attributes change at once")
        return ops, kinds

    def _transact(
        self, ops: builtins.list[dict[str, Any]], kinds: builtins.list[tuple[str, Any]], ci: Ci
    ) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            client("dynamodb").transact_write_items(TransactItems=ops)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "TransactionCanceledException":
                raise translate(exc) from exc
            reasons: Any = exc.response.get("CancellationReasons") or []
            raise _why(ci, kinds, [r.get("Code", "None") for r in reasons]) from exc
        except BotoCoreError as exc:
            raise translate(exc) from exc


def _why(ci: Ci, kinds: list[tuple[str, Any]], codes: list[str]) -> Exception:
    for (kind, pk), code in zip(kinds, codes, strict=False):
        if code != "ConditionalCheckFailed":
            continue
        if kind == "version":
            if ci.version == 1:
                return Conflict(f"CI {ci.id} already exists", code="CI_EXISTS")
            return Conflict(
                f"CI {ci.id} changed since version {ci.version - 1} was read",
                code="VERSION_CONFLICT",
            )
        if kind == "key":
            return Conflict(
                f"a {ci.type} CI with natural key {ci.natural_key!r} exists",
                code="CI_EXISTS",
                details={"type": ci.type, "natural_key": ci.natural_key},
            )
        if kind == "unique":
            attribute = str(pk).split("#")[2]
            return Conflict(
                f"another {ci.type} CI has this {attribute}",
                code="UNIQUE_VIOLATION",
                details={"attribute": attribute, "value": ci.attributes.get(attribute)},
            )
    return Conflict("the CI changed while it was written; read it and retry", code="CONFLICT")


# ---- import jobs ----------------------------------------------------------------------------


class DynamoImportJobs:
    """Item `CIMPORT#<id>` / `J`; one writer at a time (the queue consumer), so a plain put."""

    def __init__(self, table: str) -> None:
        self.table = table

    def save(self, job: Any) -> None:
        item = {"pk": f"CIMPORT#{job.id}", "sk": "J", "body": job.model_dump_json()}
        call("put_item", TableName=self.table, Item=to_item(item))

    def get(self, job_id: str) -> Any:
        from omp.domain.cmdb.imports import ImportJob

        item = call(
            "get_item", TableName=self.table, Key=to_item({"pk": f"CIMPORT#{job_id}", "sk": "J"})
        ).get("Item")
        return ImportJob.model_validate_json(from_item(item)["body"]) if item else None


class S3ImportFiles:
    """Uploaded import files in the imports bucket, and the queue that hands jobs over."""

    def __init__(self, bucket: str, queue_url: str = "") -> None:
        self.bucket = bucket
        self.queue_url = queue_url

    def put(self, key: str, body: bytes) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            client("s3").put_object(Bucket=self.bucket, Key=key, Body=body)
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc) from exc

    def get(self, key: str) -> bytes:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return client("s3").get_object(Bucket=self.bucket, Key=key)["Body"].read()  # type: ignore[no-any-return]
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc) from exc

    def enqueue(self, job_id: str) -> None:
        enqueue_job(self.queue_url, job_id)
