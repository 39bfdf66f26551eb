"""POST /v1/ingest: an alert webhook whose format is detected from the payload itself."""

from omp.api import ingest
from omp.runtime import http

route = ingest.webhook_route("/v1/ingest", "Send alerts in any supported format")


def ingest_any(request: http.Request) -> ingest.IngestAccepted:
    return ingest.accept(request, None)


lambda_handler = http.handler(route, ingest_any)
