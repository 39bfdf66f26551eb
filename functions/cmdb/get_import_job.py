"""GET /v1/cmdb/imports/{job_id}: an import job's status and counts."""

from omp.domain.cmdb.imports import ImportJobResponse
from omp.runtime import container, http
from omp.services import cmdb_import

route = http.Route(
    "GET",
    "/v1/cmdb/imports/{job_id}",
    summary="Get an import job",
    tag="cmdb",
    response=ImportJobResponse,
)


def get_import_job(request: http.Request) -> ImportJobResponse:
    job = cmdb_import.get(request.path["job_id"], jobs=container.import_jobs())
    return ImportJobResponse(job=job)


lambda_handler = http.handler(route, get_import_job)
