"""Anchoring CI history heads to the Object Lock bucket, and verifying against the anchors.

The first run anchors every CI (gsi2, a page per anchor); after that each anchor holds the CIs
changed since the previous one's cursor (gsi3), up to `LAG` before now: a change is stamped
before its transaction commits, and the lag leaves room for that (and for the index's
eventual consistency).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from omp.domain.cmdb.anchors import (
    AnchorChainResult,
    AnchoredVerifyResult,
    build_anchor,
    compare,
    verify_chain,
)
from omp.domain.errors import Conflict
from omp.domain.timeutil import iso, parse

if TYPE_CHECKING:  # omp.ports imports every domain module: not at a handler's cold start
    from omp.ports import AnchorStore, CiChanges, CiRepository

LAG = timedelta(minutes=2)
BATCH = 1000  # CIs per anchor: one anchor object, BATCH head objects
HEARTBEAT = timedelta(hours=1)  # with nothing changed, an (empty) anchor at most this often


@dataclass
class AnchorRun:
    anchors: int = 0
    heads: int = 0
    newest_seq: int | None = None
    complete: bool = False  # caught up to now - LAG
    reason: str | None = None  # why it stopped early


def anchor_heads(
    changes: CiChanges,
    store: AnchorStore,
    *,
    now: datetime,
    time_left: Callable[[], bool],
    batch: int = BATCH,
) -> AnchorRun:
    run = AnchorRun()
    prev = store.latest()
    upto = iso(now - LAG)
    while True:
        if not time_left():
            run.reason = "deadline"
            return run
        cursor: dict[str, Any] = (
            dict(prev["cursor"])
            if prev
            else {"backfill": True, "start_key": None, "after": upto}  # the first pass
        )
        if cursor["backfill"]:
            heads, next_key = changes.all_cis(cursor.get("start_key"), batch)
            new_cursor: dict[str, Any] = {
                "backfill": next_key is not None,
                "start_key": next_key,
                "after": cursor["after"],
            }
        else:
            if upto <= cursor["after"]:
                run.complete = True
                return run
            heads, reached = changes.changed(cursor["after"], upto, batch)
            new_cursor = {"backfill": False, "start_key": None, "after": reached}
            stale = parse(upto) - parse(cursor["after"]) >= HEARTBEAT
            if not heads and not stale:
                run.complete = True  # nothing changed: no anchor until the heartbeat is due
                return run
        seq = int(prev["seq"]) + 1 if prev else 1
        anchor = build_anchor(seq=seq, at=iso(now), heads=heads, cursor=new_cursor, prev=prev)
        store.put_heads(anchor)
        try:
            store.put_anchor(anchor)
        except Conflict:
            run.reason = f"anchor {seq} was written by another run"
            return run
        run.anchors += 1
        run.heads += int(anchor["count"])
        run.newest_seq = seq
        prev = anchor
        if not new_cursor["backfill"] and new_cursor["after"] == upto:
            run.complete = True
            return run


class _Keeping:
    """The CI repository, keeping the records `all_history` read (verification needs them
    again for the anchored version; read once)."""

    def __init__(self, repo: CiRepository) -> None:
        self.repo = repo
        self.records: list[dict[str, Any]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.repo, name)

    def all_history(self, ci_id: str) -> list[dict[str, Any]]:
        self.records = self.repo.all_history(ci_id)
        return self.records


def verify_history(ci_id: str, *, repo: CiRepository, store: AnchorStore) -> AnchoredVerifyResult:
    """The chain checked link by link and against the CI item (omp.services.cmdb), then against
    the newest anchored head of the CI."""
    from omp.services import cmdb

    keeping = _Keeping(repo)
    result = cmdb.verify_history(ci_id, repo=keeping)
    return compare(result, keeping.records, store.latest_head(ci_id))


def verify_anchors(store: AnchorStore, *, limit: int) -> AnchorChainResult:
    """The newest `limit` anchors: each sealed, and each naming the one before it."""
    anchors = store.anchors(limit)
    reached_start = len(anchors) < limit or (bool(anchors) and anchors[-1].get("seq") == 1)
    return verify_chain(anchors, reached_start)
