"""DynamoDB helpers shared by the repositories: (de)serialisation and day-bucketed listing."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from omp.adapters.aws import client, translate
from omp.domain.errors import Conflict, TransientError
from omp.domain.pagination import Page, decode_token, encode_token
from omp.domain.queries import TimeRange
from omp.domain.timeutil import iso

_ser = TypeSerializer()
_de = TypeDeserializer()


def to_item(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _ser.serialize(v) for k, v in values.items() if v is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    out = {k: _de.deserialize(v) for k, v in item.items()}
    return {k: (int(v) if k == "version" else v) for k, v in out.items()}


class ConditionFailed(Conflict):
    """A conditional write failed; `item` is the stored item when the call asked for ALL_OLD."""

    def __init__(self, item: dict[str, Any] | None) -> None:
        super().__init__("the item changed since it was read", code="VERSION_CONFLICT")
        self.item = item


# A write that meets an item inside another transaction is refused unapplied
# (TransactionConflictException, or a transaction cancelled with TransactionConflict) and
# botocore does not retry it: sent again a few times, then a Conflict the caller re-reads on.
CONFLICT_ATTEMPTS = 3


def _in_other_transaction(error: dict[str, Any], reasons: Any) -> bool:
    if error.get("Code") == "TransactionConflictException":
        return True
    codes = {r.get("Code") for r in reasons or [] if isinstance(r, dict)} - {"None", None}
    return error.get("Code") == "TransactionCanceledException" and codes == {"TransactionConflict"}


def call(operation: str, **kwargs: Any) -> Any:
    """One DynamoDB call; AWS errors become domain errors (a failed condition: ConditionFailed)."""
    from botocore.exceptions import BotoCoreError, ClientError

    for attempt in range(CONFLICT_ATTEMPTS):
        try:
            return getattr(client("dynamodb"), operation)(**kwargs)
        except ClientError as exc:
            error = exc.response.get("Error", {})
            if error.get("Code") == "ConditionalCheckFailedException":
                item: dict[str, Any] | None = exc.response.get("Item")  # type: ignore[assignment]
                raise ConditionFailed(item) from exc
            reasons = exc.response.get("CancellationReasons")
            if attempt + 1 < CONFLICT_ATTEMPTS and _in_other_transaction(dict(error), reasons):
                time.sleep(0.02 * 2**attempt)
                continue
            raise translate(exc) from exc
        except BotoCoreError as exc:
            raise translate(exc) from exc
    raise AssertionError("unreachable")


BATCH_GET_MAX = 100  # keys per BatchGetItem call (DynamoDB's limit)
BATCH_GET_ATTEMPTS = 8


def batch_get(
    table: str,
    keys: Sequence[dict[str, Any]],
    *,
    consistent: bool = False,
    projection: str | None = None,
) -> list[dict[str, Any]]:
    """The items of `keys` (DynamoDB-typed keys) that exist, as plain values (`from_item`), in
    no particular order: one BatchGetItem per 100 keys. Keys DynamoDB leaves unprocessed
    (throttling) are asked again with exponential backoff; after 8 tries, TransientError (503,
    the caller's retry repeats a read only)."""
    out: list[dict[str, Any]] = []
    for start in range(0, len(keys), BATCH_GET_MAX):
        spec: dict[str, Any] = {"Keys": list(keys[start : start + BATCH_GET_MAX])}
        if consistent:
            spec["ConsistentRead"] = True
        if projection:
            spec["ProjectionExpression"] = projection
        request: dict[str, Any] = {table: spec}
        for attempt in range(BATCH_GET_ATTEMPTS):
            answer = call("batch_get_item", RequestItems=request)
            out += [from_item(i) for i in answer.get("Responses", {}).get(table, [])]
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                break
            time.sleep(min(0.05 * 2**attempt, 1.0))
        else:
            raise TransientError("DynamoDB left keys unprocessed; retry", code="THROTTLED")
    return out


BATCH_WRITE_MAX = 25  # requests per BatchWriteItem call (DynamoDB's limit)


def batch_write(table: str, requests: Sequence[dict[str, Any]]) -> None:
    """Put and delete requests (`{"PutRequest": ...}` / `{"DeleteRequest": ...}`), 25 a call.
    Requests DynamoDB leaves unprocessed (throttling) are sent again with exponential backoff;
    after 8 tries, TransientError (503): every request is a whole-item put or a delete, so the
    caller's retry repeats them harmlessly."""
    for start in range(0, len(requests), BATCH_WRITE_MAX):
        pending: dict[str, Any] = {table: list(requests[start : start + BATCH_WRITE_MAX])}
        for attempt in range(BATCH_GET_ATTEMPTS):
            answer = call("batch_write_item", RequestItems=pending)
            pending = answer.get("UnprocessedItems") or {}
            if not pending:
                break
            time.sleep(min(0.05 * 2**attempt, 1.0))
        else:
            raise TransientError("DynamoDB left writes unprocessed; retry", code="THROTTLED")


def day_partitions(prefix: str, window: TimeRange) -> list[str]:
    """`<prefix>#<YYYY-MM-DD>` for each day of the window, newest first."""
    return [f"{prefix}#{day}" for day in window.days()]


def list_newest_first(
    *,
    table: str,
    index: str,
    partitions: list[str],
    window: TimeRange,
    limit: int,
    next_token: str | None,
    filter_expression: str | None = None,
    names: dict[str, str] | None = None,
    values: dict[str, Any] | None = None,
) -> Page[dict[str, Any]]:
    """Items of an index whose sort key starts with an RFC 3339 time, newest first, across
    `partitions` (newest partition first; day partitions keep a write storm off one hot key).

    The token records the partition and DynamoDB's LastEvaluatedKey, so a page resumes exactly
    where the last one stopped.
    """
    days = partitions
    day_index, start_key = 0, None
    if next_token:
        state = decode_token(next_token, required_keys=("d", "k"))
        if state["d"] not in days:
            day_index = len(days)
        else:
            day_index, start_key = days.index(state["d"]), state["k"]
    items: list[dict[str, Any]] = []
    pk, sk = f"{index}pk", f"{index}sk"
    attr_names = {"#pk": pk, "#sk": sk, **(names or {})}
    attr_values = {
        ":p": None,
        ":lo": {"S": iso(window.start)},
        ":hi": {"S": iso(window.end) + "\uffff"},
        **to_item(values or {}),
    }
    while day_index < len(days):
        attr_values[":p"] = {"S": days[day_index]}
        kwargs: dict[str, Any] = {
            "TableName": table,
            "IndexName": index,
            "KeyConditionExpression": "#pk = :p AND #sk BETWEEN :lo AND :hi",
            "ExpressionAttributeNames": attr_names,
            "ExpressionAttributeValues": attr_values,
            "ScanIndexForward": False,
            "Limit": limit - len(items),
        }
        if filter_expression:
            kwargs["FilterExpression"] = filter_expression
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        page = call("query", **kwargs)
        items.extend(from_item(i) for i in page.get("Items", []))
        start_key = page.get("LastEvaluatedKey")
        if len(items) >= limit:
            if start_key:
                return Page(items, encode_token({"d": days[day_index], "k": start_key}))
            if day_index + 1 < len(days):
                return Page(items, encode_token({"d": days[day_index + 1], "k": None}))
            return Page(items, None)
        if not start_key:
            day_index += 1
    return Page(items, None)
