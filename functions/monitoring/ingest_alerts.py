"""POST /v1/ingest/{source}: an alert webhook (Alertmanager, Grafana, PagerDuty Events v2,
CloudWatch notifications, generic JSON). 202 once the payload is queued; 400 with the reason
when it can never be parsed."""

from omp.api import ingest
from omp.runtime import http

route = ingest.webhook_route("/v1/ingest/{source}", "Send alerts from a named source")


def ingest_alerts(request: http.Request) -> ingest.IngestAccepted:
    return ingest.accept(request, request.path["source"])


lambda_handler = http.handler(route, ingest_alerts)
