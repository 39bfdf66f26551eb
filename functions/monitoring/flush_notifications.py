"""Every minute: flush the notification groups that are due (group_wait, group_interval,
repeat_interval) and deliver to their receivers with bounded retries."""

import logging
from dataclasses import asdict
from typing import Any

from omp.runtime import container
from omp.services import notifications

logger = logging.getLogger("omp.flush_notifications")


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    ports = container.notify_ports()
    summary = notifications.flush_due(ports, notifications.load_config(ports.configs))
    logger.info("flush: %s", asdict(summary))
    return asdict(summary)
