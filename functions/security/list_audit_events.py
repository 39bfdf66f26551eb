"""GET /v1/audit-events: the audit log, newest first."""

from pydantic import Field

from omp.api.params import ListParams
from omp.domain.audit import AuditEntry, AuditQuery
from omp.domain.model import Model
from omp.domain.queries import TimeRange
from omp.runtime import container, http
from omp.services import audit


class AuditListParams(ListParams):
    source: str | None = Field(default=None, min_length=1, max_length=256)
    detail_type: str | None = Field(default=None, min_length=1, max_length=256)


class AuditEventList(Model):
    audit_events: list[AuditEntry]
    next_token: str | None = None


route = http.Route(
    "GET",
    "/v1/audit-events",
    summary="List audit events",
    tag="audit",
    query=AuditListParams,
    response=AuditEventList,
)


def list_audit_events(request: http.Request) -> AuditEventList:
    params = request.query_as(AuditListParams)
    query = AuditQuery(
        window=TimeRange.build(params.start, params.end, container.clock().now()),
        limit=params.limit,
        source=params.source,
        detail_type=params.detail_type,
        next_token=params.next_token,
    )
    page = audit.list_entries(query, log=container.audit_log())
    return AuditEventList(audit_events=page.items, next_token=page.next_token)


lambda_handler = http.handler(route, list_audit_events)
