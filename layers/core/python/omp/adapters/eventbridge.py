"""Domain events onto the platform bus."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

from omp.adapters.aws import client, translate
from omp.domain.errors import TransientError
from omp.domain.events import DomainEvent

_MAX_ENTRIES = 10  # PutEvents takes at most 10 entries a call


# PutEvents can refuse single entries (throttling, an internal failure) while accepting the
# rest: FailedEntryCount, not an exception, so botocore's retries never see it. The refused
# entries are sent again, alone, with a short backoff, before the request gives up (503).
PUT_ATTEMPTS = 3


class EventBridgePublisher:
    def __init__(self, bus_name: str) -> None:
        self.bus_name = bus_name

    def publish(self, events: Sequence[DomainEvent]) -> None:
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
            self._put(entries)

    def _put(self, entries: list[dict[str, Any]]) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        codes: set[str] = set()
        for attempt in range(PUT_ATTEMPTS):
            if attempt:
                time.sleep(0.05 * 2**attempt)
            try:
                result = client("events").put_events(Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                raise translate(exc) from exc
            if not result.get("FailedEntryCount"):
                return
            # Results come in the order of the entries; the refused ones carry an ErrorCode.
            refused = [
                (entry, answer)
                for entry, answer in zip(entries, result["Entries"], strict=True)
                if "ErrorCode" in answer
            ]
            codes = {str(answer["ErrorCode"]) for _, answer in refused} or {"unnamed"}
            entries = [entry for entry, _ in refused]
            if not entries:  # a failure count that names no entry: nothing to send again
                break
        raise TransientError(
            f"the event bus refused events ({', '.join(sorted(codes))})", code="EVENTS_FAILED"
        )
