"""SQS pollers: Lambda event source mappings for queue triggers, and delivery-queue consumers.

A `QueuePoller` behaves like an SQS event source mapping with ReportBatchItemFailures: it gathers
up to the batch size (within the batching window), invokes the consumer with a real SQS event,
deletes the successes and leaves failures to reappear after a short visibility timeout; moto's
redrive policy moves a message received `maxReceiveCount` times to the DLQ.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from boto3.session import Session

from infra.local import names
from infra.local.events import Delivery
from infra.local.invoker import HandlerError

log = logging.getLogger("omp.local")

Invoke = Callable[[str, Any, str], Any]
MAX_RECEIVE = 10  # SQS ReceiveMessage limit


class _Poller(threading.Thread):
    def __init__(self, name: str, session: Session, queue_url: str, visibility_s: int) -> None:
        super().__init__(name=name, daemon=True)
        self._sqs = session.client("sqs")
        self.queue_url = queue_url
        self.visibility_s = visibility_s
        self._halt = threading.Event()

    def stop(self) -> None:
        self._halt.set()

    def _receive(self, count: int, wait_s: int) -> list[dict[str, Any]]:
        out = self._sqs.receive_message(
            QueueUrl=self.queue_url,
            MaxNumberOfMessages=count,
            WaitTimeSeconds=wait_s,
            VisibilityTimeout=self.visibility_s,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return [dict(m) for m in out.get("Messages", [])]

    def _delete_messages(self, messages: list[dict[str, Any]]) -> None:
        for start in range(0, len(messages), MAX_RECEIVE):
            chunk = messages[start : start + MAX_RECEIVE]
            self._sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)
                ],
            )

    def run(self) -> None:
        while not self._halt.is_set():
            try:
                self.poll_once()
            except Exception:
                if self._halt.is_set():
                    return
                log.exception("poller %s failed; retrying", self.name)
                self._halt.wait(1.0)

    def poll_once(self) -> None:
        raise NotImplementedError


class QueuePoller(_Poller):
    """An SQS event source mapping for one `QueueTrigger` function."""

    def __init__(
        self,
        session: Session,
        function: str,
        queue_url: str,
        queue_arn: str,
        batch_size: int,
        window_s: float,
        invoke: Invoke,
        visibility_s: int,
    ) -> None:
        super().__init__(f"sqs:{function}", session, queue_url, visibility_s)
        self.function = function
        self.queue_arn = queue_arn
        self.batch_size = batch_size
        self.window_s = window_s
        self._invoke = invoke

    def poll_once(self) -> None:
        batch = self._receive(min(MAX_RECEIVE, self.batch_size), 1)
        if not batch:
            return
        deadline = time.monotonic() + self.window_s
        while len(batch) < self.batch_size and time.monotonic() < deadline:
            more = self._receive(min(MAX_RECEIVE, self.batch_size - len(batch)), 0)
            if more:
                batch.extend(more)
            else:
                self._halt.wait(0.05)
        event = {"Records": [self._record(m) for m in batch]}
        try:
            result = self._invoke(self.function, event, "sqs")
        except HandlerError:
            return  # the whole batch comes back after the visibility timeout
        failed = _failed_ids(result, {m["MessageId"] for m in batch})
        if failed is None:
            log.warning("%s: invalid batchItemFailures; the whole batch is retried", self.function)
            return
        self._delete_messages([m for m in batch if m["MessageId"] not in failed])

    def _record(self, message: dict[str, Any]) -> dict[str, Any]:
        attrs = message.get("Attributes", {})
        record: dict[str, Any] = {
            "messageId": message["MessageId"],
            "receiptHandle": message["ReceiptHandle"],
            "body": message["Body"],
            "attributes": {
                k: attrs[k]
                for k in (
                    "ApproximateReceiveCount",
                    "SentTimestamp",
                    "SenderId",
                    "ApproximateFirstReceiveTimestamp",
                    "SequenceNumber",
                    "MessageGroupId",
                    "MessageDeduplicationId",
                    "AWSTraceHeader",
                )
                if k in attrs
            },
            "messageAttributes": {
                name: {
                    "stringValue": value.get("StringValue"),
                    "binaryValue": value.get("BinaryValue"),
                    "stringListValues": value.get("StringListValues", []),
                    "binaryListValues": value.get("BinaryListValues", []),
                    "dataType": value.get("DataType"),
                }
                for name, value in message.get("MessageAttributes", {}).items()
            },
            "md5OfBody": message.get("MD5OfBody")
            or hashlib.md5(message["Body"].encode()).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": self.queue_arn,
            "awsRegion": names.REGION,
        }
        if "MD5OfMessageAttributes" in message:
            record["md5OfMessageAttributes"] = message["MD5OfMessageAttributes"]
        return record


def _failed_ids(result: Any, ids: set[str]) -> set[str] | None:
    """The message ids a partial batch response reports; None when the response is invalid."""
    if not isinstance(result, dict) or "batchItemFailures" not in result:
        return set()
    failures = result["batchItemFailures"]
    if failures is None:
        return set()
    if not isinstance(failures, list):
        return None
    failed: set[str] = set()
    for item in failures:
        ident = item.get("itemIdentifier") if isinstance(item, dict) else None
        if not isinstance(ident, str) or ident not in ids:
            return None  # Lambda treats an unknown or empty identifier as a failed batch
        failed.add(ident)
    return failed


class DeliveryPoller(_Poller):
    """Hands each message of a delivery queue to its function as an EventBridge or SNS event."""

    def __init__(
        self, session: Session, delivery: Delivery, invoke: Invoke, visibility_s: int
    ) -> None:
        super().__init__(f"deliver:{delivery.function}", session, delivery.queue_url, visibility_s)
        self.delivery = delivery
        self._invoke = invoke

    def poll_once(self) -> None:
        for message in self._receive(MAX_RECEIVE, 1):
            if self._halt.is_set():
                return
            body = json.loads(message["Body"])
            if self.delivery.kind == "event":
                body.pop("ingestion-time", None)  # a moto artefact, not part of the event
                event = body
            else:
                event = _sns_event(body)
            try:
                self._invoke(self.delivery.function, event, self.delivery.kind)
            except HandlerError:
                continue  # retried after the visibility timeout, then to the delivery DLQ
            self._delete_messages([message])


def _sns_event(notification: dict[str, Any]) -> dict[str, Any]:
    topic = str(notification.get("TopicArn", ""))
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": f"{topic}:local",
                "Sns": {
                    "Type": notification.get("Type", "Notification"),
                    "MessageId": notification.get("MessageId"),
                    "TopicArn": topic,
                    "Subject": notification.get("Subject"),
                    "Message": notification.get("Message"),
                    "Timestamp": notification.get("Timestamp"),
                    "SignatureVersion": notification.get("SignatureVersion", "1"),
                    "Signature": notification.get("Signature", "EXAMPLE"),
                    "SigningCertUrl": notification.get("SigningCertURL", "EXAMPLE"),
                    "UnsubscribeUrl": notification.get("UnsubscribeURL", "EXAMPLE"),
                    "MessageAttributes": notification.get("MessageAttributes", {}),
                },
            }
        ]
    }
