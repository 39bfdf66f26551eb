"""Metrics through `python -m infra.local` (the real catalog) over HTTP: points in, the OTLP
protobuf route (binary body through the local gateway), series listing, a downsampled query, a
CloudWatch metric source and its scheduled pull."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2

from tests.e2e.conftest import LocalServer


@pytest.fixture(scope="module")
def api(local_server: LocalServer) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=local_server.base_url, headers=local_server.headers, timeout=30
    ) as client:
        yield client


def test_points_in_series_listed_and_queried(api: httpx.Client) -> None:
    name = f"e2e.latency.{uuid.uuid4().hex[:8]}"
    now = int(time.time())
    points = [
        {"name": name, "dimensions": {"svc": "a"}, "timestamp": now - 600 + 10 * i, "value": i}
        for i in range(60)
    ]
    points.append({"name": name, "timestamp": now, "value": float("nan")})
    answer = api.post(
        "/v1/metrics",
        content=json.dumps({"points": points}),  # NaN as JSON's common extension
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["accepted"] == 60 and [r["reason"] for r in body["rejected"]] == [
        "NON_FINITE_VALUE"
    ]

    listed = api.get("/v1/metrics/series", params={"name_prefix": name}).json()["series"]
    assert [s["dimensions"] for s in listed] == [{"svc": "a"}]
    query = api.get(
        "/v1/metrics/query",
        params={
            "series": listed[0]["id"],
            "from": now - 600,
            "to": now,
            "step": "10m",
            "stat": "count",
        },
    )
    assert query.status_code == 200, query.text
    assert sum(p["value"] for p in query.json()["points"]) == 60


def test_otlp_protobuf_through_the_gateway(api: httpx.Client) -> None:
    name = f"e2e.otlp.{uuid.uuid4().hex[:8]}"
    request = metrics_service_pb2.ExportMetricsServiceRequest()
    metric = request.resource_metrics.add().scope_metrics.add().metrics.add()
    metric.name = name
    point = metric.gauge.data_points.add()
    point.time_unix_nano = time.time_ns()
    point.as_double = 3.5
    answer = api.post(
        "/v1/otlp/metrics",
        content=request.SerializeToString(),
        headers={"Content-Type": "application/x-protobuf"},
    )
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("application/x-protobuf")
    parsed = metrics_service_pb2.ExportMetricsServiceResponse.FromString(answer.content)
    assert parsed.partial_success.rejected_data_points == 0
    listed = api.get("/v1/metrics/series", params={"name_prefix": name}).json()["series"]
    assert len(listed) == 1


def test_a_metric_source_and_its_pull(api: httpx.Client) -> None:
    created = api.post(
        "/v1/metric-sources",
        json={"name": "e2e", "namespace": "E2E/Test", "metric_names": ["Requests"]},
    )
    assert created.status_code == 201, created.text
    source_id = created.json()["metric_source"]["id"]
    tick = api.post("/_local/tick/pull-cloudwatch-metrics")
    assert tick.status_code < 300, tick.text
    sources = api.get("/v1/metric-sources").json()["metric_sources"]
    run = next(s for s in sources if s["id"] == source_id)["last_run"]
    assert run is not None and "error" not in run, run
    assert api.delete(f"/v1/metric-sources/{source_id}").status_code == 200
