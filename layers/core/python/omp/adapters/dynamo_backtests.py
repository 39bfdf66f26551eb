"""Backtest jobs on the metrics table (item `BACKTEST#<id>` / `J`) and their queue.

The job is kept as zlib-compressed JSON (`body`): a result holds up to 500 alarm points and
three NAB profiles, ~100 KB of JSON, ~20 KB compressed, well under DynamoDB's 400 KB item.
`status` and `updated_at` are kept beside it for the worker's conditional claim. The item
expires `KEEP_DAYS` after the job was created (TTL `expires_at`).
"""

from __future__ import annotations

import json
import zlib
from typing import Any

from omp.adapters.aws import enqueue_job
from omp.adapters.dynamo import ConditionFailed, call
from omp.domain.backtest_jobs import KEEP_DAYS, epoch


class DynamoBacktestJobs:
    def __init__(self, table: str, queue_url: str = "") -> None:
        self.table = table
        self.queue_url = queue_url  # set where the function may send to the backtests queue

    def create(self, job: dict[str, Any]) -> None:
        self._put(job, ConditionExpression="attribute_not_exists(pk)")

    def claim(self, job: dict[str, Any], stale_before: str) -> bool:
        try:
            self._put(
                job,
                ConditionExpression="#s = :queued OR (#s = :running AND updated_at < :stale)",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":queued": {"S": "queued"},
                    ":running": {"S": "running"},
                    ":stale": {"S": stale_before},
                },
            )
        except ConditionFailed:
            return False
        return True

    def save(self, job: dict[str, Any]) -> None:
        self._put(job)

    def get(self, job_id: str) -> dict[str, Any] | None:
        item = call(
            "get_item",
            TableName=self.table,
            Key={"pk": {"S": f"BACKTEST#{job_id}"}, "sk": {"S": "J"}},
            ConsistentRead=True,
        ).get("Item")
        if item is None:
            return None
        job: dict[str, Any] = json.loads(zlib.decompress(item["body"]["B"]))
        return job

    def enqueue(self, job_id: str) -> None:
        enqueue_job(self.queue_url, job_id)

    def _put(self, job: dict[str, Any], **condition: Any) -> None:
        body = zlib.compress(json.dumps(job, separators=(",", ":")).encode(), 6)
        item = {
            "pk": {"S": f"BACKTEST#{job['id']}"},
            "sk": {"S": "J"},
            "status": {"S": job["status"]},
            "updated_at": {"S": job["updated_at"]},
            "expires_at": {"N": str(epoch(job["created_at"]) + KEEP_DAYS * 86_400)},
            "body": {"B": body},
        }
        call("put_item", TableName=self.table, Item=item, **condition)
