"""The NetBox import's bulk path under moto + gremlite: new CIs written several to a
transaction, one CisImported / RelationsImported event per chunk (not one per CI), the graph
and search consumers taking a chunk, and every per-item outcome the one-by-one batch upsert
would give (a claim taken by another CI in the same chunk, an update, a bad record)."""

import copy

import pytest

from omp.adapters.dynamo_cmdb import DynamoCiRepository, DynamoCiTypeRepository
from omp.adapters.memory import MemoryPublisher, SystemClock
from omp.adapters.sqlite_search import SqliteSearchIndex
from omp.domain.cmdb.cis import UpsertItem
from omp.runtime import container
from omp.services import cmdb, cmdb_import
from tests.integration.test_cmdb_import import DUMP, _ci, _run, _start
from tests.support import PREFIX, call_api, invoke


def _ctx():
    return cmdb.Context(actor="tester", request_id="imp_test", source="netbox", reason="test")


def _types():
    return cmdb.TypeCache(DynamoCiTypeRepository(PREFIX + "cmdb"))


def _repo():
    return DynamoCiRepository(PREFIX + "cmdb")


def test_an_import_publishes_one_event_per_chunk_not_per_ci(graph):
    published = MemoryPublisher()
    with container.override(publisher=published):
        done = _run(_start(DUMP)["id"])
    assert done["status"] == "succeeded" and done["counts"]["created"] == 14
    kinds = [e.detail_type for e in published.events]
    assert kinds == ["CisImported", "RelationsImported"]
    cis = published.events[0].detail["cis"]
    assert len(cis) == 14 and {c["change"] for c in cis} == {"CiCreated"}
    assert published.events[0].detail["import_id"] == done["id"]
    assert len(published.events[1].detail["relations"]) == 20
    # a re-run changes nothing, so it tells nobody anything
    published.events.clear()
    with container.override(publisher=published):
        again = _run(_start(DUMP)["id"])
    assert again["counts"]["unchanged"] == 14 and published.events == []


def test_a_changed_record_is_updated_with_one_new_version(graph):
    _run(_start(DUMP)["id"])
    changed = copy.deepcopy(DUMP)
    rack = next(o for o in changed if o["model"] == "dcim.rack")
    rack["fields"]["u_height"] = 48
    published = MemoryPublisher()
    with container.override(publisher=published):
        job = _run(_start(changed)["id"])
    assert job["counts"]["updated"] == 1 and job["counts"]["unchanged"] == 13
    r1 = _ci("rack", "R1")
    assert r1["attributes"]["u_height"] == 48 and r1["version"] == 2
    _, body, _ = call_api("get-ci-history", path_params={"ci_id": r1["id"]})
    assert [h["change"] for h in body["history"]] == ["created", "updated"]
    _, verdict, _ = call_api("verify-ci-history", path_params={"ci_id": r1["id"]})
    verdict = verdict["verification"]
    assert verdict["valid"] is True
    assert published.events[0].detail["cis"] == [
        {"ci_id": r1["id"], "type": "rack", "change": "CiChanged"}
    ]


def test_a_bad_record_is_reported_and_the_rest_imported(graph):
    bad = copy.deepcopy(DUMP)
    next(o for o in bad if o["model"] == "ipam.prefix")["fields"]["prefix"] = "not-a-cidr"
    next(o for o in bad if o["model"] == "dcim.device")["fields"]["name"] = "x" * 300
    job = _run(_start(bad)["id"])
    assert job["status"] == "succeeded", job
    # the prefix fails its type's check, rtr1's interface its name's length (305 > 256)
    assert job["counts"]["failed"] == 2 and job["counts"]["created"] == 12
    assert "ipam.prefix 1" in job["error"] and "dcim.interface 1" in job["error"]
    assert _ci("site", "NYC")["attributes"]["netbox_id"] == 1


ARN = "arn:aws:ec2:us-east-1:123456789012:vpc"


