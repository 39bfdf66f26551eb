"""POST /v1/incidents/{incident_id}/ack: acknowledge an incident; body: comment, version."""

from omp.api import incidents
from omp.domain.incidents import IncidentStatus
from omp.runtime import http

route = incidents.status_change_route("ack", "Acknowledge an incident")


def acknowledge_incident(request: http.Request) -> incidents.IncidentResponse:
    return incidents.change_status(request, IncidentStatus.ACKNOWLEDGED)


lambda_handler = http.handler(route, acknowledge_incident)
