"""Domain events onto the platform bus."""

from __future__ import annotations

import json
from collections.abc import Sequence

from omp.adapters.aws import client, translate
from omp.domain.errors import TransientError
from omp.domain.events import DomainEvent

_MAX_ENTRIES = 10  # PutEvents takes at most 10 entries a call


class EventBridgePublisher:
    def __init__(self, bus_name: str) -> None:
        self.bus_name = bus_name

    def publish(self, events: Sequence[DomainEvent]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        for start in range(0, len(events), _MAX_ENTRIES):
            entries = [
                {
                    "EventBusName": self.bus_name,
                    "Source": e.source,
                    "DetailType": e.detail_type,
                    "Detail": json.dumps(e.detail, separators=(",", ":")),
                    "Resources": e.resources,
                }
                for e in events[start : start + _MAX_ENTRIES]
            ]
            try:
                result = client("events").put_events(Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                raise translate(exc) from exc
            if result.get("FailedEntryCount"):
                codes = sorted(
                    {r.get("ErrorCode", "?") for r in result["Entries"] if "ErrorCode" in r}
                )
                raise TransientError(
                    f"the event bus refused events ({', '.join(codes)})", code="EVENTS_FAILED"
                )
