"""Scheduled sweep (every 5 minutes): `SilenceExpiring` once per silence that ends within the
warning lead time (`OMP_SILENCE_WARN_BEFORE_MINUTES`, 15 by default), `SilenceExpired` once
per silence that ran out. Each announcement is claimed with a conditional write first, so
overlapping or retried sweeps publish it once."""

import logging
from typing import Any

from omp.runtime import container, silence_settings
from omp.services import silences

logger = logging.getLogger("omp.warn_expiring_silences")


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    counts = silences.warn_expiring(
        store=container.silences(),
        events=container.publisher(),
        clock=container.clock(),
        warn_before=silence_settings.warn_before(),
    )
    logger.info("silence sweep: %s", counts)
    return counts
