"""Every minute: flush the notification groups that are due (group_wait, group_interval,
repeat_interval) and deliver to their receivers with bounded retries."""

import logging
from dataclasses import asdict
from typing import Any

from omp.runtime import container, deadline
from omp.services import notifications, notify_config

logger = logging.getLogger("omp.flush_notifications")


# Stop taking new work this long before the function's timeout (at most 40% of the time the
# invocation started with): one delivery can take three attempts of up to 5 s plus backoff.
RESERVE_MS = 20_000


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    ports = container.notify_ports()
    summary = notifications.flush_due(
        ports,
        notify_config.load_config(ports.configs),
        time_left=deadline.time_left(context, RESERVE_MS),
    )
    logger.info("flush: %s", asdict(summary))
    return asdict(summary)
