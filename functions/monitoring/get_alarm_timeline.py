"""GET /v1/alarms/{alarm_id}/timeline: every state change of an alarm, oldest first, paginated
(the alert pipeline's entries and people's acknowledge/resolve through the API)."""

from omp.api.alarms import AlarmTimelineResponse, TimelineParams
from omp.domain.timeutil import iso
from omp.runtime import container, http
from omp.services import alarms

route = http.Route(
    "GET",
    "/v1/alarms/{alarm_id}/timeline",
    summary="Get an alarm's timeline",
    tag="alarms",
    query=TimelineParams,
    response=AlarmTimelineResponse,
)


def get_alarm_timeline(request: http.Request) -> AlarmTimelineResponse:
    params = request.query_as(TimelineParams)
    alarm_id = request.path["alarm_id"]
    page = alarms.alarm_timeline(
        alarm_id,
        params.limit,
        params.next_token,
        repo=container.alarms(),
        states=container.alert_states(),
    )
    return AlarmTimelineResponse.model_validate(
        {
            "alarm_id": alarm_id,
            "timeline": [
                {
                    "at": iso(e.at),
                    "recorded_at": iso(e.recorded_at),
                    "kind": e.kind,
                    "status": e.status.value,
                    "occurrences": e.occurrences,
                    "note": e.note,
                    "actor": e.actor or None,
                }
                for e in page.items
            ],
            "next_token": page.next_token,
        }
    )


lambda_handler = http.handler(route, get_alarm_timeline)
