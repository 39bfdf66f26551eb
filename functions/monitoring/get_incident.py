"""GET /v1/incidents/{incident_id}: an incident with its alarms, affected resources, the
services the CMDB says they affect, and its timeline."""

from omp.api.incident_impact import IncidentDetailResponse, affected_services
from omp.runtime import container, http
from omp.services import incidents

route = http.Route(
    "GET",
    "/v1/incidents/{incident_id}",
    summary="Get an incident",
    tag="incidents",
    response=IncidentDetailResponse,
)


def get_incident(request: http.Request) -> IncidentDetailResponse:
    incident = incidents.get_incident(request.path["incident_id"], repo=container.incidents())
    services = affected_services(incident, container.cmdb_topology())
    return IncidentDetailResponse.model_validate(
        {"incident": incident.to_dict() | {"affected_services": services}}
    )


lambda_handler = http.handler(route, get_incident)
