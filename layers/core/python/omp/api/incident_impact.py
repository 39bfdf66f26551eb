"""`GET /v1/incidents/{id}`'s answer with `affected_services`: the services and applications
the CMDB says fail when the incident's CIs do, computed on read (the CMDB changes more often
than an incident is read, and process-alerts need not walk impact for every alarm)."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ConfigDict, Field

from omp.api.incidents import IncidentAlarmView, IncidentView
from omp.domain.errors import DomainError
from omp.domain.incidents import Incident
from omp.domain.model import Model

logger = logging.getLogger("omp.incident_impact")

IMPACT_DEPTH = 4  # service -> application -> instance -> subnet is 3 hops
MAX_CIS = 20  # the incident's CIs walked, at most


class AffectedService(Model):
    id: str = Field(description="the CI id of the service or application")
    name: str | None
    type: str = Field(description="service or application")
    depth: int = Field(description="hops from the nearest of the incident's CIs (0: itself)")
    via: list[str] = Field(description="the incident's CIs whose impact reaches it")


MAX_ALARMS_PAGE = 500
DEFAULT_ALARMS_PAGE = 100


class IncidentDetailParams(Model):
    """`GET /v1/incidents/{id}`'s alarm page (the incident's other fields come whole)."""

    model_config = ConfigDict(extra="ignore")

    alarms_limit: int = Field(
        default=DEFAULT_ALARMS_PAGE,
        ge=1,
        le=MAX_ALARMS_PAGE,
        description="alarms on this page (by alarm id, so in trigger time order)",
    )
    alarms_next_token: str | None = Field(
        default=None, max_length=4096, description="the previous answer's alarms_next_token"
    )


class IncidentDetailView(IncidentView):
    alarms: list[IncidentAlarmView] = Field(description="one page of the incident's alarms")
    alarms_next_token: str | None = Field(
        description="pass as alarms_next_token for the next page; null on the last one"
    )
    affected_services: list[AffectedService] | None = Field(
        description="downstream CMDB impact of the CIs the alarms' resources name; null when "
        "the CMDB could not be asked (no CMDB, the graph unavailable)"
    )


class IncidentDetailResponse(Model):
    incident: IncidentDetailView


def affected_services(incident: Incident, topology: Any) -> list[dict[str, Any]] | None:
    """Resolve each alarm's resource to its CI, then the CMDB's downstream impact of them.
    None where there is no CMDB or it failed: the incident is still answered."""
    if topology is None:
        return None
    try:
        resources = incident.affected_resources  # the tracked ones (at most MAX_RESOURCES)
        ci_ids: list[str] = []
        for resource in resources:
            ci_id = topology.ci_of(resource, {})
            if ci_id and ci_id not in ci_ids:
                ci_ids.append(ci_id)
            if len(ci_ids) == MAX_CIS:
                break
        if not ci_ids:
            return []
        found: list[dict[str, Any]] = topology.affected_services(ci_ids, IMPACT_DEPTH)
        return found
    except Exception as exc:  # GRAPH_UNAVAILABLE, or the driver failing to connect at all
        code = exc.code if isinstance(exc, DomainError) else type(exc).__name__
        logger.warning("affected services of %s unavailable: %s", incident.id, code)
        return None
