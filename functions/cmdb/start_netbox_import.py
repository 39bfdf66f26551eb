"""POST /v1/cmdb/imports/netbox: a NetBox dumpdata JSON file in; 202 with the import job.

The file is kept in the imports bucket and the job queued; `run-cmdb-import` runs it."""

from omp.domain.cmdb.imports import ImportJobResponse
from omp.domain.errors import ValidationFailed
from omp.runtime import container, http
from omp.services import cmdb_import

route = http.Route(
    "POST",
    "/v1/cmdb/imports/netbox",
    summary="Import a NetBox dumpdata file",
    tag="cmdb",
    status=202,
    response=ImportJobResponse,
    raw_body_schema={"type": "array", "items": {"type": "object"}},
)


def start_netbox_import(request: http.Request) -> ImportJobResponse:
    raw = http.raw_body(request)
    if not raw.strip():
        raise ValidationFailed(
            "a NetBox dumpdata JSON file is required",
            details=[{"loc": ["body"], "msg": "Field required", "type": "missing"}],
        )
    job = cmdb_import.start(
        raw,
        actor=request.actor,
        jobs=container.import_jobs(),
        files=container.import_files(),
        clock=container.clock(),
    )
    return ImportJobResponse(job=job)


lambda_handler = http.handler(route, start_netbox_import)
