"""infra/local/dynamodb.py: moto's TransactWriteItems backs up the items it writes, not whole
tables, and still commits all or nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import moto.dynamodb.models as models
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import dynamodb_backends

from infra.local import dynamodb as fix

TABLE = "t"


@pytest.fixture
def client() -> Iterator[Any]:
    fix.install()
    with mock_aws():
        ddb = boto3.client("dynamodb", region_name="us-east-1")
        ddb.create_table(
            TableName=TABLE,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": k, "AttributeType": "S"} for k in ("pk", "sk", "g1pk", "g1sk")
            ],
            BillingMode="PAY_PER_REQUEST",
            GlobalSecondaryIndexes=[
                {
                    "IndexName": "gsi1",
                    "KeySchema": [
                        {"AttributeName": "g1pk", "KeyType": "HASH"},
                        {"AttributeName": "g1sk", "KeyType": "RANGE"},
                    ],
                    "Projection": {"ProjectionType": "ALL"},
                }
            ],
        )
        yield ddb


def _table() -> Any:
    return dynamodb_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].tables[TABLE]


def _item(pk: str, v: str, **extra: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": "x"}, "v": {"S": v}} | {
        k: {"S": s} for k, s in extra.items()
    }


def _get(client: Any, pk: str) -> dict[str, Any] | None:
    got = client.get_item(TableName=TABLE, Key={"pk": {"S": pk}, "sk": {"S": "x"}})
    return got.get("Item")


def _put(item: dict[str, Any], condition: str | None = None) -> dict[str, Any]:
    put: dict[str, Any] = {"TableName": TABLE, "Item": item}
    if condition:
        put["ConditionExpression"] = condition
    return {"Put": put}


def test_a_transaction_writes_every_item(client: Any) -> None:
    client.put_item(TableName=TABLE, Item=_item("a", "1"))
    client.transact_write_items(
        TransactItems=[
            _put(_item("a", "2"), "attribute_exists(pk)"),
            _put(_item("b", "1", g1pk="G", g1sk="1")),
        ]
    )
    assert _get(client, "a")["v"] == {"S": "2"}  # type: ignore[index]
    assert _get(client, "b")["v"] == {"S": "1"}  # type: ignore[index]
    found = client.query(
        TableName=TABLE,
        IndexName="gsi1",
        KeyConditionExpression="g1pk = :g",
        ExpressionAttributeValues={":g": {"S": "G"}},
    )["Items"]
    assert [i["pk"]["S"] for i in found] == ["b"]


def test_a_failed_condition_undoes_the_items_already_written_and_keeps_the_table(
    client: Any,
) -> None:
    client.put_item(TableName=TABLE, Item=_item("a", "1"))
    client.put_item(TableName=TABLE, Item=_item("c", "1"))
    before = _table()
    with pytest.raises(ClientError) as failed:
        client.transact_write_items(
            TransactItems=[
                _put(_item("a", "2")),  # overwrites an item
                _put(_item("b", "1", g1pk="G", g1sk="1")),  # adds one
                _put(_item("c", "2"), "attribute_not_exists(pk)"),  # fails
            ]
        )
    assert failed.value.response["Error"]["Code"] == "TransactionCanceledException"
    assert _get(client, "a")["v"] == {"S": "1"}  # type: ignore[index]
    assert _get(client, "b") is None
    assert _get(client, "c")["v"] == {"S": "1"}  # type: ignore[index]
    assert _table() is before  # rolled back item by item, not by swapping in a table copy
    assert (
        client.query(
            TableName=TABLE,
            IndexName="gsi1",
            KeyConditionExpression="g1pk = :g",
            ExpressionAttributeValues={":g": {"S": "G"}},
        )["Items"]
        == []
    )


def test_an_update_in_a_failed_transaction_is_undone(client: Any) -> None:
    client.put_item(TableName=TABLE, Item=_item("a", "1"))
    with pytest.raises(ClientError):
        client.transact_write_items(
            TransactItems=[
                {
                    "Update": {
                        "TableName": TABLE,
                        "Key": {"pk": {"S": "a"}, "sk": {"S": "x"}},
                        "UpdateExpression": "SET v = :v",
                        "ExpressionAttributeValues": {":v": {"S": "2"}},
                    }
                },
                _put(_item("z", "1"), "attribute_exists(pk)"),  # fails: no such item
            ]
        )
    assert _get(client, "a") == _item("a", "1")
    assert _get(client, "z") is None


def test_two_actions_on_one_item_are_refused_and_change_nothing(client: Any) -> None:
    client.put_item(TableName=TABLE, Item=_item("a", "1"))
    with pytest.raises(ClientError) as refused:
        client.transact_write_items(TransactItems=[_put(_item("a", "2")), _put(_item("a", "3"))])
    assert refused.value.response["Error"]["Code"] == "ValidationException"
    assert _get(client, "a")["v"] == {"S": "1"}  # type: ignore[index]


def test_tables_are_still_copied_outside_transactions(client: Any) -> None:
    table = _table()
    assert models.copy.deepcopy(table) is not table  # backups keep their own copy
