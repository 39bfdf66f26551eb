"""Stage settings read from cdk.json context (`stages.<stage>`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_logs as logs

SKIP_DEPS_BUNDLING = "omp:skip_deps_bundling"
"""Context flag for the fast infra tests only: ship an empty placeholder deps layer."""


_RETENTION_DAYS = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    400: logs.RetentionDays.THIRTEEN_MONTHS,
    545: logs.RetentionDays.EIGHTEEN_MONTHS,
    731: logs.RetentionDays.TWO_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
    3653: logs.RetentionDays.TEN_YEARS,
}


@dataclass(frozen=True)
class StageConfig:
    stage: str
    removal_policy: str  # "destroy" | "retain"
    log_retention_days: int
    deletion_protection: bool
    neptune_instance_class: str
    neptune_instances: int
    opensearch_instance_type: str
    opensearch_data_nodes: int
    opensearch_volume_gb: int
    nat_gateways: int
    lambda_reserved_concurrency: int = 0  # 0 = unreserved
    alarm_email: str = ""
    org_id: str = ""  # AWS Organization allowed to PutEvents on the platform bus
    # Object Lock buckets' default retention (the CMDB history anchors): GOVERNANCE lets an
    # admin with s3:BypassGovernanceRetention remove objects early; COMPLIANCE lets nobody.
    object_lock_mode: str = "GOVERNANCE"
    object_lock_days: int = 7
    skip_deps_bundling: bool = False

    @property
    def removal(self) -> cdk.RemovalPolicy:
        return (
            cdk.RemovalPolicy.RETAIN
            if self.removal_policy == "retain"
            else cdk.RemovalPolicy.DESTROY
        )

    @property
    def retain(self) -> bool:
        return self.removal_policy == "retain"

    @property
    def log_retention(self) -> logs.RetentionDays:
        try:
            return _RETENTION_DAYS[self.log_retention_days]
        except KeyError:
            raise ValueError(
                f"log_retention_days {self.log_retention_days} is not one of "
                f"{sorted(_RETENTION_DAYS)}"
            ) from None

    @property
    def backup_retention_days(self) -> int:
        return 35 if self.retain else 7

    @classmethod
    def from_context(cls, node: Any, stage: str | None = None) -> StageConfig:
        stage = stage or node.try_get_context("stage") or "dev"
        stages = node.try_get_context("stages") or {}
        if stage not in stages:
            raise ValueError(f"unknown stage {stage!r}; cdk.json context defines {sorted(stages)}")
        settings = dict(stages[stage])
        if settings.get("removal_policy") not in ("destroy", "retain"):
            raise ValueError(f"stages.{stage}.removal_policy must be 'destroy' or 'retain'")
        if settings.get("object_lock_mode", "GOVERNANCE") not in ("GOVERNANCE", "COMPLIANCE"):
            raise ValueError(f"stages.{stage}.object_lock_mode must be GOVERNANCE or COMPLIANCE")
        known = set(cls.__dataclass_fields__)
        unknown = set(settings) - known
        if unknown:
            raise ValueError(f"stages.{stage}: unknown settings {sorted(unknown)}")
        skip = str(node.try_get_context(SKIP_DEPS_BUNDLING) or "").lower() in ("1", "true", "yes")
        org_id = node.try_get_context("org_id") or settings.pop("org_id", "") or ""
        settings.pop("org_id", None)
        return cls(stage=stage, org_id=str(org_id), skip_deps_bundling=skip, **settings)
