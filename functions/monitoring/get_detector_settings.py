"""GET /v1/detectors: the anomaly detector settings per series pattern (version 0 and the
defaults when none were stored)."""

from omp.api import detectors
from omp.domain.detector_settings import DetectorConfigResponse
from omp.runtime import http

route = http.Route(
    "GET",
    "/v1/detectors",
    summary="Get the anomaly detector settings",
    tag="metrics",
    response=DetectorConfigResponse,
)


def get_detector_settings(request: http.Request) -> DetectorConfigResponse:
    return DetectorConfigResponse(detector_config=detectors.get_config())


lambda_handler = http.handler(route, get_detector_settings)
