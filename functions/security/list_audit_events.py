"""GET /v1/audit-events: the audit log, newest first."""

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler.api_gateway import Router
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel

from omp.domain.audit import AuditEntry, AuditQuery
from omp.domain.queries import TimeRange, check_limit
from omp.runtime import container, http
from omp.services import audit

router = Router()


class AuditEventList(BaseModel):
    audit_events: list[AuditEntry]
    next_token: str | None = None


@router.get("/v1/audit-events", summary="List audit events", tags=["audit"])
def list_audit_events(
    source: Annotated[str | None, Query(max_length=256)] = None,
    detail_type: Annotated[str | None, Query(max_length=256)] = None,
    start: Annotated[datetime | None, Query(alias="from")] = None,
    end: Annotated[datetime | None, Query(alias="to")] = None,
    limit: Annotated[int | None, Query(ge=1, le=200)] = None,
    next_token: Annotated[str | None, Query(max_length=4096)] = None,
) -> AuditEventList:
    query = AuditQuery(
        window=TimeRange.build(start, end, container.clock().now()),
        limit=check_limit(limit),
        source=source,
        detail_type=detail_type,
        next_token=next_token,
    )
    page = audit.list_entries(query, log=container.audit_log())
    return AuditEventList(audit_events=page.items, next_token=page.next_token)


lambda_handler = http.handler(router)
