"""NetBox import jobs: accept the file (202), then a queue consumer runs the plan.

A file that is not a NetBox dumpdata export fails its job with the reason before anything is
written. A re-run of the same file is all `unchanged` CIs and `existing` relations: no new
versions, no new edges (CIs match on their NetBox id, edges on source, type and target).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from omp.domain.cmdb import netbox
from omp.domain.cmdb.cis import (
    MAX_BATCH,
    BatchUpsert,
    Ci,
    CiStatus,
    CreateCi,
    UpsertItem,
    UpsertResult,
)
from omp.domain.cmdb.cis import (
    SOURCE as EVENT_SOURCE,
)
from omp.domain.cmdb.imports import ID_PREFIX, ImportJob
from omp.domain.cmdb.types import check_attributes
from omp.domain.errors import Conflict, DomainError, NotFound, ValidationFailed
from omp.domain.events import DomainEvent
from omp.domain.ids import is_id, new_id
from omp.domain.timeutil import iso
from omp.services import cmdb, topology
from omp.services.cmdb import Context, TypeCache, batch_upsert

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from omp.ports import CiRepository, Clock, EventPublisher, Graph, SearchIndex

SOURCE = "netbox"
# One event for a chunk of imported CIs (relations) instead of one per CI (relation): the graph
# and search consumers handle the chunk in one transaction each, the audit log keeps one entry.
CIS_IMPORTED = "CisImported"
RELATIONS_IMPORTED = "RelationsImported"
CHUNK = MAX_BATCH  # CIs per progress save and per CisImported event
_TX_ITEMS = 100  # DynamoDB TransactWriteItems limits: 100 items, 4 MB in all
_TX_BYTES = 3_000_000  # estimated as 3x the CI's JSON (the CI item, the history record's after)


def start(raw: bytes, *, actor: str, jobs: Any, files: Any, clock: Clock) -> ImportJob:
    stamp = iso(clock.now())
    job_id = new_id(ID_PREFIX)
    job = ImportJob(
        id=job_id,
        status="queued",
        object_key=f"netbox/{job_id}.json",
        created_by=actor,
        created_at=stamp,
        updated_at=stamp,
    )
    files.put(job.object_key, raw)
    jobs.save(job)
    files.enqueue(job_id)
    return job


def get(job_id: str, *, jobs: Any) -> ImportJob:
    job: ImportJob | None = jobs.get(job_id) if is_id(job_id, ID_PREFIX) else None
    if job is None:
        raise NotFound(f"import job {job_id} does not exist", code="IMPORT_NOT_FOUND")
    return job


class _Collected:
    """An EventPublisher that keeps what it is given (published aggregated afterwards)."""

    def __init__(self) -> None:
        self.events: list[DomainEvent] = []

    def publish(self, events: Sequence[DomainEvent]) -> None:
        self.events.extend(events)


def run(
    job_id: str,
    *,
    jobs: Any,
    files: Any,
    types: TypeCache,
    repo: CiRepository,
    graph: Graph,
    events: EventPublisher,
    clock: Clock,
    time_left: Callable[[], bool] = lambda: True,
) -> ImportJob:
    """Run (or go on with) a job. After each chunk of CIs the job saves its counts and how
    far it got (`cis_done`); when `time_left()` turns False it queues itself again and
    returns, and the next run goes on from there (the chunks done are read again to learn
    their CI ids for the relations, not counted again). A crash mid-way does the same through
    the message's redelivery."""
    job = get(job_id, jobs=jobs)
    if job.status in ("succeeded", "failed"):
        return job  # a redelivered message

    def save(**changes: Any) -> ImportJob:
        nonlocal job
        job = job.model_copy(update={**changes, "updated_at": iso(clock.now())})
        jobs.save(job)
        return job

    save(status="running")
    try:
        plan = netbox.plan(netbox.parse(files.get(job.object_key)))
    except netbox.NotNetBox as exc:
        return save(status="failed", error=f"not a NetBox dumpdata file: {exc}")
    counts = {
        "objects_skipped": plan.skipped,
        "created": 0,
        "updated": 0,
        "unchanged": 0,
        "failed": 0,
    }
    resume_at = job.cis_done if job.cis_total == len(plan.cis) else 0
    errors: list[str] = []
    if resume_at:
        counts |= job.counts
        errors = job.error.split("; ") if job.error else []
    ctx = Context(
        actor=job.created_by, request_id=job.id, source=SOURCE, reason=f"NetBox import {job.id}"
    )
    keys = list(plan.cis)
    found: dict[netbox.Key, str] = {}
    save(cis_total=len(keys), cis_done=resume_at)
    for start_at in range(0, len(keys), CHUNK):
        chunk = keys[start_at : start_at + CHUNK]
        done_before = start_at < resume_at  # written by an earlier run: only learn the ids
        items: list[UpsertItem | None] = []
        for key in chunk:
            try:
                items.append(UpsertItem.model_validate(plan.cis[key]))
            except ValidationError as exc:  # a record the CI model refuses: reported, not fatal
                items.append(None)
                if len(errors) < 10 and not done_before:
                    errors.append(f"{key[0]} {key[1]}: {exc.errors()[0]['msg']}")
        valid = [i for i, item in enumerate(items) if item is not None]
        results, changes = upsert_chunk(
            [item for item in items if item is not None],
            ctx,
            types=types,
            repo=repo,
            clock=clock,
        )
        for i, result in zip(valid, results, strict=True):
            if result.ci_id:
                found[chunk[i]] = result.ci_id
        if changes:
            events.publish([_batch_event(CIS_IMPORTED, ctx, "cis", changes)])
        if done_before:
            continue
        counts["failed"] += len(chunk) - len(valid)
        for i, result in zip(valid, results, strict=True):
            key = chunk[i]
            counts[result.outcome] += 1
            if not result.ci_id and result.error and len(errors) < 10:
                errors.append(f"{key[0]} {key[1]}: {result.error.get('message')}")
        done = start_at + len(chunk)
        save(counts=dict(counts), cis_done=done, error="; ".join(errors) or None)
        if done < len(keys) and not time_left():
            files.enqueue(job.id)  # the next run goes on from `cis_done`
            return job
    cis: dict[str, Ci] = repo.get_many(list(found.values()))
    edges = [
        (cis[found[s]], relation, cis[found[t]])
        for s, relation, t in plan.relations
        if s in found and t in found and found[s] in cis and found[t] in cis
    ]
    added = _Collected()
    counts |= topology.bulk_relate(
        edges,
        actor=job.created_by,
        source_name=SOURCE,
        types=types,
        graph=graph,
        events=added,
        clock=clock,
    )
    relations = [
        {k: e.detail["relation"][k] for k in ("id", "type", "source", "target")}
        if "relation" in e.detail
        else e.detail
        for e in added.events
    ]
    events.publish(
        [
            _batch_event(RELATIONS_IMPORTED, ctx, "relations", relations[i : i + CHUNK])
            for i in range(0, len(relations), CHUNK)
        ]
    )
    return save(status="succeeded", counts=counts, error="; ".join(errors) or None)


