"""Fix for moto's DynamoDB TransactWriteItems (found by the alert-storm benchmark).

moto 5.1 backs a transaction up by deep-copying every table it touches, once per item of the
transaction, so that it can roll back: each transaction costs time in proportion to the whole
table. The alert pipeline writes an alarm's timeline entries in one transaction, so the local
runtime slowed down as the monitoring table grew (1,000 storm alerts: 147 transactions took
177 of 207 s; 10,000 would have taken hours). The fix backs up only the items the transaction
names (their old versions, or their absence) and puts those back when it fails; moto's own
rollback then has nothing to do (its "copy" of a table is the table itself). Semantics are
unchanged: all or nothing, the same errors.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

import moto.dynamodb.models as models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table

_original = DynamoDBBackend.transact_write_items
_state = threading.local()


class _Copy:
    """moto.dynamodb.models' `copy` module, except that a table is not copied while a
    transaction runs (everywhere else, e.g. backups, tables are deep-copied as before)."""

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)

    @staticmethod
    def deepcopy(value: Any, memo: dict[int, Any] | None = None) -> Any:
        if isinstance(value, Table) and getattr(_state, "in_transaction", False):
            return value
        return copy.deepcopy(value, memo)


Backup = tuple[Table, DynamoType, DynamoType | None, Item | None]


def _backups(backend: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> list[Backup]:
    out: list[Backup] = []
    for entry in transact_items:
        if not isinstance(entry, dict) or len(entry) != 1:
            continue  # moto refuses it before writing anything
        op_type, op = next(iter(entry.items()))
        name = op.get("TableName") if isinstance(op, dict) else None
        table = backend.tables.get(name) if isinstance(name, str) else None
        if table is None:
            continue
        key = op.get("Item" if op_type == "Put" else "Key") or {}
        try:
            hash_key = DynamoType(key[table.hash_key_attr])
            range_key = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        except (KeyError, TypeError):
            continue  # no such item can be written
        current = table.get_item(hash_key, range_key)
        out.append((table, hash_key, range_key, copy.deepcopy(current)))
    return out


def _restore(backups: list[Backup]) -> None:
    for table, hash_key, range_key, old in reversed(backups):
        if range_key is not None:
            bucket: dict[DynamoType, Item] = table.items[hash_key]
            if old is None:
                bucket.pop(range_key, None)
            else:
                bucket[range_key] = old
        elif old is None:
            table.items.pop(hash_key, None)
        else:
            table.items[hash_key] = old  # type: ignore[assignment]  # a hash-only table


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    backups = _backups(self, transact_items)
    _state.in_transaction = True
    try:
        _original(self, transact_items)
    except BaseException:
        _restore(backups)
        raise
    finally:
        _state.in_transaction = False


def install() -> None:
    models.copy = _Copy()  # type: ignore[assignment,attr-defined]
    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
