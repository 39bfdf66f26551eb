"""The detector settings (`GET/PUT /v1/detectors`), read by the scorer and the backtest too
(docs/baselines-and-anomalies.md)."""

from __future__ import annotations

from typing import Any

from omp.domain.detector_settings import (
    DetectorConfig,
    DetectorConfigOut,
    PutDetectorConfig,
)
from omp.runtime import container


def current_config(store: Any) -> tuple[DetectorConfig, dict[str, Any] | None]:
    stored = store.get_config()
    if stored is None:
        return DetectorConfig(), None
    return DetectorConfig.model_validate(stored["config"]), stored


def get_config() -> DetectorConfigOut:
    config, stored = current_config(container.baseline_store())
    return DetectorConfigOut(
        **config.model_dump(by_alias=True),
        version=stored["version"] if stored else 0,
        updated_at=stored["updated_at"] if stored else None,
        updated_by=stored["updated_by"] if stored else None,
    )


def put_config(body: PutDetectorConfig, actor: str) -> DetectorConfigOut:
    config = DetectorConfig.model_validate(body.model_dump(exclude={"version"}, by_alias=True))
    record = container.baseline_store().put_config(
        config.model_dump(mode="json", by_alias=True),
        body.version,
        actor=actor,
        now=container.clock().now(),
    )
    return DetectorConfigOut(
        **config.model_dump(by_alias=True),
        version=record["version"],
        updated_at=record["updated_at"],
        updated_by=record["updated_by"],
    )
