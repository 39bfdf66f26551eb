"""GET /v1/incidents/{incident_id}: an incident with its alarms, affected resources and timeline."""

from omp.api.incidents import IncidentResponse
from omp.runtime import container, http
from omp.services import incidents

route = http.Route(
    "GET",
    "/v1/incidents/{incident_id}",
    summary="Get an incident",
    tag="incidents",
    response=IncidentResponse,
)


def get_incident(request: http.Request) -> IncidentResponse:
    incident = incidents.get_incident(request.path["incident_id"], repo=container.incidents())
    return IncidentResponse.model_validate({"incident": incident.to_dict()})


lambda_handler = http.handler(route, get_incident)
