"""POST /v1/cis:batchUpsert: create or merge up to 500 CIs keyed by type + natural key.

Each item gets its own outcome (created, updated, unchanged, failed); a re-run is unchanged."""

from collections import Counter

from omp.api.cmdb import context, types
from omp.domain.cmdb.cis import BatchUpsert, BatchUpsertResponse
from omp.runtime import container, http
from omp.services import cmdb

route = http.Route(
    "POST",
    "/v1/cis:batchUpsert",
    summary="Create or update many configuration items",
    tag="cmdb",
    body=BatchUpsert,
    response=BatchUpsertResponse,
    idempotent=True,
)


def batch_upsert_cis(request: http.Request) -> BatchUpsertResponse:
    body = request.body_as(BatchUpsert)
    results = cmdb.batch_upsert(
        body,
        context(request, body.source, body.reason),
        types=types(),
        repo=container.cis(),
        events=container.publisher(),
        clock=container.clock(),
    )
    return BatchUpsertResponse(results=results, counts=dict(Counter(r.outcome for r in results)))


lambda_handler = http.handler(route, batch_upsert_cis)
