"""PUT /v1/alerting-config: replace every alerting setting; `version` is the one read (0 to
create), another is a 409. process-alerts and sweep-alerts use it from their next batch on."""

from omp.domain.alerting_config import AlertingConfigResponse, PutAlertingConfig
from omp.runtime import container, http
from omp.services import alerting_config

route = http.Route(
    "PUT",
    "/v1/alerting-config",
    summary="Replace the alerting settings (flapping, correlation, incidents)",
    tag="incidents",
    body=PutAlertingConfig,
    response=AlertingConfigResponse,
)


def put_alerting_config(request: http.Request) -> AlertingConfigResponse:
    view = alerting_config.put_config(
        request.body_as(PutAlertingConfig),
        actor=request.actor,
        configs=container.alerting_configs(),
        clock=container.clock(),
    )
    return AlertingConfigResponse(alerting_config=view)


lambda_handler = http.handler(route, put_alerting_config)
