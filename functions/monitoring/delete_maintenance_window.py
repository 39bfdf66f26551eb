"""DELETE /v1/maintenance-windows/{window_id}: remove a window; answers what was removed
(404 once it is gone)."""

from omp.api.silences import MaintenanceWindowResponse, window_view
from omp.runtime import container, http
from omp.services import silences

route = http.Route(
    "DELETE",
    "/v1/maintenance-windows/{window_id}",
    summary="Delete a maintenance window",
    tag="silences",
    response=MaintenanceWindowResponse,
)


def delete_maintenance_window(request: http.Request) -> MaintenanceWindowResponse:
    clock = container.clock()
    window = silences.delete_window(
        request.path["window_id"],
        actor=request.actor,
        store=container.maintenance_windows(),
        events=container.publisher(),
        clock=clock,
    )
    return MaintenanceWindowResponse(maintenance_window=window_view(window, clock.now()))


lambda_handler = http.handler(route, delete_maintenance_window)
