"""Alerting settings people change at run time (`GET/PUT /v1/alerting-config`): flapping,
correlation (label groups, topology) and the incident policy. Pure: the API models and their
translation into the pipeline's policies; no I/O. See docs/noise-reduction.md, "Settings".

Bounds are there so that no setting can turn the pipeline into something nobody asked for: a
window of a week would glue unrelated storms into one incident, 20 label rules would cost 20
group reads per alarm, more than 5 topology hops reaches most of any real graph.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints, model_validator

from omp.domain.model import Model

if TYPE_CHECKING:  # the pipeline's policies: the config routes never need them (cold start)
    from omp.domain.dedup import DedupPolicy
    from omp.domain.incidents import IncidentPolicy

MIN_WINDOW_S = 10
MAX_WINDOW_S = 24 * 3600
MAX_GROUP_RULES = 10
MAX_HOPS = 5

Label = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=128),
]
RuleName = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$"),
]
Seconds = Annotated[int, Field(ge=MIN_WINDOW_S, le=MAX_WINDOW_S)]


class _Strict(Model):
    model_config = ConfigDict(extra="forbid")


class FlappingSettings(_Strict):
    flap_changes: int = Field(default=5, ge=2, le=100, description="state changes that flap")
    flap_window_seconds: int = Field(default=1800, ge=60, le=MAX_WINDOW_S)
    flap_quiet_seconds: int = Field(default=1800, ge=60, le=MAX_WINDOW_S)


class LabelGroupSettings(_Strict):
    """One `LabelGroupRule`: alarms with equal `by` labels within a sliding window."""

    name: RuleName
    by: list[Label] = Field(min_length=1, max_length=10)
    match: dict[Label, Annotated[str, StringConstraints(max_length=256)]] = Field(
        default_factory=dict, max_length=20
    )
    window_seconds: Seconds = 1800
    open_after_alarms: int | None = Field(default=None, ge=1, le=1000)
    open_after_seconds: Seconds | None = None


class TopologySettings(_Strict):
    """The `TopologyRule` over the CMDB graph (evaluated before the label rules)."""

    enabled: bool = True
    hops: int = Field(default=2, ge=1, le=MAX_HOPS)
    window_seconds: Seconds = 1800


def _default_groups() -> list[LabelGroupSettings]:
    # The pipeline's code defaults (omp.services.pipeline.DEFAULT_RULES).
    return [
        LabelGroupSettings(name="service", by=["service"]),
        LabelGroupSettings(name="alertname", by=["alertname"]),
    ]


class CorrelationSettings(_Strict):
    topology: TopologySettings = Field(default_factory=TopologySettings)
    groups: list[LabelGroupSettings] = Field(
        default_factory=_default_groups, max_length=MAX_GROUP_RULES
    )

    @model_validator(mode="after")
    def _unique_names(self) -> CorrelationSettings:
        names = [g.name for g in self.groups]
        if len(set(names)) != len(names):
            raise ValueError("group rule names must be unique (a group's key starts with it)")
        if "topology" in names or "alone" in names or "split" in names:
            raise ValueError("topology, alone and split are reserved rule names")
        return self


class IncidentSettings(_Strict):
    auto_resolve: bool = Field(
        default=True, description="resolve the incident when its last alarm resolves"
    )


class AlertingSettings(_Strict):
    flapping: FlappingSettings = Field(default_factory=FlappingSettings)
    correlation: CorrelationSettings = Field(default_factory=CorrelationSettings)
    incidents: IncidentSettings = Field(default_factory=IncidentSettings)


class PutAlertingConfig(AlertingSettings):
    """The body of `PUT /v1/alerting-config`: every setting (a missing one takes its default)."""

    version: int = Field(
        ge=0, description="the version you read (0 when none exists yet); another one is a 409"
    )


class AlertingConfigView(AlertingSettings):
    version: int = Field(description="0: nothing stored, these are the defaults")
    updated_at: str | None = None
    updated_by: str | None = None


class AlertingConfigResponse(Model):
    alerting_config: AlertingConfigView


def document(settings: AlertingSettings) -> dict[str, Any]:
    """What is stored: the settings without the version."""
    return AlertingSettings.model_validate(settings.model_dump(exclude={"version"})).model_dump(
        mode="json"
    )


def view(stored: dict[str, Any] | None) -> AlertingConfigView:
    if stored is None:
        return AlertingConfigView(version=0)
    return AlertingConfigView.model_validate(
        dict(stored["config"])
        | {
            "version": stored["version"],
            "updated_at": stored["updated_at"],
            "updated_by": stored["updated_by"],
        }
    )


def dedup_policy(settings: AlertingSettings) -> DedupPolicy:
    from omp.domain.dedup import DedupPolicy

    f = settings.flapping
    return DedupPolicy(
        flap_changes=f.flap_changes,
        flap_window=timedelta(seconds=f.flap_window_seconds),
        flap_quiet=timedelta(seconds=f.flap_quiet_seconds),
    )


def incident_policy(settings: AlertingSettings) -> IncidentPolicy:
    from omp.domain.incidents import IncidentPolicy

    return IncidentPolicy(auto_resolve=settings.incidents.auto_resolve)
