"""Every minute: incidents still unacknowledged after their escalation level's delay go to the
next level of their policy; acknowledged or resolved ones stop."""

import logging
from dataclasses import asdict
from typing import Any

from omp.runtime import container, deadline
from omp.services import notifications, notify_config

logger = logging.getLogger("omp.escalate_incidents")


# Stop taking new work this long before the function's timeout (at most 40% of the time the
# invocation started with): one delivery can take three attempts of up to 5 s plus backoff.
RESERVE_MS = 20_000


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    ports = container.notify_ports()
    summary = notifications.escalate_due(
        ports,
        notify_config.load_config(ports.configs),
        time_left=deadline.time_left(context, RESERVE_MS),
    )
    logger.info("escalation: %s", asdict(summary))
    return asdict(summary)
