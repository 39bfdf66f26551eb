"""GET /v1/maintenance-windows: maintenance windows, newest first, paginated."""

from omp.api.silences import MaintenanceWindowListResponse, PageParams, window_view
from omp.runtime import container, http

route = http.Route(
    "GET",
    "/v1/maintenance-windows",
    summary="List maintenance windows",
    tag="silences",
    query=PageParams,
    response=MaintenanceWindowListResponse,
)


def list_maintenance_windows(request: http.Request) -> MaintenanceWindowListResponse:
    params = request.query_as(PageParams)
    page = container.maintenance_windows().list(params.limit, params.next_token)
    now = container.clock().now()
    return MaintenanceWindowListResponse(
        maintenance_windows=[window_view(w, now) for w in page.items],
        next_token=page.next_token,
    )


lambda_handler = http.handler(route, list_maintenance_windows)
