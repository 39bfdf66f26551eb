"""GET /v1/incidents/{incident_id}: an incident with a page of its alarms (`alarms_limit`,
`alarms_next_token`), affected resources, the services the CMDB says they affect, and its
timeline."""

from omp.api.incident_impact import (
    IncidentDetailParams,
    IncidentDetailResponse,
    affected_services,
)
from omp.domain.incidents import alarm_dict
from omp.runtime import container, http
from omp.services import incidents

route = http.Route(
    "GET",
    "/v1/incidents/{incident_id}",
    summary="Get an incident",
    tag="incidents",
    query=IncidentDetailParams,
    response=IncidentDetailResponse,
)


def get_incident(request: http.Request) -> IncidentDetailResponse:
    params = request.query_as(IncidentDetailParams)
    repo = container.incidents()
    incident = incidents.get_incident(request.path["incident_id"], repo=repo)
    page = incidents.incident_alarms(
        incident.id, params.alarms_limit, params.alarms_next_token, repo=repo
    )
    services = affected_services(incident, container.cmdb_topology())
    return IncidentDetailResponse.model_validate(
        {
            "incident": incident.to_dict()
            | {
                "alarms": [alarm_dict(a) for a in page.items],
                "alarms_next_token": page.next_token,
                "affected_services": services,
            }
        }
    )


lambda_handler = http.handler(route, get_incident)
