"""The backtest worker (`run-backtest`): runs one queued job (omp.domain.backtest_jobs) and
stores its result or its error on the job.

A redelivered message of an ended job does nothing. A job another worker is running is left
to it, unless that worker has not written for `STALE_AFTER_S` (it crashed or timed out).
Errors the client can act on (too many points, too few) end the job `failed` with the same
code and details the synchronous route used to answer. A transient AWS error is raised, so
the message is retried, except on its last delivery, where it fails the job
(`BACKTEST_UNAVAILABLE`) rather than leave it running for ever. Anything else fails the job
(`BACKTEST_INTERNAL_ERROR`) and is raised, so the function's error alarm sees it.
"""

from __future__ import annotations

import logging
from dataclasses import asdict
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Protocol

from omp.domain import backtest_jobs as jobs_domain
from omp.domain.errors import DomainError, NotFound, TransientError
from omp.domain.timeutil import iso
from omp.services import anomaly

if TYPE_CHECKING:
    from omp.ports import Clock, MetricStore

logger = logging.getLogger("omp.backtest")


class BacktestJobs(Protocol):
    def get(self, job_id: str) -> dict[str, Any] | None: ...

    def claim(self, job: dict[str, Any], stale_before: str) -> bool:
        """Store `job` (now running) if the stored job is queued, or running and last written
        before `stale_before`; False if another worker holds it."""
        ...

    def save(self, job: dict[str, Any]) -> None: ...


def run(
    job_id: str,
    *,
    jobs: BacktestJobs,
    metrics: MetricStore,
    clock: Clock,
    last_attempt: bool = False,
) -> dict[str, Any] | None:
    """The job as it ended, or None when another worker holds it."""
    job = jobs.get(job_id)
    if job is None:
        raise NotFound(f"backtest {job_id} does not exist", code="BACKTEST_NOT_FOUND")
    if job["status"] in jobs_domain.ENDED:
        return job
    now = clock.now()
    stamp = iso(now)
    running = {**job, "status": "running", "started_at": stamp, "updated_at": stamp}
    if not jobs.claim(running, iso(now - timedelta(seconds=jobs_domain.STALE_AFTER_S))):
        logger.info("backtest %s is running elsewhere: message dropped", job_id)
        return None

    def end(**changes: Any) -> dict[str, Any]:
        done = iso(clock.now())
        ended = {**running, **changes, "updated_at": done, "finished_at": done}
        jobs.save(ended)
        return ended

    try:
        result = anomaly.run_backtest(
            metrics,
            job["series_id"],
            jobs_domain.epoch(job["from"]),
            jobs_domain.epoch(job["to"]),
            [(jobs_domain.epoch(w["from"]), jobs_domain.epoch(w["to"])) for w in job["windows"]],
            jobs_domain.detector_from_json(job["detector"]),
        )
    except TransientError as exc:
        if not last_attempt:
            raise
        return end(status="failed", error=jobs_domain.error("BACKTEST_UNAVAILABLE", str(exc)))
    except DomainError as exc:
        return end(status="failed", error=jobs_domain.error(exc.code, exc.message, exc.details))
    except Exception:
        message = "the backtest failed; see run-backtest's log"
        end(status="failed", error=jobs_domain.error("BACKTEST_INTERNAL_ERROR", message))
        raise
    return end(status="succeeded", result=asdict(result))
