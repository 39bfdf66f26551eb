"""GET /v1/cmdb/settings: the source priority per attribute and the discovery grace period (the
defaults, with version 0, until someone puts them)."""

from omp.domain.cmdb.settings import CmdbSettingsResponse
from omp.runtime import container, http
from omp.services import cmdb_discovery

route = http.Route(
    "GET",
    "/v1/cmdb/settings",
    summary="Get the CMDB settings (source priority, discovery grace period)",
    tag="cmdb",
    response=CmdbSettingsResponse,
)


def get_cmdb_settings(request: http.Request) -> CmdbSettingsResponse:
    return CmdbSettingsResponse(
        cmdb_settings=cmdb_discovery.get_settings(container.cmdb_settings())
    )


lambda_handler = http.handler(route, get_cmdb_settings)
