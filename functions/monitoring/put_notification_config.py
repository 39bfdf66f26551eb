"""PUT /v1/notification-config: replace the whole routing configuration (tree, receivers, time
intervals); `version` is the one read (0 to create), another is a 409."""

from omp.domain import notify_config as n
from omp.runtime import container, env, http
from omp.services import notify_config

route = http.Route(
    "PUT",
    "/v1/notification-config",
    summary="Replace the notification routing configuration",
    tag="notifications",
    body=n.PutNotificationConfig,
    response=n.NotificationConfigResponse,
)


def put_notification_config(request: http.Request) -> dict[str, object]:
    stage = env.require("OMP_STAGE")
    config = notify_config.put_config(
        request.body_as(n.PutNotificationConfig),
        actor=request.actor,
        configs=container.notification_configs(),
        escalations=container.escalations(),
        clock=container.clock(),
        secret_prefix=n.secret_prefix(stage),
        topic_prefix=n.topic_prefix(stage),
    )
    return {"notification_config": config}


lambda_handler = http.handler(route, put_notification_config)
