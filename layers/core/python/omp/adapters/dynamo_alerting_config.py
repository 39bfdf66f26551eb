"""The alerting settings on the monitoring table: pk `ALERTING_CONFIG`, sk `C`: the settings
as JSON, `version`, `updated_at`, `updated_by` (one item, like the notification config)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from omp.adapters.dynamo_documents import VersionedDocument
from omp.domain.errors import Conflict
from omp.domain.timeutil import iso

CONFIG_PK = "ALERTING_CONFIG"


class DynamoAlertingConfigStore(VersionedDocument):
    """get: one eventually consistent GetItem (once per batch); put: one conditional PutItem
    on the version read (409 VERSION_CONFLICT)."""

    def __init__(self, table: str) -> None:
        super().__init__(table, {"pk": CONFIG_PK, "sk": "C"}, "the alerting configuration")


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
            "updated_at": iso(now),
            "updated_by": actor,
        }
        return dict(self.stored)
