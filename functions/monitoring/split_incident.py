"""POST /v1/incidents/{incident_id}/split: move alarms out of this incident into a new one;
body: alarm_ids, version. 201 with both incidents."""

from omp.api import incidents
from omp.runtime import http

route = http.Route(
    "POST",
    "/v1/incidents/{incident_id}/split",
    summary="Split alarms out into a new incident",
    tag="incidents",
    status=201,
    body=incidents.SplitIncident,
    response=incidents.SplitResponse,
    idempotent=True,
)

lambda_handler = http.handler(route, incidents.split)
