"""POST /v1/metrics: a batch of up to 1,000 points, each checked on its own. 200 with the count
accepted and every rejected point (index, reason); 429 SERIES_LIMIT_EXCEEDED, same body, when
points of new series went beyond the source's series limit (the others were stored)."""

from omp.api import metrics
from omp.domain.metric_models import IngestResponse, MetricBatchIn
from omp.runtime import http

# Inlined: a `#/$defs/...` reference would resolve against the whole OpenAPI document.
_schema = MetricBatchIn.model_json_schema()
_schema["properties"]["points"]["items"] = _schema.pop("$defs")["MetricPointIn"]

route = http.Route(
    "POST",
    "/v1/metrics",
    summary="Send metric points",
    tag="metrics",
    response=IngestResponse,
    raw_body_schema=_schema,
)

lambda_handler = metrics.raw_handler(route, metrics.ingest)
