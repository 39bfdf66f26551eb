"""POST /v1/maintenance-windows: a recurring silence (cron, duration, time zone) (201).
Honours Idempotency-Key."""

from omp.api.silences import MaintenanceWindowResponse, window_view
from omp.domain.silences import CreateMaintenanceWindow
from omp.runtime import container, http
from omp.services import silences

route = http.Route(
    "POST",
    "/v1/maintenance-windows",
    summary="Create a maintenance window",
    tag="silences",
    status=201,
    body=CreateMaintenanceWindow,
    response=MaintenanceWindowResponse,
    idempotent=True,
)


def create_maintenance_window(request: http.Request) -> MaintenanceWindowResponse:
    clock = container.clock()
    window = silences.create_window(
        request.body_as(CreateMaintenanceWindow),
        actor=request.actor,
        store=container.maintenance_windows(),
        events=container.publisher(),
        clock=clock,
    )
    return MaintenanceWindowResponse(maintenance_window=window_view(window, clock.now()))


lambda_handler = http.handler(route, create_maintenance_window)
