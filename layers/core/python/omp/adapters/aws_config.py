"""AWS Config reads for CMDB discovery, and the discovery settings and reconcile cursor.

Only `config:ListDiscoveredResources` and `config:BatchGetResourceConfig` (this account and
region), and `config:ListAggregateDiscoveredResources` and `config:BatchGetAggregateResourceConfig`
(a Config aggregator: several accounts and regions). None supports resource-level permissions:
granted on `*`, catalog `aws_actions`.
"""

from __future__ import annotations

import json
from typing import Any

from omp.adapters.aws import client, translate
from omp.adapters.dynamo import call, from_item, to_item
from omp.adapters.dynamo_documents import VersionedDocument
from omp.domain.errors import NotFound

BATCH_KEYS = 100  # BatchGetResourceConfig (and its aggregate twin) take at most 100 keys
SETTINGS_KEY = {"pk": "CMDBSETTINGS", "sk": "S"}
CURSOR_KEY = {"pk": "CMDBRECONCILE#aws-config", "sk": "C"}


class ConfigDiscovery:
    def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(client("config"), operation)(**kwargs)  # type: ignore[no-any-return]
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code == "NoSuchConfigurationAggregatorException":
                # a setting naming an aggregator this account/region does not have: no retry
                # helps, the message says which setting to fix
                name = kwargs.get("ConfigurationAggregatorName")
                raise NotFound(
                    f"no Config aggregator {name!r} in this account and region "
                    "(the CMDB setting config_aggregator)",
                    code="CONFIG_AGGREGATOR_NOT_FOUND",
                ) from exc
            raise translate(exc) from exc
        except BotoCoreError as exc:
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

    # An aggregator's keys also name the source account and region: the same resource id can
    # exist in several of them. Keys here are {resourceType, resourceId, accountId, region}.

    def list_aggregate(
        self, aggregator: str, resource_type: str, next_token: str | None
    ) -> tuple[list[dict[str, str]], str | None]:
        """One page (up to 100) of the keys an aggregator holds of a type, every account and
        region it aggregates."""
        kwargs: dict[str, Any] = {
            "ConfigurationAggregatorName": aggregator,
            "ResourceType": resource_type,
            "Limit": BATCH_KEYS,
        }
        if next_token:
            kwargs["NextToken"] = next_token
        page = self._call("list_aggregate_discovered_resources", **kwargs)
        keys = [_key(r) for r in page.get("ResourceIdentifiers") or []]
        return keys, page.get("NextToken") or None

    def batch_get_aggregate(
        self, aggregator: str, keys: list[dict[str, str]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
        """The current items of up to 100 aggregated resources (deleted ones are not returned;
        items carry `accountId` and `awsRegion`), and the keys not processed this time."""
        if len(keys) > BATCH_KEYS:
            raise ValueError(f"at most {BATCH_KEYS} keys per BatchGetAggregateResourceConfig")
        if not keys:
            return [], []
        got = self._call(
            "batch_get_aggregate_resource_config",
            ConfigurationAggregatorName=aggregator,
            ResourceIdentifiers=[
                {
                    "SourceAccountId": k["accountId"],
                    "SourceRegion": k["region"],
                    "ResourceId": k["resourceId"],
                    "ResourceType": k["resourceType"],
                }
                for k in keys
            ],
        )
        unprocessed = [_key(k) for k in got.get("UnprocessedResourceIdentifiers") or []]
        return list(got.get("BaseConfigurationItems") or []), unprocessed


def _key(identifier: dict[str, Any]) -> dict[str, str]:
    """An AggregateResourceIdentifier as the reconcile's key."""
    return {
        "resourceType": identifier["ResourceType"],
        "resourceId": identifier["ResourceId"],
        "accountId": identifier["SourceAccountId"],
        "region": identifier["SourceRegion"],
    }


class DynamoCmdbSettings:
    """The CMDB settings document (source priority, stale grace period, Config aggregator) and
    the reconcile cursor, on the cmdb table."""

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
