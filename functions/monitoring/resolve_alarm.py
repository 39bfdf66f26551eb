"""POST /v1/alarms/{alarm_id}/resolve: resolve an alarm. Optional body: comment, version."""

from omp.api import alarms
from omp.domain.alarms import AlarmStatus
from omp.runtime import http

route = alarms.status_change_route("resolve", "Resolve an alarm")


def resolve_alarm(request: http.Request) -> alarms.AlarmResponse:
    return alarms.change_status(request, AlarmStatus.RESOLVED)


lambda_handler = http.handler(route, resolve_alarm)
