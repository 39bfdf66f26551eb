"""The `metric-points` queue: accepted metric points, grouped by series, for the anomaly scorer."""

from __future__ import annotations

from collections.abc import Sequence

from omp.adapters.aws import client, translate
from omp.domain.anomaly import SeriesPoints, encode_messages


class SqsMetricPointsQueue:
    def __init__(self, queue_url: str) -> None:
        self.queue_url = queue_url

    def send(self, series: Sequence[SeriesPoints]) -> int:
        """Queue the points (SendMessageBatch, 10 messages a call); the number of messages.
        A message SQS refuses raises TransientError: the caller answers 503 and the sender's
        retry is harmless (stored points repeat idempotently, scored points are skipped)."""
        from botocore.exceptions import BotoCoreError, ClientError

        bodies = encode_messages(series)
        # A SendMessageBatch call takes 10 messages and 256 KiB in all.
        calls: list[list[str]] = []
        size = 0
        for body in bodies:
            if not calls or len(calls[-1]) == 10 or size + len(body) > 250 * 1024:
                calls.append([])
                size = 0
            calls[-1].append(body)
            size += len(body)
        try:
            for group in calls:
                entries = [{"Id": str(j), "MessageBody": body} for j, body in enumerate(group)]
                answer = client("sqs").send_message_batch(QueueUrl=self.queue_url, Entries=entries)
                failed = answer.get("Failed") or []
                if failed:
                    retry = [e for e in entries if e["Id"] in {f["Id"] for f in failed}]
                    again = client("sqs").send_message_batch(QueueUrl=self.queue_url, Entries=retry)
                    if again.get("Failed"):
                        from omp.domain.errors import TransientError

                        raise TransientError(
                            "the metric-points queue refused messages; retry", code="THROTTLED"
                        )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc) from exc
        return len(bodies)
