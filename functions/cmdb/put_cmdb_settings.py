"""PUT /v1/cmdb/settings: replace the CMDB settings; `version` is the one read (0 to create),
another is a 409. CI writes use the source priority from their next invocation on."""

from omp.domain.cmdb.settings import CmdbSettingsResponse, PutCmdbSettings
from omp.runtime import container, http
from omp.services import cmdb_discovery

route = http.Route(
    "PUT",
    "/v1/cmdb/settings",
    summary="Replace the CMDB settings (source priority, discovery grace period, aggregator)",
    tag="cmdb",
    body=PutCmdbSettings,
    response=CmdbSettingsResponse,
)


def put_cmdb_settings(request: http.Request) -> CmdbSettingsResponse:
    settings = cmdb_discovery.put_settings(
        request.body_as(PutCmdbSettings),
        actor=request.actor,
        store=container.cmdb_settings(),
        clock=container.clock(),
    )
    return CmdbSettingsResponse(cmdb_settings=settings)


lambda_handler = http.handler(route, put_cmdb_settings)
