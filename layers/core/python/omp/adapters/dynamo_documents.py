"""One versioned settings document per item (the notification config, the alerting config, the
detector settings): `config` as JSON, `version`, `updated_at`, `updated_by`.

A PUT names the version it read (0: none yet) and is one conditional write, so two editors never
overwrite each other silently: the loser gets 409 VERSION_CONFLICT with the current version."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from omp.adapters.dynamo import ConditionFailed, call, from_item, to_item
from omp.domain.errors import Conflict
from omp.domain.timeutil import iso


class VersionedDocument:
    def __init__(self, table: str, key: Mapping[str, str], what: str) -> None:
        self.table = table
        self.key = dict(key)
        self.what = what  # for the conflict message: "the alerting configuration"

    def get(self) -> dict[str, Any] | None:
        """{config (dict), version, updated_at, updated_by} or None. An eventually consistent
        read (half the cost): a PUT reaches readers within about a second."""
        item = call("get_item", TableName=self.table, Key=to_item(self.key)).get("Item")
        if not item:
            return None
        values = from_item(item)
        return {
            "config": json.loads(values["config"]),
            "version": int(values["version"]),
            "updated_at": values.get("updated_at"),
            "updated_by": values.get("updated_by"),
        }

    def put(
        self, config: dict[str, Any], expected_version: int, *, actor: str, now: datetime
    ) -> dict[str, Any]:
        """One conditional write: no item when `expected_version` is 0, else that version."""
        record = {
            "config": config,
            "version": expected_version + 1,
            "updated_at": iso(now),
            "updated_by": actor,
        }
        kwargs: dict[str, Any]
        if expected_version == 0:
            kwargs = {"ConditionExpression": "attribute_not_exists(pk)"}
        else:
            kwargs = {
                "ConditionExpression": "#version = :v",
                "ExpressionAttributeNames": {"#version": "version"},
                "ExpressionAttributeValues": to_item({":v": expected_version}),
            }
        try:
            call(
                "put_item",
                TableName=self.table,
                Item=to_item({**self.key, **record, "config": json.dumps(config)}),
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
                **kwargs,
            )
        except ConditionFailed as failed:
            current = int(from_item(failed.item)["version"]) if failed.item else 0
            raise Conflict(
                f"{self.what} is at version {current}, not {expected_version}",
                code="VERSION_CONFLICT",
                details={"version": current},
            ) from failed
        return record
