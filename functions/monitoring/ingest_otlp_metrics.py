"""POST /v1/otlp/metrics: OTLP/HTTP metrics, JSON or protobuf (gzip allowed). 200 with the
OTLP `partial_success` naming how many data points were rejected, in the request's encoding."""

from omp.api import metrics
from omp.runtime import http

route = http.Route(
    "POST",
    "/v1/otlp/metrics",
    summary="Send OTLP/HTTP metrics (JSON or protobuf)",
    tag="metrics",
    raw_body_schema={
        "type": "object",
        "description": "An OTLP ExportMetricsServiceRequest (OTLP/JSON), or its protobuf "
        "encoding with Content-Type application/x-protobuf",
    },
)

lambda_handler = metrics.raw_handler(route, metrics.otlp)
