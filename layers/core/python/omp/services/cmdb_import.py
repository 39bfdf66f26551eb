"""NetBox import jobs: accept the file (202), then a queue consumer runs the plan.

A file that is not a NetBox dumpdata export fails its job with the reason before anything is
written. A re-run of the same file is all `unchanged` CIs and `existing` relations: no new
versions, no new edges (CIs match on their NetBox id, edges on source, type and target).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from omp.domain.cmdb import netbox
from omp.domain.cmdb.cis import MAX_BATCH, BatchUpsert, Ci, UpsertItem
from omp.domain.cmdb.imports import ID_PREFIX, ImportJob
from omp.domain.errors import NotFound
from omp.domain.ids import is_id, new_id
from omp.domain.timeutil import iso
from omp.services import topology
from omp.services.cmdb import Context, TypeCache, batch_upsert

if TYPE_CHECKING:
    from omp.ports import CiRepository, Clock, EventPublisher, Graph

SOURCE = "netbox"


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
) -> ImportJob:
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
    ctx = Context(
        actor=job.created_by, request_id=job.id, source=SOURCE, reason=f"NetBox import {job.id}"
    )
    keys = list(plan.cis)
    found: dict[netbox.Key, str] = {}
    errors: list[str] = []
    for start_at in range(0, len(keys), MAX_BATCH):
        chunk = keys[start_at : start_at + MAX_BATCH]
        body = BatchUpsert(
            items=[UpsertItem.model_validate(plan.cis[k]) for k in chunk], source=SOURCE
        )
        for key, result in zip(
            chunk,
            batch_upsert(body, ctx, types=types, repo=repo, events=events, clock=clock),
            strict=True,
        ):
            counts[result.outcome] += 1
            if result.ci_id:
                found[key] = result.ci_id
            elif result.error and len(errors) < 10:
                errors.append(f"{key[0]} {key[1]}: {result.error.get('message')}")
        save(counts=dict(counts))
    cis: dict[str, Ci] = repo.get_many(list(found.values()))
    edges = [
        (cis[found[s]], relation, cis[found[t]])
        for s, relation, t in plan.relations
        if s in found and t in found and found[s] in cis and found[t] in cis
    ]
    counts |= topology.bulk_relate(
        edges,
        actor=job.created_by,
        source_name=SOURCE,
        types=types,
        graph=graph,
        events=events,
        clock=clock,
    )
    return save(status="succeeded", counts=counts, error="; ".join(errors) or None)
