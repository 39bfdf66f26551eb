"""Scheduled (hourly): refit the baselines that are due (none yet, a day old, or young and an
hour old) among the series written to in the last 2 days, a page of series at a time,
vectorised; stops a minute before the Lambda timeout and the next run continues the pass from
the saved cursor. See omp.services.anomaly.refit."""

import logging
from typing import Any

from omp.runtime import container, deadline
from omp.services import anomaly

logger = logging.getLogger("omp.refit_baselines")
RESERVE_MS = 60_000  # a page (reads, fit, writes) takes well under this


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    now_s = int(container.clock().now().timestamp())
    result = anomaly.refit(
        container.metric_store(),
        container.baseline_store(),
        now_s,
        deadline.time_left(context, RESERVE_MS),
    )
    logger.info(
        "refit: %d series, %d not due, %d fitted, %d too short, pass complete: %s",
        result.series,
        result.not_due,
        result.fitted,
        result.too_short,
        result.pass_complete,
    )
    return {
        "series": result.series,
        "not_due": result.not_due,
        "fitted": result.fitted,
        "too_short": result.too_short,
        "pass_complete": result.pass_complete,
    }
