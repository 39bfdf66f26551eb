"""Anchors: the heads of CI history chains, written on a schedule to an S3 bucket under Object
Lock, so that a rewrite of a whole chain together with its CI item is still detected.

An anchor is one object: the heads (`ci_id`, `version`, `head_hash`) of every CI changed in a
window, a Merkle root over them, and the previous anchor's key and hash, so the anchors form
their own hash chain. Next to it, one small object per anchored CI (`heads/<ci_id>/...`) lets a
verification find the newest anchored head of a CI with one List and one Get.

Keys count down (`10**12 - seq`), so listing a prefix returns the newest object first.
"""

from __future__ import annotations

import hashlib
from typing import Any

from pydantic import Field

from omp.domain.cmdb.history import BrokenLink, VerifyResult, canonical
from omp.domain.model import Model

ANCHOR_PREFIX = "anchors/"
HEAD_PREFIX = "heads/"
_TOP = 10**12
GENESIS = "0" * 64


def anchor_key(seq: int) -> str:
    return f"{ANCHOR_PREFIX}{_TOP - seq:012d}-{seq}.json"


def head_key(ci_id: str, seq: int) -> str:
    return f"{HEAD_PREFIX}{ci_id}/{_TOP - seq:012d}.json"


def entry_leaf(entry: dict[str, Any]) -> bytes:
    # Domain-separated leaves and nodes (0x00 / 0x01): a node can never pass for a leaf.
    return hashlib.sha256(b"\x00" + canonical(entry)).digest()


def merkle_root(entries: list[dict[str, Any]]) -> str:
    """The Merkle root over the entries in the order given (sorted by ci_id by the builder); an
    odd node at a level is carried up unchanged. sha256 of nothing for no entries."""
    level = [entry_leaf(e) for e in entries]
    if not level:
        return hashlib.sha256(b"").hexdigest()
    while len(level) > 1:
        nxt = [
            hashlib.sha256(b"\x01" + level[i] + level[i + 1]).digest()
            for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0].hex()


def anchor_hash(body: dict[str, Any]) -> str:
    """sha256 over the canonical JSON of the anchor without its `hash`."""
    return hashlib.sha256(canonical({k: v for k, v in body.items() if k != "hash"})).hexdigest()


def build_anchor(
    *,
    seq: int,
    at: str,
    heads: list[dict[str, Any]],
    cursor: dict[str, Any],
    prev: dict[str, Any] | None,
) -> dict[str, Any]:
    """A sealed anchor. `heads`: {ci_id, version, head_hash}, the newest per CI kept."""
    newest: dict[str, dict[str, Any]] = {}
    for head in heads:
        kept = newest.get(head["ci_id"])
        if kept is None or int(head["version"]) > int(kept["version"]):
            newest[head["ci_id"]] = {
                "ci_id": head["ci_id"],
                "version": int(head["version"]),
                "head_hash": head["head_hash"],
            }
    entries = [newest[k] for k in sorted(newest)]
    body: dict[str, Any] = {
        "seq": seq,
        "key": anchor_key(seq),
        "at": at,
        "cursor": cursor,
        "prev_key": prev["key"] if prev else None,
        "prev_hash": prev["hash"] if prev else GENESIS,
        "count": len(entries),
        "root": merkle_root(entries),
        "entries": entries,
    }
    body["hash"] = anchor_hash(body)
    return body


def check_anchor(anchor: dict[str, Any]) -> str | None:
    """Why a single anchor object is not what its writer sealed, or None."""
    entries = anchor.get("entries")
    if not isinstance(entries, list):
        return "the anchor has no entries list"
    if anchor.get("count") != len(entries):
        return "count does not match the entries"
    if merkle_root(entries) != anchor.get("root"):
        return "the Merkle root does not match the entries"
    if anchor_hash(anchor) != anchor.get("hash"):
        return "the anchor was altered (hash mismatch)"
    return None


