"""EventBridge wiring: real rules in moto, with queues standing in for Lambda targets.

moto's events backend matches patterns and delivers to SQS targets but not to Lambda targets, so
each function with an `EventRule` gets an internal delivery queue `omp-local-deliver-<function>`
as its rule's target; a poller hands each delivered event to the function (see pollers.py).
`TopicTrigger` functions are fed the same way through an SQS subscription to the topic.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from boto3.session import Session

from infra import wiring
from infra.local import names
from infra.local.patterns import matches as pattern_matches
from infra.local.resources import Resources, create_queue

log = logging.getLogger("omp.local")

DELIVERY_MAX_RECEIVES = 3  # Lambda's asynchronous invocation: the first try and two retries


@dataclass(frozen=True)
class Delivery:
    """A function fed through an internal delivery queue."""

    function: str
    kind: Literal["event", "sns"]
    queue_url: str
    dlq_url: str


class BadEvent(ValueError):
    """The posted event is not an EventBridge event."""


class EventRouter:
    def __init__(self, catalog: wiring.Catalog, session: Session, resources: Resources) -> None:
        self.catalog = catalog
        self.resources = resources
        self._events = session.client("events")
        self._session = session
        self.deliveries: list[Delivery] = []

    # ---- set-up -------------------------------------------------------------------------------

    def setup(self) -> list[Delivery]:
        sqs_arn = self.resources.queue_arns
        for fn in self.catalog.functions:
            trigger = fn.trigger
            if isinstance(trigger, wiring.EventRule):
                delivery, arn = self._delivery_queue(fn, "event")
                self._put_rule(f"fn-{fn.name}", trigger.bus, trigger.pattern, arn)
                self.deliveries.append(delivery)
            elif isinstance(trigger, wiring.TopicTrigger):
                delivery, arn = self._delivery_queue(fn, "sns")
                self._session.client("sns").subscribe(
                    TopicArn=self.resources.topics[trigger.topic], Protocol="sqs", Endpoint=arn
                )
                self.deliveries.append(delivery)
        for i, (queue, bus, pattern) in enumerate(self.catalog.queue_rules):
            self._put_rule(f"q-{queue}-{i}", bus, pattern, sqs_arn[queue])
        for i, (source, target, pattern) in enumerate(self.catalog.bus_forwards):
            target_arn = (
                f"arn:aws:events:{names.REGION}:{names.ACCOUNT_ID}:event-bus/"
                + (self.resources.buses[target])
            )
            self._put_rule(f"fwd-{source}-{target}-{i}", source, pattern, target_arn)
        return self.deliveries

    def _delivery_queue(
        self, fn: wiring.Function, kind: Literal["event", "sns"]
    ) -> tuple[Delivery, str]:
        url, arn, dlq_url = create_queue(
            self._session, names.delivery_queue(fn.name), fn.timeout_s, DELIVERY_MAX_RECEIVES
        )
        return Delivery(fn.name, kind, url, dlq_url), arn

    def _put_rule(self, rule: str, bus: str, pattern: Any, target_arn: str) -> None:
        bus_name = self.resources.buses[bus]
        name = names.physical(rule)
        self._events.put_rule(Name=name, EventBusName=bus_name, EventPattern=json.dumps(pattern))
        self._events.put_targets(
            Rule=name, EventBusName=bus_name, Targets=[{"Id": "target", "Arn": target_arn}]
        )

    # ---- publishing ---------------------------------------------------------------------------

    def bus_name(self, given: str | None, source: str) -> str:
        """Physical bus for a posted event; without one, `aws.*` goes to default, else platform."""
        if not given:
            logical = wiring.DEFAULT_BUS if source.startswith("aws.") else wiring.PLATFORM_BUS
            return self.resources.buses.get(logical, "default")
        name = given.rsplit("/", 1)[-1] if given.startswith("arn:") else given
        return self.resources.buses.get(name, name)

    def entry(self, event: dict[str, Any]) -> dict[str, Any]:
        """A PutEvents entry from an entry-style or a delivered-style event."""
        if not isinstance(event, dict):
            raise BadEvent("the event must be a JSON object")
        source = event.get("Source", event.get("source"))
        detail_type = event.get("DetailType", event.get("detail-type"))
        detail = event.get("Detail", event.get("detail", {}))
        if not isinstance(source, str) or not source:
            raise BadEvent("source is required")
        if not isinstance(detail_type, str) or not detail_type:
            raise BadEvent("detail-type is required")
        if isinstance(detail, str):
            try:
                detail = json.loads(detail)
            except ValueError as exc:
                raise BadEvent("detail is not JSON") from exc
        if not isinstance(detail, dict):
            raise BadEvent("detail must be a JSON object")
        resources = event.get("Resources", event.get("resources", []))
        if not isinstance(resources, list):
            raise BadEvent("resources must be a list")
        bus = event.get("EventBusName", event.get("event-bus-name"))
        return {
            "Source": source,
            "DetailType": detail_type,
            "Detail": json.dumps(detail),
            "Resources": [str(r) for r in resources],
            "EventBusName": self.bus_name(bus if isinstance(bus, str) else None, source),
        }

    def matches(self, entry: dict[str, Any]) -> dict[str, list[str]]:
        """Which functions and queues the catalog routes this entry to (EventBridge semantics)."""
        event = {
            "version": "0",
            "id": str(uuid.uuid4()),
            "detail-type": entry["DetailType"],
            "source": entry["Source"],
            "account": names.ACCOUNT_ID,
            "time": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "region": names.REGION,
            "resources": entry["Resources"],
            "detail": json.loads(entry["Detail"]),
        }
        functions: list[str] = []
        queues: list[str] = []
        for fn in self.catalog.functions:
            trigger = fn.trigger
            if (
                isinstance(trigger, wiring.EventRule)
                and self.resources.buses[trigger.bus] == entry["EventBusName"]
                and _matches(trigger.pattern, event)
            ):
                functions.append(fn.name)
        for queue, bus, pattern in self.catalog.queue_rules:
            if self.resources.buses[bus] == entry["EventBusName"] and _matches(pattern, event):
                queues.append(queue)
        return {"functions": functions, "queues": queues}

    def put_event(self, event: dict[str, Any]) -> dict[str, Any]:
        entry = self.entry(event)
        matched = self.matches(entry)
        out = self._events.put_events(Entries=[entry])  # type: ignore[list-item]
        result = out["Entries"][0]
        if "ErrorCode" in result:
            raise BadEvent(f"{result['ErrorCode']}: {result.get('ErrorMessage', '')}")
        log.info(
            "event %s/%s on %s -> %s",
            entry["Source"],
            entry["DetailType"],
            entry["EventBusName"],
            matched,
        )
        return {
            "event_id": result["EventId"],
            "bus": entry["EventBusName"],
            "delivered_to": matched,
        }


def _matches(pattern: Any, event: dict[str, Any]) -> bool:
    return pattern_matches(pattern, event)
