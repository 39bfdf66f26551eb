"""The alert-ingest queue, with large payloads offloaded to S3 (SQS takes 256 KiB a message)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

from omp.adapters.aws import client, translate
from omp.domain.ids import new_id
from omp.domain.ingest import MAX_INLINE_BYTES, IngestEnvelope


class SqsIngestQueue:
    def __init__(self, queue_url: str, bucket: str) -> None:
        self.queue_url = queue_url
        self.bucket = bucket

    def submit(self, envelope: IngestEnvelope, raw: bytes) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            if len(raw) > MAX_INLINE_BYTES:
                day = datetime.now(UTC).strftime("%Y/%m/%d")
                key = f"{envelope.source}/{day}/{new_id('ing')}.json"
                client("s3").put_object(
                    Bucket=self.bucket, Key=key, Body=raw, ContentType="application/json"
                )
                envelope = dataclasses.replace(
                    envelope, payload=None, payload_s3={"bucket": self.bucket, "key": key}
                )
            sent = client("sqs").send_message(
                QueueUrl=self.queue_url, MessageBody=envelope.to_json()
            )
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc) from exc
        return str(sent["MessageId"])
