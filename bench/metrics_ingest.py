"""Metric ingestion: points/s through the domain path and the store, and DynamoDB write units
per 1,000 points for the bucket layout.

    python -m bench.metrics_ingest [--batches 20] [--series 100]

1. Domain path: `check_batch` (every rule of POST /v1/metrics) plus grouping by bucket, on
   1,000-point batches spread over `--series` series; best and median of 5 runs.
2. Service path: `omp.services.metrics.ingest` with the DynamoDB store on moto, in process
   (moto's speed bounds it: a floor, not a DynamoDB figure).
3. Write units: DynamoDB bills an UpdateItem by the larger of the item's size before and after
   (1 WCU per started KB). For one series at a given resolution, written once per flush
   interval (60 s: OpenTelemetry's default export interval), the item sizes are simulated with
   DynamoDB's sizing rules (attribute names + values; a number is about 1 byte per 2
   significant digits + 1) for a day, for 10-minute and 1-hour buckets, against one item per
   point (1 WCU each). Registry writes (a Put per new series, one counter update per source per
   batch) are left out: they happen once per series.
Synthetic input (no data path): values with 3 decimals in 0..1,000, like most gauges.
"""

from __future__ import annotations

import argparse
import math
import os
import random
import statistics
import time
from datetime import UTC, datetime
from typing import Any

from bench.common import machine

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
T0 = int(NOW.timestamp())


def batches(n: int, series: int, seed: int = 1) -> list[list[dict[str, Any]]]:
    rng = random.Random(seed)
    out = []
    for b in range(n):
        points = []
        for i in range(1_000):
            s = i % series
            points.append(
                {
                    "name": "http.server.duration",
                    "dimensions": {"service": f"svc-{s}", "region": "eu-west-1"},
                    "timestamp": T0 - 3_600 + b * 10 + i // series,
                    "value": round(rng.uniform(0, 1_000), 3),
                }
            )
        out.append(points)
    return out


def domain_path(data: list[list[dict[str, Any]]]) -> list[float]:
    from omp.domain import metrics as m

    limits = m.MetricLimits()
    runs = []
    for _ in range(5):
        start = time.perf_counter()
        for batch in data:
            checked = m.check_batch(batch, NOW, limits)
            m.group_by_bucket([p for _, p in checked.points])
        runs.append(time.perf_counter() - start)
    return runs


def service_path(data: list[list[dict[str, Any]]]) -> float:
    import boto3
    from moto import mock_aws

    from infra import wiring
    from omp.adapters import aws
    from omp.adapters.dynamo_metrics import DynamoMetricStore
    from omp.domain import metrics as m
    from omp.services import metrics as svc

    limits = m.MetricLimits()
    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    with mock_aws():
        aws.reset_clients()
        table = wiring.create_table_request(
            next(t for t in wiring.TABLES if t.name == "metrics"), "bench-metrics"
        )
        boto3.client("dynamodb", region_name="us-east-1").create_table(**table)
        store = DynamoMetricStore("bench-metrics", limits)
        start = time.perf_counter()
        for batch in data:
            checked = m.check_batch(batch, NOW, limits)
            svc.ingest(checked, source="bench", store=store, now=NOW, limits=limits)
        elapsed = time.perf_counter() - start
    aws.reset_clients()
    return elapsed


def number_size(value: float) -> int:
    digits = len(repr(value).replace(".", "").replace("-", "").lstrip("0")) or 1
    return math.ceil(digits / 2) + 1


def wcu_per_1000(resolution: int, bucket: int, flush: int = 60, hours: int = 24) -> float:
    rng = random.Random(resolution)
    overhead = 2 + 30 + 2 + 10 + 3 + 28 + 10 + 6  # pk, sk, sid, expires_at
    size, current, wcu, points = overhead, None, 0, 0
    per_write = max(1, flush // resolution)
    t = 0
    while t < hours * 3_600:
        start = t - t % bucket
        if start != current:
            current, size = start, overhead
        before = size
        for k in range(per_write):
            offset = t + k * resolution - start
            if offset >= bucket:
                break
            size += 1 + len(str(offset)) + number_size(round(rng.uniform(0, 1_000), 3))
            points += 1
        wcu += math.ceil(max(before, size) / 1_024)
        t += per_write * resolution
    return 1_000 * wcu / points


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--series", type=int, default=100)
    args = parser.parse_args()
    data = batches(args.batches, args.series)
    total = args.batches * 1_000
    print(f"machine: {machine()}")
    runs = domain_path(data)
    best, median = min(runs), statistics.median(runs)
    print(
        f"domain path: {total:,} points, best {best:.3f} s, median {median:.3f} s, "
        f"{total / median:,.0f} points/s (median), {1e6 * median / total:.1f} us/point"
    )
    elapsed = service_path(data)
    print(
        f"service path on moto (in process): {total:,} points in {elapsed:.2f} s, "
        f"{total / elapsed:,.0f} points/s"
    )
    print("WCU per 1,000 points (one series, one write per 60 s flush, 24 h):")
    print("| resolution | points per write | 10-min buckets | 1-h buckets | item per point |")
    print("|---|---|---|---|---|")
    for resolution in (1, 10, 15, 60, 300):
        print(
            f"| {resolution} s | {max(1, 60 // resolution)} | "
            f"{wcu_per_1000(resolution, 600):,.0f} | {wcu_per_1000(resolution, 3_600):,.0f} | "
            "1,000 |"
        )


if __name__ == "__main__":
    main()
