"""AWS Config reads for CMDB discovery, and the discovery settings and reconcile cursor.

Only `config:ListDiscoveredResources` and `config:BatchGetResourceConfig` (neither supports
resource-level permissions: granted on `*`, catalog `aws_actions`).
"""

from __future__ import annotations

import json
from typing import Any

from omp.adapters.aws import client, translate
from omp.adapters.dynamo import call, from_item, to_item
from omp.adapters.dynamo_documents import VersionedDocument

BATCH_KEYS = 100  # BatchGetResourceConfig takes at most 100 resource keys
SETTINGS_KEY = {"pk": "CMDBSETTINGS", "sk": "S"}
CURSOR_KEY = {"pk": "CMDBRECONCILE#aws-config", "sk": "C"}


class ConfigDiscovery:
    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(client("config"), operation)(**kwargs)  # type: ignore[no-any-return]
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc) from exc

    def list_discovered(
        self, resource_type: str, next_token: str | None
    ) -> tuple[list[dict[str, str]], str | None]:
        """One page (up to 100) of the resource keys Config records of a type (deleted ones
        left out)."""
        kwargs: dict[str, Any] = {"resourceType": resource_type, "limit": BATCH_KEYS}
        if next_token:
            kwargs["nextToken"] = next_token
        page = self._call("list_discovered_resources", **kwargs)
        keys = [
            {"resourceType": r["resourceType"], "resourceId": r["resourceId"]}
            for r in page.get("resourceIdentifiers", [])
        ]
        return keys, page.get("nextToken") or None

    def batch_get(
        self, keys: list[dict[str, str]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
        """The current items of up to 100 resources (deleted ones are not returned), and the
        keys Config did not process this time (to be asked again, never taken as gone)."""
        if len(keys) > BATCH_KEYS:
            raise ValueError(f"at most {BATCH_KEYS} keys per BatchGetResourceConfig")
        if not keys:
            return [], []
        got = self._call("batch_get_resource_config", resourceKeys=keys)
        unprocessed = [
            {"resourceType": k["resourceType"], "resourceId": k["resourceId"]}
            for k in got.get("unprocessedResourceKeys") or []
        ]
        return list(got.get("baseConfigurationItems") or []), unprocessed


class DynamoCmdbSettings:
    """The CMDB settings document (source priority, stale grace period) and the reconcile
    cursor, on the cmdb table."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.document = VersionedDocument(table, SETTINGS_KEY, "the CMDB settings")

    def get(self) -> dict[str, Any]:
        found = self.document.get()
        return dict(found["config"]) if found else {}

    def cursor(self) -> dict[str, Any] | None:
        item = call("get_item", TableName=self.table, Key=to_item(CURSOR_KEY)).get("Item")
        return json.loads(from_item(item)["state"]) if item else None

    def save_cursor(self, state: dict[str, Any] | None) -> None:
        """One scheduled reconcile at a time (the schedule), so a plain put."""
        if state is None:
            call("delete_item", TableName=self.table, Key=to_item(CURSOR_KEY))
            return
        item = {**CURSOR_KEY, "state": json.dumps(state, separators=(",", ":"))}
        call("put_item", TableName=self.table, Item=to_item(item))