def _batch_event(
    detail_type: str, ctx: Context, field: str, entries: list[dict[str, Any]]
) -> DomainEvent:
    return DomainEvent(
        source=EVENT_SOURCE,
        detail_type=detail_type,
        detail={"actor": ctx.actor, "import_id": ctx.request_id, field: entries},
        resources=[],
    )


def upsert_chunk(
    items: list[UpsertItem],
    ctx: Context,
    *,
    types: TypeCache,
    repo: CiRepository,
    clock: Clock,
) -> tuple[list[UpsertResult], list[dict[str, Any]]]:
    """`cmdb.batch_upsert` for an import, with the same outcomes, in far fewer requests: the
    CIs are looked up by natural key in batches, unchanged ones write nothing, new ones are
    written several to a transaction (each keeping its own conditions: claims, version 1,
    history record). Anything else (an update, a restore, an item its type refuses, a
    transaction another writer cancelled) goes through `batch_upsert` one by one, which
    reports it. Returns the results in item order and the changes for the chunk's event
    (`{ci_id, type, change}`, change = the per-CI event's name)."""
    results: dict[int, UpsertResult] = {}
    changes: list[dict[str, Any]] = []
    keys: dict[int, tuple[str, str]] = {}
    slow: list[int] = []
    for i, item in enumerate(items):
        try:
            ci_type = types.for_ci(item.type, ["body", "items", i, "type"])
            probe = check_attributes(ci_type, {}, item.attributes, creating=True)
            keys[i] = (item.type, cmdb._natural_key(ci_type, item.name, probe.attributes))
        except DomainError:
            slow.append(i)  # batch_upsert reports why
    existing = repo.find_many_by_key(list(keys.values())) if keys else {}
    now = iso(clock.now())
    creates: list[tuple[int, Any]] = []  # (item index, (ci, record, ci type))
    for i, key in keys.items():
        item = items[i]
        try:
            if key in existing:
                current = existing[key][0]
                unchanged = current.status is CiStatus.ACTIVE and (
                    cmdb._changed(
                        current,
                        types.get(current.type),
                        item.name,
                        item.attributes,
                        ctx,
                        now,
                        repo,
                        types=types,
                    )
                    is None
                )
                if unchanged:
                    results[i] = UpsertResult(
                        index=i, outcome="unchanged", ci_id=current.id, version=current.version
                    )
                else:
                    slow.append(i)  # an update or a restore: one at a time
                continue
            body = CreateCi(
                type=item.type,
                name=item.name,
                attributes=item.attributes,
                source=ctx.source,
                reason=ctx.reason,
            )
            creates.append((i, cmdb.new_ci(body, ctx, types=types, repo=repo, clock=clock)))
        except DomainError:
            slow.append(i)
    for group in _transactions(creates, repo):
        try:
            repo.write_many([(ci, None, record, ci_type) for _, (ci, record, ci_type) in group])
        except (Conflict, ValidationFailed):
            slow.extend(i for i, _ in group)  # nothing was written; one by one says which
            continue
        for i, (ci, _, _) in group:
            results[i] = UpsertResult(index=i, outcome="created", ci_id=ci.id, version=1)
            changes.append({"ci_id": ci.id, "type": ci.type, "change": "CiCreated"})
    if slow:
        slow.sort()
        collected = _Collected()
        one_by_one = batch_upsert(
            BatchUpsert(items=[items[i] for i in slow], source=ctx.source, reason=ctx.reason),
            ctx,
            types=types,
            repo=repo,
            events=collected,
            clock=clock,
        )
        for i, result in zip(slow, one_by_one, strict=True):
            results[i] = result.model_copy(update={"index": i})
        for e in collected.events:
            ci = e.detail["ci"]
            changes.append({"ci_id": ci["id"], "type": ci["type"], "change": e.detail_type})
    return [results[i] for i in range(len(items))], changes


