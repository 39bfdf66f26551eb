"""DELETE /v1/silences/{silence_id}: expire a silence now (a pending one never starts).
Idempotent: expiring an expired silence answers it unchanged."""

from omp.api.silences import SilenceResponse, silence_view
from omp.runtime import container, http
from omp.services import silences

route = http.Route(
    "DELETE",
    "/v1/silences/{silence_id}",
    summary="Expire a silence",
    tag="silences",
    response=SilenceResponse,
)


def expire_silence(request: http.Request) -> SilenceResponse:
    clock = container.clock()
    record = silences.expire_silence(
        request.path["silence_id"],
        actor=request.actor,
        store=container.silences(),
        events=container.publisher(),
        clock=clock,
    )
    return SilenceResponse(silence=silence_view(record, clock.now()))


lambda_handler = http.handler(route, expire_silence)
