"""The tamper-evident change history of a CI: one record per version, chained by hashes.

Each record's `hash` is sha256 over the previous record's hash and the canonical JSON of the
record without its hash (keys sorted, no spaces, UTF-8). Altering any stored field, removing a
version or reordering versions breaks the chain at that version, and `verify` names it.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Literal

from omp.domain.model import Model

GENESIS = "0" * 64

Change = Literal["created", "updated", "retired", "restored"]


class HistoryRecord(Model):
    ci_id: str
    version: int
    change: Change
    at: str
    actor: str
    request_id: str | None = None
    source: str
    reason: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any]
    diff: dict[str, Any]
    prev_hash: str
    hash: str = ""


def canonical(values: dict[str, Any]) -> bytes:
    return json.dumps(
        values, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


def digest(prev_hash: str, body: dict[str, Any]) -> str:
    """The hash of a record given as a dict without its `hash` key."""
    return hashlib.sha256(prev_hash.encode() + canonical(body)).hexdigest()


def seal(record: HistoryRecord) -> HistoryRecord:
    body = record.model_dump(mode="json", exclude={"hash"})
    return record.model_copy(update={"hash": digest(record.prev_hash, body)})


class BrokenLink(Model):
    version: int
    reason: str


class VerifyResult(Model):
    ci_id: str
    valid: bool
    versions: int
    head_hash: str | None = None
    first_broken: BrokenLink | None = None


def verify(ci_id: str, records: list[dict[str, Any]]) -> VerifyResult:
    """Check the chain oldest first. Works on the stored dicts as read (no model building: a
    10,000-version chain verifies in well under a second)."""
    prev = GENESIS
    expected_version = 1
    for raw in records:
        version = raw.get("version")
        body = {k: v for k, v in raw.items() if k != "hash"}
        if version != expected_version:
            return _broken(ci_id, len(records), expected_version, f"version {version} found")
        if raw.get("ci_id") != ci_id:
            return _broken(ci_id, len(records), expected_version, "the record names another CI")
        if raw.get("prev_hash") != prev:
            return _broken(
                ci_id, len(records), expected_version, "prev_hash does not match the previous hash"
            )
        if digest(prev, body) != raw.get("hash"):
            return _broken(
                ci_id, len(records), expected_version, "the record was altered (hash mismatch)"
            )
        prev = str(raw["hash"])
        expected_version += 1
    return VerifyResult(
        ci_id=ci_id, valid=True, versions=len(records), head_hash=prev if records else None
    )


def _broken(ci_id: str, count: int, version: int, reason: str) -> VerifyResult:
    return VerifyResult(
        ci_id=ci_id,
        valid=False,
        versions=count,
        first_broken=BrokenLink(version=version, reason=reason),
    )


class HistoryResponse(Model):
    history: list[HistoryRecord]
    next_token: str | None = None


class VerifyResponse(Model):
    verification: VerifyResult
