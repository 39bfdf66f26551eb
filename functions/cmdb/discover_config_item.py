"""EventBridge (AWS Config "Configuration Item Change", forwarded from the default bus): create,
update or retire the resource's CI and add its Config relationships as relations.

A bad event (fields missing, a resource type the CMDB does not keep, an oversized item) is logged
with the reason and answered `skipped`: retrying cannot fix it, and the scheduled reconcile picks
up anything missed. Failures of the stores raise, so Lambda retries the event and then keeps it
in the function's failure destination."""

import logging
from typing import Any

from omp.api.cmdb import types
from omp.domain.cmdb import discovery
from omp.runtime import container
from omp.services import cmdb_discovery

logger = logging.getLogger("omp.cmdb.discovery")


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    try:
        item = discovery.from_event(event)
    except discovery.BadConfigItem as exc:
        logger.warning("Config event %s skipped: %s", event.get("id"), exc)
        return {"outcome": "skipped", "reason": str(exc)}
    result = cmdb_discovery.apply(
        item,
        types=types(),
        repo=container.cis(),
        events=container.publisher(),
        clock=container.clock(),
        graph=None if item.deleted else container.graph(),
        request_id=str(event.get("id") or "") or None,
    )
    if result["outcome"] in ("skipped", "failed"):
        logger.warning("Config item %s %s: %s", item.arn, result["outcome"], result.get("reason"))
    return result