def _transactions(
    creates: list[tuple[int, Any]], repo: CiRepository
) -> list[list[tuple[int, Any]]]:
    """Pack the writes into transactions of at most 100 items, none naming an item twice (two
    new CIs claiming the same unique value go to different transactions: the second fails
    its condition and is reported by the one-by-one path)."""
    groups: list[list[tuple[int, Any]]] = []
    group: list[tuple[int, Any]] = []
    seen: set[tuple[str, str]] = set()
    size = 0
    for entry in creates:
        ci, record, ci_type = entry[1]
        item_keys = repo.write_keys(ci, None, record, ci_type)
        ci_size = 3 * len(ci.model_dump_json())
        full = len(seen) + len(item_keys) > _TX_ITEMS or size + ci_size > _TX_BYTES
        if group and (full or seen & set(item_keys)):
            groups.append(group)
            group, seen, size = [], set(), 0
        group.append(entry)
        seen |= set(item_keys)
        size += ci_size
    if group:
        groups.append(group)
    return groups


# ---- the consumers of CisImported -----------------------------------------------------------


def changed_ids(detail: dict[str, Any]) -> list[str]:
    """The CI ids a CisImported event names (ValueError when it names none properly)."""
    entries = detail.get("cis")
    if not isinstance(entries, list):
        raise ValueError("a CisImported event lists `cis`")
    return [str(e["ci_id"]) for e in entries]


def sync_graph(
    ci_ids: list[str],
    *,
    types: TypeCache,
    repo: CiRepository,
    graph: Graph,
    events: EventPublisher,
    clock: Clock,
) -> int:
    """`topology.sync_ci` for a chunk: the vertices of CIs whose types take no part in
    derivation rules are updated in one graph transaction; the others one by one (rules
    need their lookups). Returns how many relations were derived."""
    cis = repo.get_many(ci_ids)
    rules = [rule for _, rule in topology._derive_rules(types)]
    simple: dict[str, tuple[str, str]] = {}
    derived = 0
    for ci in cis.values():
        ci_type = types.get(ci.type)
        if ci_type.derive or any(ci_type.is_a(rule.target_type) for rule in rules):
            derived += len(
                topology.sync_ci(
                    ci, types=types, repo=repo, graph=graph, events=events, clock=clock
                )
            )
        else:
            simple[ci.id] = (ci.name, ci.status.value)
    if simple:
        graph.update_vertices(simple)
    return derived


def index_search(ci_ids: list[str], *, repo: CiRepository, search: SearchIndex) -> int:
    """`cmdb.index_ci` for a chunk: one bulk put (a CI that is gone is removed)."""
    cis = repo.get_many(ci_ids)
    docs = [(ci.id, *cmdb.document(ci)) for ci in cis.values()]
    if docs:
        search.put_many(cmdb.SEARCH_INDEX, docs)
    for ci_id in set(ci_ids) - cis.keys():
        search.delete(cmdb.SEARCH_INDEX, ci_id)
    return len(docs)
