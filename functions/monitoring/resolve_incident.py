"""POST /v1/incidents/{incident_id}/resolve: resolve an incident; body: comment, version."""

from omp.api import incidents
from omp.domain.incidents import IncidentStatus
from omp.runtime import http

route = incidents.status_change_route("resolve", "Resolve an incident")


def resolve_incident(request: http.Request) -> incidents.IncidentResponse:
    return incidents.change_status(request, IncidentStatus.RESOLVED)


lambda_handler = http.handler(route, resolve_incident)
