"""SQS consumer of `backtests`: runs one backtest job per message (batch size 1).

numpy is imported here, at start-up (the refit inside the backtest needs it); the API
functions that queue and read jobs do without it. See omp.services.backtest_jobs for what a
redelivery, a job running elsewhere and each kind of error do."""

import json
import logging
from typing import Any

from omp.domain.errors import NotFound
from omp.runtime import batch, container
from omp.services import backtest_jobs

logger = logging.getLogger("omp.backtest")
MAX_RECEIVES = 2  # the backtests queue's maxReceiveCount (infra/wiring.py; a test keeps them equal)


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    def handle(record: dict[str, Any]) -> None:
        job_id = str(json.loads(record.get("body") or "{}")["job_id"])
        receives = int((record.get("attributes") or {}).get("ApproximateReceiveCount") or 1)
        try:
            backtest_jobs.run(
                job_id,
                jobs=container.backtest_jobs(),
                metrics=container.metric_store(),
                clock=container.clock(),
                last_attempt=receives >= MAX_RECEIVES,
            )
        except NotFound:
            logger.warning("backtest %s does not exist: message dropped", job_id)

    return batch.process_sqs(event, handle)
