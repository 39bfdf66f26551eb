"""Scheduled (every 5 minutes): anchor the history heads of the CIs changed since the last
anchor to the Object Lock bucket (omp.services.cmdb_anchors). Stops a minute before the Lambda
timeout; the next run continues from the newest anchor's cursor."""

import logging
from typing import Any

from omp.runtime import container, deadline
from omp.services import cmdb_anchors

logger = logging.getLogger("omp.anchor_ci_history")
RESERVE_MS = 60_000  # one anchor (a query page, 1,000 head objects, the anchor) fits in this


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    run = cmdb_anchors.anchor_heads(
        container.ci_changes(),
        container.history_anchors(),
        now=container.clock().now(),
        time_left=deadline.time_left(context, RESERVE_MS),
    )
    logger.info(
        "anchored %d heads in %d anchors (newest %s), caught up: %s, stopped: %s",
        run.heads,
        run.anchors,
        run.newest_seq,
        run.complete,
        run.reason,
    )
    return {
        "anchors": run.anchors,
        "heads": run.heads,
        "newest_seq": run.newest_seq,
        "complete": run.complete,
        "reason": run.reason,
    }
