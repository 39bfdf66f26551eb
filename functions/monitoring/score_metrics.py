"""SQS consumer of `metric-points`: accepted metric points, grouped by series, scored against
their baselines; anomalies and their resolution go to the alert pipeline (source `anomaly`).

The whole batch is scored together (one baseline/state read per series per batch). A record
fails (and is retried alone, then lands in the DLQ) when it cannot be parsed or when one of
its series' state could not be written; retrying is harmless: points a series has already
scored are skipped (late points, older than its last scored one, are scored once).
"""

import logging
from typing import Any

from omp.api.detectors import current_config
from omp.domain import anomaly as a
from omp.runtime import container
from omp.services import scoring

logger = logging.getLogger("omp.score_metrics")


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    records = event.get("Records") or []
    failures: list[str] = []
    parsed: list[tuple[str, list[a.SeriesPoints]]] = []
    for record in records:
        message_id = str(record.get("messageId"))
        try:
            parsed.append((message_id, a.decode_message(record.get("body") or "")))
        except (ValueError, TypeError, KeyError) as exc:
            logger.error("poison record %s (DLQ after maxReceiveCount): %s", message_id, exc)
            failures.append(message_id)
    groups = a.merge([g for _, gs in parsed for g in gs])
    store = container.baseline_store()
    try:
        config, _ = current_config(store)
        outcome = scoring.score(
            groups,
            config,
            scoring.ScoringPorts(baselines=store, alerts=container.ingest_queue()),
            container.clock().now(),
        )
    except Exception:
        logger.exception("scoring failed: every record is retried")
        return {"batchItemFailures": [{"itemIdentifier": str(r.get("messageId"))} for r in records]}
    failures += [mid for mid, gs in parsed if any(g.series_id in outcome.failed for g in gs)]
    logger.info(
        "scored %d points (%d late, %d skipped as replays, %d too late), %d series without a "
        "baseline, %d fired, %d resolved, %d conflicts",
        outcome.scored,
        outcome.late_scored,
        outcome.skipped,
        outcome.too_late,
        outcome.no_baseline,
        outcome.fired,
        outcome.resolved,
        outcome.conflicts,
    )
    return {"batchItemFailures": [{"itemIdentifier": mid} for mid in dict.fromkeys(failures)]}
