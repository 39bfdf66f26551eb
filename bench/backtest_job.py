"""A backtest job at the size cap, through the worker, on moto.

`python -m bench.backtest_job [NAB data dir] [--points 100000]`

Writes `--points` points of one series to the metrics table (moto) through the platform's
metric store: the values of NAB's realKnownCause/machine_temperature_system_failure.csv repeated
(or a synthetic daily pattern with noise when no data dir is given), one every 5 minutes: the
worst case, as the refit runs every 500 points rather than once a day of series time. Queues a job
the way `POST /v1/detectors/backtest` stores it, and times `omp.services.backtest_jobs.run` (what
`run-backtest` does for one message): the read of the points, the detector run causally with
its refits, the NAB scoring, the result written back. Reports the seconds, of which reading,
and the stored job's size against DynamoDB's 400 KB item limit. It sizes the worker (timeout
300 s, `MAX_POINTS` 100,000); there is no peer to compare with (PagerDuty, Keep and
Alertmanager have no backtest).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as every function's environment has it
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

import argparse
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from bench.common import report, table

STEP_S = 300  # 5 minutes: the most refits a capped job makes (every 500 points, not daily)
START = 1_767_225_600  # 2026-01-01T00:00:00Z
NAB_FILE = Path("realKnownCause") / "machine_temperature_system_failure.csv"


def values_for(points: int, data: Path | None) -> tuple[np.ndarray, str]:
    if data is not None and (data / NAB_FILE).exists():
        from omp.analytics.backtest import read_csv

        _, _, vs = read_csv(data / NAB_FILE)
        vs = vs[np.isfinite(vs)]
        return np.resize(vs, points), f"NAB {NAB_FILE} repeated"
    rng = np.random.default_rng(1)
    i = np.arange(points)
    return 100 + 10 * np.sin(i * 2 * np.pi / 288) + rng.normal(0, 1, points), "synthetic"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", type=Path, help="NAB data dir (optional)")
    parser.add_argument("--points", type=int, default=100_000)
    args = parser.parse_args()
    started = time.perf_counter()

    import boto3
    from moto import mock_aws

    from omp.adapters import aws
    from omp.adapters.dynamo_backtests import DynamoBacktestJobs
    from omp.adapters.dynamo_metrics import DynamoMetricStore
    from omp.adapters.memory import FixedClock
    from omp.analytics.detectors import DetectorSettings
    from omp.domain import backtest_jobs as jobs_domain
    from omp.domain import metrics as m
    from omp.services import backtest_jobs
    from tests import support

    values, source = values_for(args.points, args.data)
    dims = {"bench": "backtest"}
    sid = m.series_id("bench.backtest", dims)
    stamps = START + np.arange(args.points) * STEP_S
    with mock_aws():
        aws.reset_clients()
        support.create_tables(boto3.client("dynamodb"))
        table_name = support.resolve("table", "metrics")
        store = DynamoMetricStore(table_name)
        t0 = time.perf_counter()
        batch = 5_000
        for i in range(0, args.points, batch):
            store.write(
                [
                    m.Point(sid, "bench.backtest", dims, int(t), float(v))
                    for t, v in zip(stamps[i : i + batch], values[i : i + batch], strict=True)
                ]
            )
        write_s = time.perf_counter() - t0
        end = datetime.fromtimestamp(int(stamps[-1]), UTC)
        mid = int(stamps[args.points // 2])
        jobs = DynamoBacktestJobs(table_name)
        job = jobs_domain.new_job(
            "bkt_01KKBSWHG0KCZ7Y3W8V6P5R4QT",
            series_id=sid,
            start=datetime.fromtimestamp(START, UTC),
            end=end,
            windows=[(datetime.fromtimestamp(mid, UTC), datetime.fromtimestamp(mid + 3_600, UTC))],
            settings={},
            detector=DetectorSettings(),
            actor="bench",
            now=end,
        )
        jobs.create(job)
        t0 = time.perf_counter()
        ts, _ = store.read(sid, START, int(stamps[-1]))
        read_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        ended = backtest_jobs.run(job["id"], jobs=jobs, metrics=store, clock=FixedClock(end))
        run_s = time.perf_counter() - t0
        item = boto3.client("dynamodb").get_item(
            TableName=table_name,
            Key={"pk": {"S": f"BACKTEST#{job['id']}"}, "sk": {"S": "J"}},
        )["Item"]
        body_bytes = len(item["body"]["B"])
    aws.reset_clients()
    assert ended is not None and ended["status"] == "succeeded", ended
    result = {
        "points": args.points,
        "points_read": len(ts),
        "values": source,
        "write_s": round(write_s, 1),
        "job_s": round(run_s, 1),
        "read_s": round(read_s, 1),
        "alarms_total": ended["result"]["alarms_total"],
        "stored_body_bytes": body_bytes,
        "item_limit_bytes": 400 * 1024,
        "worker_timeout_s": 300,
    }
    summary = "### Backtest job at the cap (moto)\n\n" + table(
        [
            "points",
            "values",
            "job s (read, detector, NAB, write)",
            "of which read s",
            "alarm points",
            "stored job KB (limit 400)",
            "worker timeout s",
        ],
        [
            [
                args.points,
                source,
                result["job_s"],
                result["read_s"],
                result["alarms_total"],
                round(body_bytes / 1024, 1),
                300,
            ]
        ],
    )
    return report("backtest_job", result, summary, started)


if __name__ == "__main__":
    raise SystemExit(main())
