"""The backtest worker's paths on moto: the conditional claim (one worker a job, a stale one
taken over), and what each kind of error leaves on the job. The happy path and the API are in
test_anomaly_api.py."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from omp.adapters.dynamo_backtests import DynamoBacktestJobs
from omp.adapters.memory import FixedClock
from omp.analytics.detectors import DetectorSettings
from omp.domain import backtest_jobs as jobs_domain
from omp.domain.errors import TransientError
from omp.services import backtest_jobs
from tests import support
from tests.support import invoke

NOW = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)
JOB_ID = "bkt_01KKBSWHG0KCZ7Y3W8V6P5R4QT"
SID = "ser_0123456789abcdef01234567"


class RaisingMetrics:
    """A metric store whose read fails with the given error."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def read(self, series_id: str, start: int, end: int):
        raise self.error


@pytest.fixture
def store(platform):
    return DynamoBacktestJobs(support.resolve("table", "metrics"))


@pytest.fixture
def clock():
    return FixedClock(NOW)


def _queued(store):
    job = jobs_domain.new_job(
        JOB_ID,
        series_id=SID,
        start=datetime(2026, 3, 1, tzinfo=UTC),
        end=NOW,
        windows=[(datetime(2026, 3, 1, 6, tzinfo=UTC), datetime(2026, 3, 1, 7, tzinfo=UTC))],
        settings={"sensitivity": 0.6},
        detector=DetectorSettings(sensitivity=0.6, excluded=((1.0, 2.0),)),
        actor="tester",
        now=NOW,
    )
    store.create(job)
    return job


def test_the_job_keeps_its_settings_through_the_store(store):
    job = _queued(store)
    assert store.get(JOB_ID) == job
    detector = jobs_domain.detector_from_json(store.get(JOB_ID)["detector"])
    assert detector == DetectorSettings(sensitivity=0.6, excluded=((1.0, 2.0),))
    with pytest.raises(Exception, match="changed"):  # ids are never reused
        store.create(job)


def test_one_worker_holds_a_job_until_it_goes_stale(store, clock):
    job = _queued(store)
    running = {**job, "status": "running", "updated_at": "2026-03-02T12:00:00.000Z"}
    assert store.claim(running, stale_before="2026-03-02T11:54:00.000Z")
    assert not store.claim(running, stale_before="2026-03-02T11:54:00.000Z")  # held
    assert (
        backtest_jobs.run(JOB_ID, jobs=store, metrics=RaisingMetrics(AssertionError()), clock=clock)
        is None
    )
    assert store.get(JOB_ID)["status"] == "running"
    # Its worker was cut off: past STALE_AFTER_S a redelivery takes the job over.
    clock.advance(jobs_domain.STALE_AFTER_S + 1)
    ended = backtest_jobs.run(
        JOB_ID,
        jobs=store,
        metrics=RaisingMetrics(TransientError("slow")),
        clock=clock,
        last_attempt=True,
    )
    assert ended is not None and ended["status"] == "failed"


def test_a_transient_error_is_retried_until_the_last_delivery(store, clock):
    _queued(store)
    with pytest.raises(TransientError):
        backtest_jobs.run(
            JOB_ID, jobs=store, metrics=RaisingMetrics(TransientError("throttled")), clock=clock
        )
    assert store.get(JOB_ID)["status"] == "running"
    clock.advance(jobs_domain.STALE_AFTER_S + 1)  # the retry comes after the visibility timeout
    ended = backtest_jobs.run(
        JOB_ID,
        jobs=store,
        metrics=RaisingMetrics(TransientError("throttled")),
        clock=clock,
        last_attempt=True,
    )
    assert ended == store.get(JOB_ID)
    assert ended["status"] == "failed" and ended["error"]["code"] == "BACKTEST_UNAVAILABLE"


def test_an_unexpected_error_fails_the_job_and_is_raised(store, clock):
    _queued(store)
    with pytest.raises(ZeroDivisionError):
        backtest_jobs.run(
            JOB_ID, jobs=store, metrics=RaisingMetrics(ZeroDivisionError()), clock=clock
        )
    job = store.get(JOB_ID)
    assert job["status"] == "failed" and job["error"]["code"] == "BACKTEST_INTERNAL_ERROR"


def test_the_consumer_reports_a_failed_record_and_fails_the_job_on_its_last_delivery(store):
    """Through the handler: a throttled read fails the record (SQS retries it); on the queue's
    last delivery (ApproximateReceiveCount) the job fails instead of staying `running`."""
    from omp.runtime import container

    _queued(store)
    record = json.loads((support.ROOT / "events" / "run-backtest.json").read_text())["Records"][0]
    record["body"] = json.dumps({"job_id": JOB_ID})
    clock = FixedClock(NOW)
    with container.override(metric_store=RaisingMetrics(TransientError("throttled")), clock=clock):
        answer = invoke("run-backtest", {"Records": [record]})
        assert answer == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
        clock.advance(jobs_domain.STALE_AFTER_S + 1)
        record["attributes"]["ApproximateReceiveCount"] = "2"
        assert invoke("run-backtest", {"Records": [record]}) == {"batchItemFailures": []}
    assert store.get(JOB_ID)["error"]["code"] == "BACKTEST_UNAVAILABLE"


def test_the_worker_agrees_with_its_queue():
    """run-backtest's MAX_RECEIVES is the backtests queue's maxReceiveCount, and a running job
    turns stale between the worker's timeout and the queue's visibility timeout."""
    from infra import wiring

    worker = wiring.function("run-backtest")
    handler = support.load_handler(worker.handler)
    (queue,) = [q for q in wiring.QUEUES if q.name == "backtests"]
    assert queue.max_receive_count == handler.MAX_RECEIVES
    # A live worker's job is never stale; a crashed one's is by the time SQS redelivers.
    assert worker.timeout_s < jobs_domain.STALE_AFTER_S < queue.visibility_timeout_s


def test_functions_in_one_process_keep_their_own_queue():
    """The local runtime runs every function in one process: the job store built for
    run-backtest (no queue) must not be the one backtest-detector (which queues) gets."""
    from omp.runtime import container, env

    table = {"OMP_TABLE_METRICS": "omp-test-metrics"}
    with env.overlay(table):
        worker_side = container.backtest_jobs()
    with env.overlay({**table, "OMP_QUEUE_BACKTESTS": "https://sqs.local/backtests"}):
        api_side = container.backtest_jobs()
    assert worker_side.queue_url == ""
    assert api_side.queue_url == "https://sqs.local/backtests"
