"""CloudWatch GetMetricData: every page, every query (500 queries per call at most)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from omp.adapters.aws import client, translate

MAX_QUERIES_PER_CALL = 500


class CloudWatchMetricReader:
    def get_metric_data(
        self, queries: Sequence[dict[str, Any]], start: int, end: int
    ) -> dict[str, list[tuple[int, float]]]:
        from botocore.exceptions import BotoCoreError, ClientError

        out: dict[str, list[tuple[int, float]]] = {q["Id"]: [] for q in queries}
        for i in range(0, len(queries), MAX_QUERIES_PER_CALL):
            kwargs: dict[str, Any] = {
                "MetricDataQueries": list(queries[i : i + MAX_QUERIES_PER_CALL]),
                "StartTime": datetime.fromtimestamp(start, UTC),
                "EndTime": datetime.fromtimestamp(end, UTC),
                "ScanBy": "TimestampAscending",
            }
            while True:
                try:
                    answer = client("cloudwatch").get_metric_data(**kwargs)
                except (ClientError, BotoCoreError) as exc:
                    raise translate(exc) from exc
                for result in answer.get("MetricDataResults", []):
                    points = out.setdefault(result["Id"], [])
                    for stamp, value in zip(
                        result.get("Timestamps", []), result.get("Values", []), strict=False
                    ):
                        points.append((int(stamp.timestamp()), float(value)))
                token = answer.get("NextToken")
                if not token:
                    break
                kwargs["NextToken"] = token
        return out
