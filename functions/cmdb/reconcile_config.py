"""Scheduled: reconcile the CMDB with what AWS Config records (new and changed resources
applied; CIs Config no longer records marked `stale_since`, then retired after the grace
period). Reads the Config aggregator the CMDB settings name (every account and region it
aggregates), else this account and region, whose CIs alone its sweep then judges (the account
and region come from the function's own ARN). Stops before the Lambda deadline; the next tick goes
on from the saved cursor."""

from typing import Any

from omp.api.cmdb import types
from omp.domain.cmdb.discovery import located
from omp.runtime import container
from omp.runtime.deadline import time_left
from omp.services import cmdb_discovery

RESERVE_MS = 20_000  # one page: a list, a batch get of 100 and up to 100 CI writes


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return cmdb_discovery.reconcile(
        config=container.config_discovery(),
        store=container.cmdb_settings(),
        types=types(),
        repo=container.cis(),
        events=container.publisher(),
        clock=container.clock(),
        time_left=time_left(context, RESERVE_MS),
        # arn:aws:lambda:<region>:<account>:function:<name>: the account and region whose
        # Config the account-local calls read
        home=located({"arn": getattr(context, "invoked_function_arn", None)}),
    )
