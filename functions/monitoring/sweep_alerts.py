"""Every minute: open correlation groups whose persist threshold has passed, and settle alerts
that stopped flapping (their settled state notified once). See omp.services.sweep."""

import logging
from typing import Any

from omp.runtime import container
from omp.services import sweep
from omp.services.pipeline import PipelinePorts

logger = logging.getLogger("omp.sweep_alerts")


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # The consumer's ports without the S3 payload store: the sweep reads no payloads (and may
    # not: its catalog entry has no bucket).
    ports = PipelinePorts(
        states=container.alert_states(),
        alarms=container.alarms(),
        reopener=container.alarm_reopener(),
        incidents=container.incidents(),
        groups=container.correlation_groups(),
        events=container.publisher(),
        clock=container.clock(),
    )
    result = sweep.sweep(ports, container.pipeline_config())
    logger.info("opened %d incident(s), settled %d alert(s)", result.opened, result.settled)
    return {"opened": result.opened, "settled": result.settled}
