"""What a webhook puts on the `alert-ingest` queue: the raw payload (or where it was offloaded)
and the facts a consumer needs to normalise it the same way on every redelivery."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Any

# SQS takes 256 KiB a message; bodies up to 1 MB go to S3 and the message carries a pointer.
MAX_INLINE_BYTES = 200 * 1024


@dataclass(frozen=True)
class IngestEnvelope:
    source: str  # one of signals.INGEST_SOURCES, already detected for POST /v1/ingest
    received_at: str  # RFC 3339: the time a payload without its own times is dated with
    principal: str  # who posted it (an integration key's principal)
    request_id: str | None
    payload: Any = None  # the JSON body, when small enough to travel inline
    payload_s3: dict[str, str] | None = None  # {"bucket": ..., "key": ...} otherwise
    # generic: the integration key's fingerprint label set, so a redelivery fingerprints alike
    fingerprint_labels: list[str] | None = None

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, body: str) -> IngestEnvelope:
        """Raises ValueError/TypeError/KeyError for a message that is not an envelope."""
        data = json.loads(body)
        if not isinstance(data, dict):
            raise ValueError("the message is not an ingest envelope")
        return cls(
            source=str(data["source"]),
            received_at=str(data["received_at"]),
            principal=str(data["principal"]),
            request_id=data.get("request_id"),
            payload=data.get("payload"),
            payload_s3=data.get("payload_s3"),
            fingerprint_labels=_labels(data.get("fingerprint_labels")),
        )


def _labels(value: Any) -> list[str] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(x, str) for x in value):
        raise TypeError("fingerprint_labels must be a list of strings")
    return value
