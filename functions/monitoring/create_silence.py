"""POST /v1/silences: mute matching alarms' notifications for a while (201). Guardrails from
the silence policy (422 with a stable code); honours Idempotency-Key."""

from omp.api.silences import SilenceResponse, silence_view
from omp.domain.silences import CreateSilence
from omp.runtime import container, http, silence_settings
from omp.services import silences

route = http.Route(
    "POST",
    "/v1/silences",
    summary="Create a silence",
    tag="silences",
    status=201,
    body=CreateSilence,
    response=SilenceResponse,
    idempotent=True,
)


def create_silence(request: http.Request) -> SilenceResponse:
    clock = container.clock()
    record = silences.create_silence(
        request.body_as(CreateSilence),
        actor=request.actor,
        policy=silence_settings.policy(),
        scope=silence_settings.active_alarms(),
        store=container.silences(),
        alarms=container.alarms(),
        events=container.publisher(),
        clock=clock,
    )
    return SilenceResponse(silence=silence_view(record, clock.now()))


lambda_handler = http.handler(route, create_silence)