def test_new_cis_claiming_one_unique_value_are_reported_not_lost(graph):
    """Two new VPCs with one vpc_id in a chunk: different transactions, the first is created,
    the second fails UNIQUE_VIOLATION (through the one-by-one path), the others are written."""
    items = [
        UpsertItem(type="vpc", name="a", attributes={"arn": f"{ARN}/a", "vpc_id": "vpc-1"}),
        UpsertItem(type="vpc", name="b", attributes={"arn": f"{ARN}/b", "vpc_id": "vpc-1"}),
        UpsertItem(type="team", name="payments"),
        UpsertItem(type="nope", name="x"),
    ]
    results, changes = cmdb_import.upsert_chunk(
        items, _ctx(), types=_types(), repo=_repo(), clock=SystemClock()
    )
    assert [r.outcome for r in results] == ["created", "failed", "created", "failed"]
    assert [r.index for r in results] == [0, 1, 2, 3]
    assert results[1].error["code"] == "UNIQUE_VIOLATION"
    assert results[3].error["code"] == "UNKNOWN_CI_TYPE"
    assert {c["ci_id"] for c in changes} == {results[0].ci_id, results[2].ci_id}
    # the same items again: unchanged, no versions added
    again, changes = cmdb_import.upsert_chunk(
        items[:3], _ctx(), types=_types(), repo=_repo(), clock=SystemClock()
    )
    assert [r.outcome for r in again] == ["unchanged", "failed", "unchanged"] and changes == []


@pytest.mark.parametrize("max_bytes", [cmdb_import._TX_BYTES, 5_000])
def test_many_new_cis_span_several_transactions(graph, monkeypatch, max_bytes):
    monkeypatch.setattr(cmdb_import, "_TX_BYTES", max_bytes)  # 5,000: a few CIs a transaction
    writes = []
    real = DynamoCiRepository.write_many
    monkeypatch.setattr(
        DynamoCiRepository,
        "write_many",
        lambda self, w: (writes.append(len(w)), real(self, w))[1],
    )
    items = [UpsertItem(type="team", name=f"team-{i:03d}") for i in range(120)]
    results, changes = cmdb_import.upsert_chunk(
        items, _ctx(), types=_types(), repo=_repo(), clock=SystemClock()
    )
    assert {r.outcome for r in results} == {"created"} and len(changes) == 120
    assert sum(writes) == 120 and max(writes) <= 33  # a team CI: 3 items (CI, history, key)
    if max_bytes > 100_000:
        assert writes == [33, 33, 33, 21]  # by the 100-item limit
    else:
        assert len(writes) > 10  # by the size estimate
    found = _repo().get_many([r.ci_id for r in results])
    assert sorted(c.name for c in found.values()) == [f"team-{i:03d}" for i in range(120)]
    for r in results[::40]:
        _, verdict, _ = call_api("verify-ci-history", path_params={"ci_id": r.ci_id})
        verdict = verdict["verification"]
        assert verdict["valid"] is True and verdict["versions"] == 1


def test_the_graph_and_search_consumers_take_a_chunk(graph, tmp_path):
    search = SqliteSearchIndex(str(tmp_path / "search.sqlite"))
    published = MemoryPublisher()
    with container.override(publisher=published, search=search):
        _run(_start(DUMP)["id"])
        event = {
            "source": "omp.cmdb",
            "detail-type": "CisImported",
            "detail": published.events[0].detail,
        }
        assert invoke("index-ci", event) == {"ci_ids": 14, "indexed": 14}
        status, body, _ = call_api("search-cis", query={"q": "rtr1"})
        assert status == 200 and "rtr1" in {c["name"] for c in body["cis"]}
        rtr = _ci("device", "rtr1")
        call_api("retire-ci", path_params={"ci_id": rtr["id"]})
        assert invoke("sync-ci-graph", event) == {"ci_ids": 14, "derived": 0}
    assert graph.vertices([rtr["id"]])[rtr["id"]]["status"] == "retired"
    with pytest.raises(ValueError):
        cmdb_import.changed_ids({"cis": None})


def test_a_run_out_of_time_queues_the_job_again_and_the_next_goes_on(graph, monkeypatch):
    from omp.runtime import deadline

    monkeypatch.setattr(cmdb_import, "CHUNK", 5)
    monkeypatch.setattr(deadline, "time_left", lambda context, reserve_ms: lambda: False)
    job = _start(DUMP)
    first = _run(job["id"])
    assert first["status"] == "running" and (first["cis_done"], first["cis_total"]) == (5, 14)
    assert first["counts"]["created"] == 5
    second = _run(job["id"])  # the message the first run queued
    assert second["status"] == "running" and second["cis_done"] == 10
    done = _run(job["id"])
    assert done["status"] == "succeeded" and done["cis_done"] == 14
    counts = done["counts"]
    assert counts["created"] == 14 and counts["unchanged"] == 0 and counts["failed"] == 0
    assert counts["relations_added"] == 20  # the earlier chunks' CIs were found again
    again = _run(_start(DUMP)["id"])
    assert again["status"] == "running" and again["counts"]["unchanged"] == 5
