"""GET /v1/alerting-config: flapping, correlation and incident settings the pipeline uses (the
defaults, with version 0, until someone puts them)."""

from omp.domain.alerting_config import AlertingConfigResponse
from omp.runtime import container, http
from omp.services import alerting_config

route = http.Route(
    "GET",
    "/v1/alerting-config",
    summary="Get the alerting settings (flapping, correlation, incidents)",
    tag="incidents",
    response=AlertingConfigResponse,
)


def get_alerting_config(request: http.Request) -> AlertingConfigResponse:
    view = alerting_config.get_config(container.alerting_configs())
    return AlertingConfigResponse(alerting_config=view)


lambda_handler = http.handler(route, get_alerting_config)
