"""Anomaly detector settings per series pattern (`PUT/GET /v1/detectors`): pure, no I/O.

A configuration is an ordered list of rules. Each rule matches series by a name glob and
optional dimension globs (`fnmatch` semantics, case-sensitive: `*`, `?`, `[abc]`) and carries
the settings of `omp.analytics.detectors.DetectorSettings`: sensitivity, direction, minimum
duration and excluded time ranges, plus `no_data_after_s` (when an anomaly of a silent series
resolves, `omp.services.anomaly_sweep`). The first matching rule wins; a series no rule matches
gets the configuration's `default` settings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Literal

from pydantic import ConfigDict, Field, field_validator, model_validator

from omp.analytics.detectors import DetectorSettings, Direction
from omp.domain.model import Model

MAX_RULES = 200
MAX_EXCLUDED = 50
MIN_NO_DATA_S = 60  # the sweep runs every 5 minutes; shorter would resolve on any late point
MAX_NO_DATA_S = 30 * 86_400


class ExcludedRange(Model):
    """A time range scored 0 and kept out of the learned statistics (a deploy, a load test)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: datetime = Field(alias="from", description="RFC 3339 with an offset")
    end: datetime = Field(alias="to", description="RFC 3339 with an offset")

    @model_validator(mode="after")
    def _ordered(self) -> ExcludedRange:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("from and to need a time zone offset (RFC 3339)")
        if self.end <= self.start:
            raise ValueError("to must be after from")
        return self


class Settings(Model):
    model_config = ConfigDict(extra="forbid")

    sensitivity: float = Field(
        default=0.5, gt=0.0, le=1.0, description="(0, 1]: higher flags more (alarm at 1 - 0.6 x)"
    )
    direction: Literal["up", "down", "both"] = "both"
    min_duration: int = Field(
        default=1, ge=1, le=1_000, description="points the anomaly must last before it alarms"
    )
    excluded: list[ExcludedRange] = Field(default_factory=list, max_length=MAX_EXCLUDED)
    # Read by resolve-silent-anomalies only (not a detector setting): like CloudWatch's
    # "treat missing data", an anomaly whose series stops reporting is resolved (no_data).
    no_data_after_s: int | None = Field(
        default=None,
        ge=0,
        le=MAX_NO_DATA_S,
        description="seconds without points after which an open anomaly resolves (reason "
        "no_data); unset: max(10 steps, 30 min); 0: never (it stays open until points come "
        "back in band); otherwise at least 60",
    )

    @field_validator("no_data_after_s")
    @classmethod
    def _no_data(cls, value: int | None) -> int | None:
        if value is not None and 0 < value < MIN_NO_DATA_S:
            raise ValueError(f"no_data_after_s is 0 (never) or at least {MIN_NO_DATA_S}")
        return value

    def detector_settings(self) -> DetectorSettings:
        return DetectorSettings(
            sensitivity=self.sensitivity,
            direction=Direction(self.direction),
            min_duration=self.min_duration,
            excluded=tuple(
                (r.start.timestamp(), r.end.timestamp())
                for r in sorted(self.excluded, key=lambda r: r.start)
            ),
        )


class Rule(Settings):
    name: str = Field(
        min_length=1, max_length=255, description="series name glob: `http.*`, `AWS/EC2/*`"
    )
    dimensions: dict[str, str] = Field(
        default_factory=dict,
        max_length=20,
        description="dimension key -> value glob; the series must have every key",
    )

    @field_validator("dimensions")
    @classmethod
    def _dims(cls, value: dict[str, str]) -> dict[str, str]:
        for key, glob in value.items():
            if not key or len(key) > 128 or not glob or len(glob) > 256:
                raise ValueError("dimension keys are 1-128 characters, globs 1-256")
        return value

    def matches(self, name: str, dimensions: Mapping[str, str]) -> bool:
        if not fnmatchcase(name, self.name):
            return False
        return all(
            key in dimensions and fnmatchcase(dimensions[key], glob)
            for key, glob in self.dimensions.items()
        )


class DetectorConfig(Model):
    """The stored configuration (without its version)."""

    model_config = ConfigDict(extra="forbid")

    rules: list[Rule] = Field(default_factory=list, max_length=MAX_RULES)
    default: Settings = Field(default_factory=Settings)

    def settings_for(self, name: str, dimensions: Mapping[str, str]) -> DetectorSettings:
        return self.rule_for(name, dimensions).detector_settings()

    def rule_for(self, name: str, dimensions: Mapping[str, str]) -> Settings:
        """The first rule matching the series, else the default."""
        for rule in self.rules:
            if rule.matches(name, dimensions):
                return rule
        return self.default


class PutDetectorConfig(DetectorConfig):
    version: int = Field(ge=0, description="the version read (0 when none is stored yet)")


class DetectorConfigOut(DetectorConfig):
    version: int
    updated_at: str | None = None
    updated_by: str | None = None


class DetectorConfigResponse(Model):
    detector_config: DetectorConfigOut


def settings_by_series(
    config: DetectorConfig, series: Sequence[tuple[str, str, Mapping[str, str]]]
) -> dict[str, DetectorSettings]:
    """series id -> its settings, for (id, name, dimensions) triples."""
    return {sid: config.settings_for(name, dims) for sid, name, dims in series}
