"""SQS consumer of `notifications`: alarm events are routed into notification groups, incident
events start or stop escalations. Partial batch responses; an event that can never be handled
fails alone and lands in the DLQ after maxReceiveCount. A redelivered event changes nothing."""

import json
import logging
from typing import Any

from omp.runtime import batch, container
from omp.services import notifications, notify_config

logger = logging.getLogger("omp.route_notifications")


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    ports = container.notify_ports()
    config = notify_config.load_config(ports.configs)  # once per batch

    def handle(record: dict[str, Any]) -> None:
        try:
            bus_event = json.loads(record.get("body") or "")
            detail_type = str(bus_event["detail-type"])
            detail = bus_event["detail"]
            outcome = notifications.handle_event(detail_type, detail, ports, config)
        except (ValueError, KeyError, TypeError) as exc:
            logger.error(
                "poison record %s (DLQ after maxReceiveCount): %s", record.get("messageId"), exc
            )
            raise
        logger.info("record %s: %s: %s", record.get("messageId"), detail_type, outcome)

    return batch.process_sqs(event, handle)
