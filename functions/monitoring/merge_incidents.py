"""POST /v1/incidents/{incident_id}/merge: merge other incidents into this one (their alarms
move here; each ends `merged` with `merged_into`); body: incident_ids, version."""

from omp.api import incidents
from omp.runtime import http

route = http.Route(
    "POST",
    "/v1/incidents/{incident_id}/merge",
    summary="Merge incidents into this one",
    tag="incidents",
    body=incidents.MergeIncidents,
    response=incidents.MergeResponse,
    idempotent=True,
)

lambda_handler = http.handler(route, incidents.merge)
