"""GET /v1/notification-config: the routing configuration (secret references, never values)."""

from omp.domain import notify_config as n
from omp.runtime import container, http
from omp.services import notify_config

route = http.Route(
    "GET",
    "/v1/notification-config",
    summary="Get the notification routing configuration",
    tag="notifications",
    response=n.NotificationConfigResponse,
)


def get_notification_config(request: http.Request) -> dict[str, object]:
    return {"notification_config": notify_config.get_config(container.notification_configs())}


lambda_handler = http.handler(route, get_notification_config)
