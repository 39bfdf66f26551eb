"""The alerting settings on the monitoring table: pk `ALERTING_CONFIG`, sk `C`: the settings
as JSON, `version`, `updated_at`, `updated_by` (one item, like the notification config)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from omp.adapters.dynamo import ConditionFailed, call, from_item, to_item
from omp.adapters.dynamo_alerting import ts
from omp.domain.errors import Conflict

CONFIG_PK = "ALERTING_CONFIG"


class DynamoAlertingConfigStore:
    def __init__(self, table: str) -> None:
        self.table = table

    def get(self) -> dict[str, Any] | None:
        """{config (dict), version, updated_at, updated_by} or None. An eventually consistent
        read (half the cost, once per batch): a PUT reaches batches within about a second."""
        item = call(
            "get_item", TableName=self.table, Key=to_item({"pk": CONFIG_PK, "sk": "C"})
        ).get("Item")
        if not item:
            return None
        values = from_item(item)
        return {
            "config": json.loads(values["config"]),
            "version": int(values["version"]),
            "updated_at": values["updated_at"],
            "updated_by": values["updated_by"],
        }

    def put(
        self, config: dict[str, Any], expected_version: int, *, actor: str, now: datetime
    ) -> dict[str, Any]:
        """One conditional write: no item when `expected_version` is 0, else that version."""
        record = {
            "config": config,
            "version": expected_version + 1,
            "updated_at": ts(now),
            "updated_by": actor,
        }
        item = {"pk": CONFIG_PK, "sk": "C", **record, "config": json.dumps(config)}
        kwargs: dict[str, Any] = {}
        if expected_version == 0:
            kwargs["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            kwargs["ConditionExpression"] = "#version = :v"
            kwargs["ExpressionAttributeNames"] = {"#version": "version"}
            kwargs["ExpressionAttributeValues"] = to_item({":v": expected_version})
        try:
            call(
                "put_item",
                TableName=self.table,
                Item=to_item(item),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
                **kwargs,
            )
        except ConditionFailed as failed:
            current = int(from_item(failed.item)["version"]) if failed.item else 0
            raise Conflict(
                f"the alerting configuration is at version {current}, not {expected_version}",
                code="VERSION_CONFLICT",
                details={"version": current},
            ) from failed
        return record


class MemoryAlertingConfigStore:
    """The same contract in memory (unit tests)."""

    def __init__(self) -> None:
        self.stored: dict[str, Any] | None = None
        self.reads = 0

    def get(self) -> dict[str, Any] | None:
        self.reads += 1
        return None if self.stored is None else dict(self.stored)

    def put(
        self, config: dict[str, Any], expected_version: int, *, actor: str, now: datetime
    ) -> dict[str, Any]:
        current = self.stored["version"] if self.stored else 0
        if current != expected_version:
            raise Conflict(
                f"the alerting configuration is at version {current}, not {expected_version}",
                code="VERSION_CONFLICT",
                details={"version": current},
            )
        self.stored = {
            "config": config,
            "version": expected_version + 1,
            "updated_at": ts(now),
            "updated_by": actor,
        }
        return dict(self.stored)
