"""Every 5 minutes: resolve the open anomaly alarms of series that have sent no points for
max(10 steps, 30 min) (reason `no_data`, through the alert pipeline), then clear the alarm in
their detector state on its version. Reads only the sparse index of open alarms; bounded per
run, the next run continues. See omp.services.anomaly_sweep."""

import logging
from typing import Any

from omp.api.detectors import current_config
from omp.runtime import container, deadline
from omp.services import anomaly_sweep

logger = logging.getLogger("omp.resolve_silent_anomalies")
RESERVE_MS = 15_000  # one page (a query, a batch read, up to 100 resolves) takes far less


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    store = container.baseline_store()
    config, _ = current_config(store)
    out = anomaly_sweep.resolve_silent(
        anomaly_sweep.SweepPorts(
            baselines=store, metrics=container.metric_store(), alerts=container.ingest_queue()
        ),
        config,
        container.clock().now(),
        time_left=deadline.time_left(context, RESERVE_MS),
    )
    logger.info(
        "silent anomalies: %d candidates, %d resolved, %d superseded, %d failed, complete: %s",
        out.candidates,
        out.resolved,
        out.superseded,
        out.failed,
        out.complete,
    )
    return {
        "candidates": out.candidates,
        "resolved": out.resolved,
        "superseded": out.superseded,
        "failed": out.failed,
        "complete": out.complete,
    }
