"""The silence, maintenance-window and inhibition-rule API's shapes (the domain's types are
dataclasses; these document and validate what the routes answer)."""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict, Field

from omp.domain import silences as domain
from omp.domain.inhibition import InhibitionRuleRecord
from omp.domain.model import Model
from omp.domain.pagination import DEFAULT_LIMIT, MAX_LIMIT
from omp.domain.silences import MaintenanceWindow, SilenceRecord, SilenceState


class MatcherView(Model):
    name: str
    value: str
    is_regex: bool
    is_equal: bool


class SilenceView(Model):
    id: str
    matchers: list[MatcherView]
    starts_at: str
    ends_at: str
    created_by: str
    created_at: str
    comment: str
    ticket: str | None
    state: SilenceState = Field(description="pending, active or expired, at the time of the answer")
    version: int


class SilenceResponse(Model):
    silence: SilenceView


class SilenceListResponse(Model):
    silences: list[SilenceView]
    next_token: str | None = None


class PageParams(Model):
    model_config = ConfigDict(extra="ignore")

    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    next_token: str | None = Field(default=None, max_length=4096)


class SilenceListParams(PageParams):
    state: SilenceState | None = Field(
        default=None, description="pending, active or expired; all without"
    )


class MaintenanceWindowView(Model):
    id: str
    name: str
    cron: str
    duration_minutes: int
    timezone: str
    matchers: list[MatcherView]
    comment: str
    created_by: str
    created_at: str | None
    active: bool = Field(description="open at the time of the answer")
    current_ends_at: str | None = Field(description="when the open occurrence ends")
    next_start: str | None = Field(description="the next start within a year")


class MaintenanceWindowResponse(Model):
    maintenance_window: MaintenanceWindowView


class MaintenanceWindowListResponse(Model):
    maintenance_windows: list[MaintenanceWindowView]
    next_token: str | None = None


class InhibitionRuleView(Model):
    id: str
    name: str
    source_matchers: list[MatcherView]
    target_matchers: list[MatcherView]
    equal: list[str]
    created_by: str
    created_at: str


class InhibitionRuleResponse(Model):
    inhibition_rule: InhibitionRuleView


class InhibitionRuleListResponse(Model):
    inhibition_rules: list[InhibitionRuleView]
    next_token: str | None = None


def silence_view(record: SilenceRecord, now: datetime) -> SilenceView:
    shape = domain.describe(record.silence, now) | {"version": record.version}
    return SilenceView.model_validate(shape)


def window_view(window: MaintenanceWindow, now: datetime) -> MaintenanceWindowView:
    return MaintenanceWindowView.model_validate(domain.describe_window(window, now))


def rule_view(record: InhibitionRuleRecord) -> InhibitionRuleView:
    return InhibitionRuleView.model_validate(record.describe())
