"""The incident API's shapes (the domain's Incident is a dataclass; these document and validate
what the routes answer) and the acknowledge/resolve glue both routes share."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from omp.api import lifecycle
from omp.domain.alarms import Severity
from omp.domain.incidents import MAX_RESOURCES, MAX_SPLIT, IncidentStatus
from omp.domain.model import Model
from omp.runtime import container, http
from omp.services import incidents


class IncidentAlarmView(Model):
    alarm_id: str
    severity: Severity
    resource: str | None
    name: str
    resolved: bool


class IncidentTimelineView(Model):
    at: str
    kind: str
    actor: str
    alarm_id: str | None
    note: str


class IncidentView(Model):
    id: str
    status: IncidentStatus
    title: str
    severity: Severity
    group_key: str
    rule: str
    alarm_count: int = Field(description="alarms in the incident (page them on GET)")
    open_alarm_count: int = Field(description="of which not resolved")
    affected_resources: list[str] = Field(
        description=f"resources of its alarms (at most {MAX_RESOURCES})"
    )
    affected_resources_truncated: bool = Field(
        description="some resource was left out of affected_resources"
    )
    opened_at: str
    updated_at: str
    acknowledged_at: str | None
    acknowledged_by: str | None
    resolved_at: str | None
    resolved_by: str | None
    merged_into: str | None
    version: int
    timeline: list[IncidentTimelineView]


class IncidentResponse(Model):
    incident: IncidentView


class IncidentListResponse(Model):
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


_ID = Field(min_length=1, max_length=64)
MAX_MERGE = 20  # one transaction: the target and every merged incident (DynamoDB: 100 items)


class MergeIncidents(Model):
    """`POST /v1/incidents/{incident_id}/merge`: the incidents whose alarms move into this one."""

    model_config = ConfigDict(extra="forbid")

    incident_ids: list[str] = Field(
        min_length=1,
        max_length=MAX_MERGE,
        description="incidents to merge into this one; each ends `merged` with `merged_into`",
    )
    version: int | None = Field(
        default=None, ge=1, description="this incident's version as read (409 if it moved on)"
    )


class MergeResponse(Model):
    incident: IncidentView
    merged: list[IncidentView]


class SplitIncident(Model):
    """`POST /v1/incidents/{incident_id}/split`: the alarms that leave for a new incident."""

    model_config = ConfigDict(extra="forbid")

    alarm_ids: list[str] = Field(
        min_length=1, max_length=MAX_SPLIT, description="one transaction moves them"
    )
    version: int | None = Field(
        default=None, ge=1, description="this incident's version as read (409 if it moved on)"
    )


class SplitResponse(Model):
    incident: IncidentView
    new_incident: IncidentView


def merge(request: http.Request) -> MergeResponse:
    body = request.body_as(MergeIncidents)
    target, merged = incidents.merge(
        request.path["incident_id"],
        body.incident_ids,
        actor=request.actor,
        expected_version=body.version,
        repo=container.incidents(),
        groups=container.correlation_groups(),
        events=container.publisher(),
        clock=container.clock(),
    )
    return MergeResponse.model_validate(
        {"incident": target.to_dict(), "merged": [m.to_dict() for m in merged]}
    )


def split(request: http.Request) -> SplitResponse:
    body = request.body_as(SplitIncident)
    remaining, new, _created = incidents.split(
        request.path["incident_id"],
        body.alarm_ids,
        actor=request.actor,
        expected_version=body.version,
        repo=container.incidents(),
        groups=container.correlation_groups(),
        states=container.alert_states(),
        events=container.publisher(),
        clock=container.clock(),
    )
    return SplitResponse.model_validate(
        {"incident": remaining.to_dict(), "new_incident": new.to_dict()}
    )
