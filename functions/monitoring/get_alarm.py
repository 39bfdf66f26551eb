"""GET /v1/alarms/{alarm_id}: one alarm."""

from omp.domain.alarms import AlarmResponse
from omp.runtime import container, http
from omp.services import alarms

route = http.Route(
    "GET", "/v1/alarms/{alarm_id}", summary="Get an alarm", tag="alarms", response=AlarmResponse
)


def get_alarm(request: http.Request) -> AlarmResponse:
    return AlarmResponse(alarm=alarms.get_alarm(request.path["alarm_id"], repo=container.alarms()))


lambda_handler = http.handler(route, get_alarm)
