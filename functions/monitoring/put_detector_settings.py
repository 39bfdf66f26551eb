"""PUT /v1/detectors: replace the detector settings (rules by series pattern, first match wins,
and the default); `version` is the one read (0 to create), another is a 409 VERSION_CONFLICT."""

from omp.api import detectors
from omp.domain.detector_settings import DetectorConfigResponse, PutDetectorConfig
from omp.runtime import http

route = http.Route(
    "PUT",
    "/v1/detectors",
    summary="Replace the anomaly detector settings",
    tag="metrics",
    body=PutDetectorConfig,
    response=DetectorConfigResponse,
)


def put_detector_settings(request: http.Request) -> DetectorConfigResponse:
    config = detectors.put_config(request.body_as(PutDetectorConfig), request.actor)
    return DetectorConfigResponse(detector_config=config)


lambda_handler = http.handler(route, put_detector_settings)
