"""GET /v1/notifications: the notification log, newest first, filtered, paginated."""

from typing import Literal

from pydantic import Field

from omp.api.params import ListParams
from omp.domain import notify_config as n
from omp.domain.queries import TimeRange
from omp.runtime import container, http
from omp.services import notify_config


class NotificationListParams(ListParams):
    receiver: str | None = Field(default=None, min_length=1, max_length=128)
    status: n.NotificationStatus | None = None
    kind: Literal["group", "escalation"] | None = None
    incident_id: str | None = Field(default=None, min_length=1, max_length=64)


route = http.Route(
    "GET",
    "/v1/notifications",
    summary="List notifications sent and failed",
    tag="notifications",
    query=NotificationListParams,
    response=n.NotificationListResponse,
)


def list_notifications(request: http.Request) -> n.NotificationListResponse:
    params = request.query_as(NotificationListParams)
    window = TimeRange.build(params.start, params.end, container.clock().now())
    page = notify_config.list_notifications(
        n.NotificationQuery(
            start=window.start,
            end=window.end,
            limit=params.limit,
            receiver=params.receiver,
            status=params.status,
            kind=params.kind,
            incident_id=params.incident_id,
            next_token=params.next_token,
        ),
        container.notification_log(),
    )
    return n.NotificationListResponse(notifications=page.items, next_token=page.next_token)


lambda_handler = http.handler(route, list_notifications)
