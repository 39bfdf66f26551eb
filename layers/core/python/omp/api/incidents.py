"""The incident API's shapes (the domain's Incident is a dataclass; these document and validate
what the routes answer) and the acknowledge/resolve glue both routes share."""

from __future__ import annotations

from pydantic import BaseModel

from omp.api import lifecycle
from omp.domain.alarms import Severity
from omp.domain.incidents import IncidentStatus
from omp.runtime import container, http
from omp.services import incidents


class IncidentAlarmView(BaseModel):
    alarm_id: str
    severity: Severity
    resource: str | None
    name: str
    resolved: bool


class IncidentTimelineView(BaseModel):
    at: str
    kind: str
    actor: str
    alarm_id: str | None
    note: str


class IncidentView(BaseModel):
    id: str
    status: IncidentStatus
    title: str
    severity: Severity
    group_key: str
    rule: str
    alarm_ids: list[str]
    alarms: list[IncidentAlarmView]
    affected_resources: list[str]
    opened_at: str
    updated_at: str
    acknowledged_at: str | None
    acknowledged_by: str | None
    resolved_at: str | None
    resolved_by: str | None
    merged_into: str | None
    version: int
    timeline: list[IncidentTimelineView]


class IncidentResponse(BaseModel):
    incident: IncidentView


class IncidentListResponse(BaseModel):
    incidents: list[IncidentView]
    next_token: str | None = None


def status_change_route(action: str, summary: str) -> http.Route:
    return lifecycle.status_change_route(
        "incidents", "incident_id", action, summary, IncidentResponse
    )


def change_status(request: http.Request, target: IncidentStatus) -> IncidentResponse:
    change = lifecycle.requested_change(request)
    incident = incidents.change_status(
        request.path["incident_id"],
        target,
        actor=request.actor,
        comment=change.comment,
        expected_version=change.version,
        repo=container.incidents(),
        events=container.publisher(),
        clock=container.clock(),
    )
    return IncidentResponse.model_validate({"incident": incident.to_dict()})
