"""Every minute: incidents still unacknowledged after their escalation level's delay go to the
next level of their policy; acknowledged or resolved ones stop."""

import logging
from dataclasses import asdict
from typing import Any

from omp.runtime import container
from omp.services import notifications

logger = logging.getLogger("omp.escalate_incidents")


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    ports = container.notify_ports()
    summary = notifications.escalate_due(ports, notifications.load_config(ports.configs))
    logger.info("escalation: %s", asdict(summary))
    return asdict(summary)
