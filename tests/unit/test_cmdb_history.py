"""The history hash chain: sealing, verification, the first broken link, speed."""

import copy

from omp.domain.cmdb.history import GENESIS, HistoryRecord, seal, verify


def chain(n, ci_id="ci_1"):
    out, prev = [], GENESIS
    for v in range(1, n + 1):
        rec = seal(
            HistoryRecord(
                ci_id=ci_id,
                version=v,
                change="created" if v == 1 else "updated",
                at=f"2026-01-01T00:00:{v % 60:02d}.000Z",
                actor="alice",
                request_id=f"r{v}",
                source="api",
                before=None if v == 1 else {"n": v - 1},
                after={"n": v},
                diff={"n": {"from": v - 1, "to": v}},
                prev_hash=prev,
            )
        )
        out.append(rec.model_dump(mode="json"))
        prev = rec.hash
    return out


def test_an_intact_chain_verifies():
    records = chain(5)
    result = verify("ci_1", records)
    assert result.valid and result.versions == 5 and result.head_hash == records[-1]["hash"]


def test_altering_a_record_breaks_it_at_that_version():
    records = chain(5)
    records[2]["after"] = {"n": 99}
    result = verify("ci_1", records)
    assert not result.valid and result.first_broken.version == 3
    assert "altered" in result.first_broken.reason


def test_rehashing_an_altered_record_breaks_the_next_link():
    records = chain(5)
    forged = copy.deepcopy(records[1])
    forged["actor"] = "mallory"
    forged_rec = seal(HistoryRecord.model_validate({**forged, "hash": ""}))
    records[1] = forged_rec.model_dump(mode="json")
    result = verify("ci_1", records)
    assert not result.valid and result.first_broken.version == 3
    assert "prev_hash" in result.first_broken.reason


def test_a_missing_version_is_named():
    records = chain(5)
    del records[3]
    result = verify("ci_1", records)
    assert not result.valid and result.first_broken.version == 4


def test_a_record_of_another_ci_is_refused():
    records = chain(2) + chain(3, "ci_2")[2:]
    assert verify("ci_1", records).first_broken.version == 3


def test_a_ten_thousand_version_chain_verifies():
    # Its speed (target: under 1 s) is measured in bench.cmdb_graph, not asserted here.
    records = chain(10_000)
    result = verify("ci_1", records)
    assert result.valid and result.versions == 10_000