# ---- answers --------------------------------------------------------------------------------


class AnchoredHead(Model):
    """The newest anchored head of a CI, and whether the stored chain still has it."""

    version: int
    head_hash: str
    anchor_key: str
    anchored_at: str | None = None
    matches: bool


class AnchoredVerifyResult(VerifyResult):
    anchored: AnchoredHead | None = Field(
        default=None, description="null: the CI has not been anchored yet"
    )


class AnchoredVerifyResponse(Model):
    verification: AnchoredVerifyResult


def compare(
    result: VerifyResult, records: list[dict[str, Any]], head: dict[str, Any] | None
) -> AnchoredVerifyResult:
    """The chain's verification with the anchored head: the chain must still hold, at the
    anchored version, the anchored hash. A consistent rewrite (every hash recomputed, the CI
    item's head_hash too) passes the chain check and fails this one."""
    out = AnchoredVerifyResult(**result.model_dump())
    if head is None:
        return out
    version = int(head["version"])
    stored = records[version - 1] if 0 < version <= len(records) else None
    matches = (
        stored is not None
        and stored.get("version") == version
        and stored.get("hash") == head["head_hash"]
    )
    out.anchored = AnchoredHead(
        version=version,
        head_hash=str(head["head_hash"]),
        anchor_key=str(head["anchor_key"]),
        anchored_at=head.get("at"),
        matches=matches,
    )
    if not matches and out.valid:
        out.valid = False
        out.first_broken = BrokenLink(
            version=version,
            reason=(
                f"version {version} differs from its anchored head ({head['anchor_key']})"
                if stored is not None
                else f"version {version} is anchored ({head['anchor_key']}) but missing"
            ),
        )
    return out


class AnchorChainResult(Model):
    valid: bool
    anchors: int = Field(description="anchors checked, newest first")
    newest_seq: int | None = None
    oldest_seq: int | None = None
    complete: bool = Field(description="true when the check reached the first anchor")
    first_broken: dict[str, Any] | None = Field(
        default=None, description="{seq, key, reason} of the newest anchor found broken"
    )


class AnchorChainResponse(Model):
    anchor_chain: AnchorChainResult


def verify_chain(
    anchors_newest_first: list[dict[str, Any]], reached_start: bool
) -> AnchorChainResult:
    """Each anchor sealed as written, numbered one below the one after it, and naming that
    one's key and hash as its predecessor. A hidden or removed anchor shows as a gap."""

    def broken(anchor: dict[str, Any], reason: str, count: int) -> AnchorChainResult:
        return AnchorChainResult(
            valid=False,
            anchors=count,
            newest_seq=anchors_newest_first[0].get("seq"),
            oldest_seq=anchor.get("seq"),
            complete=False,
            first_broken={"seq": anchor.get("seq"), "key": anchor.get("key"), "reason": reason},
        )

    after: dict[str, Any] | None = None
    for i, anchor in enumerate(anchors_newest_first):
        why = check_anchor(anchor)
        if why:
            return broken(anchor, why, i + 1)
        if after is not None:
            if anchor.get("seq") != int(after["seq"]) - 1:
                return broken(after, f"anchor {int(after['seq']) - 1} is missing", i + 1)
            if after.get("prev_key") != anchor.get("key") or after.get("prev_hash") != anchor.get(
                "hash"
            ):
                return broken(after, "prev_key/prev_hash do not name the previous anchor", i + 1)
        after = anchor
    if (
        after is not None
        and reached_start
        and (after.get("seq") != 1 or after.get("prev_hash") != GENESIS)
    ):
        return broken(after, "the oldest anchor is not anchor 1", len(anchors_newest_first))
    return AnchorChainResult(
        valid=True,
        anchors=len(anchors_newest_first),
        newest_seq=anchors_newest_first[0].get("seq") if anchors_newest_first else None,
        oldest_seq=after.get("seq") if after else None,
        complete=reached_start,
    )
