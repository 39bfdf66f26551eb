"""POST /v1/alarms/{alarm_id}/ack: acknowledge an alarm. Optional body: comment, version."""

from omp.api import alarms
from omp.domain.alarms import AlarmStatus
from omp.runtime import http

route = alarms.status_change_route("ack", "Acknowledge an alarm")


def acknowledge_alarm(request: http.Request) -> alarms.AlarmResponse:
    return alarms.change_status(request, AlarmStatus.ACKNOWLEDGED)


lambda_handler = http.handler(route, acknowledge_alarm)
