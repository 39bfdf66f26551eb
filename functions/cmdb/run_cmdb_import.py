"""SQS consumer of `cmdb-imports`: runs one import job per message (batch size 1).

A job that ended (succeeded or failed) is not run again when its message is redelivered; a
crash mid-way leaves the job `running` and the redelivery runs it again (idempotent: CIs match
on their NetBox id, edges on source, type and target)."""

import json
import logging
from typing import Any

from omp.api.cmdb import types
from omp.domain.errors import NotFound
from omp.runtime import batch, container
from omp.services import cmdb_import

logger = logging.getLogger("omp.cmdb_import")


def handle(record: dict[str, Any]) -> None:
    job_id = str(json.loads(record.get("body") or "{}")["job_id"])
    try:
        run(job_id)
    except NotFound:
        logger.warning("import job %s does not exist: message dropped", job_id)


def run(job_id: str) -> None:
    cmdb_import.run(
        job_id,
        jobs=container.import_jobs(),
        files=container.import_files(),
        types=types(),
        repo=container.cis(),
        graph=container.graph(),
        events=container.publisher(),
        clock=container.clock(),
    )


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return batch.process_sqs(event, handle)
