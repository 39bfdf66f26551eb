"""GET /v1/alarms: alarms newest first, filtered, paginated with limit and next_token."""

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query

from omp.domain.alarms import AlarmListResponse, AlarmStatus, Severity
from omp.domain.queries import AlarmQuery, TimeRange, check_limit
from omp.runtime import container, http
from omp.services import alarms

router = Router()


@router.get("/v1/alarms", summary="List alarms", tags=["alarms"])
def list_alarms(
    status: Annotated[AlarmStatus | None, Query()] = None,
    severity: Annotated[Severity | None, Query()] = None,
    source: Annotated[str | None, Query(max_length=256)] = None,
    resource: Annotated[str | None, Query(max_length=256)] = None,
    name: Annotated[str | None, Query(max_length=256)] = None,
    start: Annotated[
        datetime | None, Query(alias="from", description="RFC 3339; default: 30 days before `to`")
    ] = None,
    end: Annotated[datetime | None, Query(alias="to", description="RFC 3339; default: now")] = None,
    limit: Annotated[int | None, Query(ge=1, le=200)] = None,
    next_token: Annotated[str | None, Query(max_length=4096)] = None,
) -> AlarmListResponse:
    query = AlarmQuery(
        window=TimeRange.build(start, end, container.clock().now()),
        limit=check_limit(limit),
        status=status,
        severity=severity,
        source=source,
        resource=resource,
        name=name,
        next_token=next_token,
    )
    page = alarms.list_alarms(query, repo=container.alarms())
    return AlarmListResponse(alarms=page.items, next_token=page.next_token)


lambda_handler = http.handler(router)
