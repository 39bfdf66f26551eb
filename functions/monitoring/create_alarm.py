"""POST /v1/alarms: raise an alarm (201). Honours Idempotency-Key."""

from omp.domain.alarms import AlarmResponse, CreateAlarm
from omp.runtime import container, http
from omp.services import alarms

route = http.Route(
    "POST",
    "/v1/alarms",
    summary="Raise an alarm",
    tag="alarms",
    status=201,
    body=CreateAlarm,
    response=AlarmResponse,
    idempotent=True,
)


def create_alarm(request: http.Request) -> AlarmResponse:
    alarm = alarms.create_alarm(
        request.body_as(CreateAlarm),
        actor=request.actor,
        repo=container.alarms(),
        events=container.publisher(),
        clock=container.clock(),
    )
    return AlarmResponse(alarm=alarm)


lambda_handler = http.handler(route, create_alarm)
