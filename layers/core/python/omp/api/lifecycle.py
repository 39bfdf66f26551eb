"""What the acknowledge/resolve routes of alarms and incidents share: the route and its body."""

from __future__ import annotations

from pydantic import BaseModel

from omp.domain.alarms import StatusChange
from omp.runtime import http


def status_change_route(
    collection: str, id_param: str, action: str, summary: str, response: type[BaseModel]
) -> http.Route:
    """`POST /v1/<collection>/{<id_param>}/<action>` with an optional comment/version body."""
    return http.Route(
        "POST",
        f"/v1/{collection}/{{{id_param}}}/{action}",
        summary=summary,
        tag=collection,
        body=StatusChange,
        body_required=False,
        response=response,
        idempotent=True,
    )


def requested_change(request: http.Request) -> StatusChange:
    """The body, or an empty change when the route was called without one."""
    return request.body if isinstance(request.body, StatusChange) else StatusChange()
