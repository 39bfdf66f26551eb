"""GET /v1/silences/{silence_id}: one silence with its state now."""

from omp.api.silences import SilenceResponse, silence_view
from omp.runtime import container, http
from omp.services import silences

route = http.Route(
    "GET",
    "/v1/silences/{silence_id}",
    summary="Get a silence",
    tag="silences",
    response=SilenceResponse,
)


def get_silence(request: http.Request) -> SilenceResponse:
    record = silences.get_silence(request.path["silence_id"], store=container.silences())
    return SilenceResponse(silence=silence_view(record, container.clock().now()))


lambda_handler = http.handler(route, get_silence)
