"""Anchors of CI history heads: the pure parts, and the anchoring run over in-memory fakes."""

import hashlib
from datetime import UTC, datetime, timedelta

from omp.domain.cmdb.anchors import (
    GENESIS,
    anchor_key,
    build_anchor,
    check_anchor,
    compare,
    head_key,
    merkle_root,
)
from omp.domain.cmdb.history import VerifyResult
from omp.domain.errors import Conflict
from omp.services import cmdb_anchors

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def head(ci, version, h="a"):
    return {"ci_id": ci, "version": version, "head_hash": h * 64}


def test_keys_list_newest_first():
    assert anchor_key(2) < anchor_key(1) and anchor_key(11) < anchor_key(10)
    assert head_key("ci_X", 5) < head_key("ci_X", 4) and head_key("ci_X", 4).startswith(
        "heads/ci_X/"
    )


def test_merkle_root_depends_on_every_entry_and_its_place():
    entries = [head(f"ci_{i}", 1) for i in range(5)]
    root = merkle_root(entries)
    assert len(root) == 64 and root != merkle_root(entries[:4])
    assert merkle_root([entries[1], entries[0], *entries[2:]]) != root
    changed = [*entries[:4], head("ci_4", 2)]
    assert merkle_root(changed) != root
    assert merkle_root([]) == hashlib.sha256(b"").hexdigest()
    # a single leaf is its own root, and two leaves are not the hash of their concatenation
    assert merkle_root(entries[:1]) != merkle_root(entries[:2])


def test_build_keeps_the_newest_version_per_ci_sorted_and_chains():
    first = build_anchor(
        seq=1,
        at="t",
        heads=[head("ci_B", 1), head("ci_A", 2), head("ci_A", 3, "b")],
        cursor={},
        prev=None,
    )
    assert [(e["ci_id"], e["version"]) for e in first["entries"]] == [("ci_A", 3), ("ci_B", 1)]
    assert first["prev_hash"] == GENESIS and first["prev_key"] is None
    assert check_anchor(first) is None
    second = build_anchor(seq=2, at="t", heads=[], cursor={}, prev=first)
    assert second["prev_hash"] == first["hash"] and second["prev_key"] == first["key"]
    assert check_anchor(dict(first, at="u")) == "the anchor was altered (hash mismatch)"
    assert "Merkle" in check_anchor(dict(first, entries=first["entries"][:1], count=1))


def _records(*hashes):
    return [{"version": i + 1, "hash": h} for i, h in enumerate(hashes)]


def test_compare_with_the_anchored_head():
    ok = VerifyResult(ci_id="ci_X", valid=True, versions=2, head_hash="b" * 64)
    records = _records("a" * 64, "b" * 64)
    anchored = {"version": 1, "head_hash": "a" * 64, "anchor_key": "k", "at": "t"}
    assert compare(ok, records, None).anchored is None
    out = compare(ok, records, anchored)
    assert out.valid and out.anchored and out.anchored.matches
    out = compare(ok, records, anchored | {"head_hash": "c" * 64})
    assert not out.valid and out.first_broken and out.first_broken.version == 1
    out = compare(ok, records, anchored | {"version": 3})
    assert not out.valid and "missing" in out.first_broken.reason  # type: ignore[union-attr]


class Changes:
    def __init__(self, all_heads, changed):
        self.all_heads, self.changed_heads = all_heads, changed
        self.windows = []

    def all_cis(self, start_key, limit):
        start = start_key["i"] if start_key else 0
        page = self.all_heads[start : start + limit]
        more = start + limit < len(self.all_heads)
        return page, {"i": start + limit} if more else None

    def changed(self, after, upto, limit):
        self.windows.append((after, upto))
        return [h for h in self.changed_heads if after < h["at"] <= upto], upto


class Store:
    def __init__(self):
        self.items, self.heads = [], []
        self.conflict = False

    def latest(self):
        return self.items[-1] if self.items else None

    def put_heads(self, anchor):
        self.heads += anchor["entries"]

    def put_anchor(self, anchor):
        if self.conflict:
            raise Conflict("exists", code="ANCHOR_EXISTS")
        self.items.append(anchor)

    def anchors(self, limit, start_after=None):
        return list(reversed(self.items))[:limit]

    def latest_head(self, ci_id):
        return None


def test_run_backfills_then_follows_changes_with_a_lag_and_a_heartbeat():
    changes = Changes([head(f"ci_{i}", 1) for i in range(3)], [])
    store = Store()
    run = cmdb_anchors.anchor_heads(changes, store, now=NOW, time_left=lambda: True, batch=2)
    assert (run.anchors, run.heads, run.complete) == (2, 3, True)
    assert store.items[-1]["cursor"] == {
        "backfill": False,
        "start_key": None,
        "after": "2026-03-01T11:58:00.000Z",
    }
    changes.changed_heads = [head("ci_0", 2) | {"at": "2026-03-01T11:59:00.000Z"}]
    run = cmdb_anchors.anchor_heads(
        changes, store, now=NOW + timedelta(minutes=5), time_left=lambda: True
    )
    assert run.heads == 1 and changes.windows[-1] == (
        "2026-03-01T11:58:00.000Z",
        "2026-03-01T12:03:00.000Z",
    )
    run = cmdb_anchors.anchor_heads(
        changes, store, now=NOW + timedelta(minutes=10), time_left=lambda: True
    )
    assert run.anchors == 0 and run.complete  # nothing new: no anchor
    run = cmdb_anchors.anchor_heads(
        changes, store, now=NOW + timedelta(minutes=70), time_left=lambda: True
    )
    assert run.anchors == 1 and run.heads == 0  # the hourly heartbeat moves the cursor
    assert cmdb_anchors.verify_anchors(store, limit=100).valid


def test_run_stops_when_another_run_took_the_number():
    store = Store()
    store.conflict = True
    run = cmdb_anchors.anchor_heads(
        Changes([head("ci_0", 1)], []), store, now=NOW, time_left=lambda: True
    )
    assert run.anchors == 0 and "another run" in (run.reason or "")
