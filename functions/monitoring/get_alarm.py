"""GET /v1/alarms/{alarm_id}: one alarm."""

from aws_lambda_powertools.event_handler.api_gateway import Router

from omp.domain.alarms import AlarmResponse
from omp.runtime import container, http
from omp.services import alarms

router = Router()


@router.get("/v1/alarms/<alarm_id>", summary="Get an alarm", tags=["alarms"])
def get_alarm(alarm_id: str) -> AlarmResponse:
    return AlarmResponse(alarm=alarms.get_alarm(alarm_id, repo=container.alarms()))


lambda_handler = http.handler(router)
