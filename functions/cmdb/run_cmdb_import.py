"""SQS consumer of `cmdb-imports`: runs one import job per message (batch size 1).

A job that ended (succeeded or failed) is not run again when its message is redelivered. The
job saves how far it got after every 500 CIs (`cis_done`): a run that nears its time limit
queues the job again, and that run (or the redelivery after a crash) goes on from there
(idempotent: CIs match on their NetBox id, edges on source, type and target)."""

import json
import logging
from collections.abc import Callable
from typing import Any

from omp.api.cmdb import types
from omp.domain.errors import NotFound
from omp.runtime import batch, container, deadline
from omp.services import cmdb_import

logger = logging.getLogger("omp.cmdb_import")


# Time kept for the relations (one bulk pass) after the last chunk of CIs: a run with less
# left queues the job again and the next run goes on from the job's `cis_done`.
RESERVE_MS = 180_000


def run(job_id: str, time_left: Callable[[], bool] = lambda: True) -> None:
    cmdb_import.run(
        job_id,
        time_left=time_left,
        jobs=container.import_jobs(),
        files=container.import_files(),
        types=types(),
        repo=container.cis(),
        graph=container.graph(),
        events=container.publisher(),
        clock=container.clock(),
    )


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    time_left = deadline.time_left(context, RESERVE_MS)

    def handle(record: dict[str, Any]) -> None:
        job_id = str(json.loads(record.get("body") or "{}")["job_id"])
        try:
            run(job_id, time_left)
        except NotFound:
            logger.warning("import job %s does not exist: message dropped", job_id)

    return batch.process_sqs(event, handle)
