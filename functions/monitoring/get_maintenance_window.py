"""GET /v1/maintenance-windows/{window_id}: one window, whether it is open now, its next start."""

from omp.api.silences import MaintenanceWindowResponse, window_view
from omp.runtime import container, http
from omp.services import silences

route = http.Route(
    "GET",
    "/v1/maintenance-windows/{window_id}",
    summary="Get a maintenance window",
    tag="silences",
    response=MaintenanceWindowResponse,
)


def get_maintenance_window(request: http.Request) -> MaintenanceWindowResponse:
    window = silences.get_window(request.path["window_id"], store=container.maintenance_windows())
    return MaintenanceWindowResponse(
        maintenance_window=window_view(window, container.clock().now())
    )


lambda_handler = http.handler(route, get_maintenance_window)
