"""Metric ingestion, storage and query through the handlers, on moto."""

from __future__ import annotations

import base64
import gzip
import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import boto3
import pytest
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2

from omp.adapters.dynamo_metrics import DynamoMetricStore
from omp.adapters.memory import FixedClock
from omp.domain import metrics as m
from omp.runtime import container
from tests import support
from tests.support import api_event, call_api, invoke

NOW = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)
T0 = int(NOW.timestamp())
OTLP_SAMPLE = Path(__file__).resolve().parents[2] / "events" / "sources" / "otlp_metrics.json"
TABLE = support.PREFIX + "metrics"


@pytest.fixture
def clock(platform):
    fixed = FixedClock(NOW)
    with container.override(clock=fixed):
        yield fixed


def point(name="cpu", value=1.0, ts=T0 - 60, **dims):
    return {"name": name, "dimensions": dims, "timestamp": ts, "value": value}


def send(points, principal="key-a"):
    return call_api("ingest-metrics", body={"points": points}, principal=principal)


def test_a_batch_is_stored_and_queried_back(clock):
    points = [point(value=float(i), ts=T0 - 3600 + i * 60, host="a") for i in range(60)]
    status, body, _ = send(points)
    assert status == 200, body
    assert body == {"accepted": 60, "rejected": [], "series": 1}

    status, listed, _ = call_api("list-metric-series", query={"name_prefix": "cp"})
    assert status == 200
    [series] = listed["series"]
    assert series["name"] == "cpu" and series["dimensions"] == {"host": "a"}
    assert series["source"] == "key-a"
    assert series["id"] == m.series_id("cpu", {"host": "a"})

    query = {
        "series": series["id"],
        "from": str(T0 - 3600),
        "to": str(T0),
        "step": "10m",
        "stat": "avg",
    }
    status, answer, _ = call_api("query-metrics", query=query)
    assert status == 200, answer
    assert answer["step"] == 600
    assert [p["value"] for p in answer["points"]] == [4.5 + 10 * k for k in range(6)]
    assert answer["points"][0]["timestamp"] == "2026-03-02T11:00:00.000Z"

    for stat, expected in (("max", 9.0), ("min", 0.0), ("sum", 45.0), ("count", 10.0)):
        status, answer, _ = call_api("query-metrics", query={**query, "stat": stat})
        assert answer["points"][0]["value"] == expected, stat
    status, answer, _ = call_api("query-metrics", query={**query, "stat": "p95"})
    assert answer["points"][0]["value"] == pytest.approx(8.55)


def test_every_bad_point_is_rejected_on_its_own(clock):
    points = [
        point(value=1.0),  # 0 ok
        point(value=float("nan")),  # 1
        point(value=float("inf")),  # 2
        point(ts=T0 - 15 * 86_400),  # 3 too old
        point(ts=T0 + 600),  # 4 future
        point(value=1.0),  # 5 duplicate of 0 in the batch
        point(name="bad name"),  # 6
        {"name": "cpu", "dimensions": {"": "x"}, "timestamp": T0, "value": 1},  # 7
        {"name": "cpu", "timestamp": "yesterday", "value": 1},  # 8
        {"name": "cpu", "timestamp": T0, "value": "1"},  # 9
        "not a point",  # 10
        {"name": "cpu", "value": 1},  # 11 no timestamp
        point(value=1e200),  # 12
        {"name": "cpu", "timestamp": "2026-03-02T11:59:00", "value": 1},  # 13 no offset
        {"name": "mem", "timestamp": "2026-03-02T11:59:00Z", "value": 2},  # 14 ok
    ]
    raw = json.dumps({"points": points})  # NaN and Infinity as JSON's common extension
    status, body, _ = call_api("ingest-metrics", body=raw)
    assert status == 200, body
    assert body["accepted"] == 2 and body["series"] == 2
    reasons = {r["index"]: r["reason"] for r in body["rejected"]}
    assert reasons == {
        1: "NON_FINITE_VALUE",
        2: "NON_FINITE_VALUE",
        3: "TIMESTAMP_TOO_OLD",
        4: "TIMESTAMP_IN_FUTURE",
        5: "DUPLICATE_IN_BATCH",
        6: "INVALID_NAME",
        7: "INVALID_DIMENSIONS",
        8: "INVALID_TIMESTAMP",
        9: "INVALID_VALUE",
        10: "INVALID_POINT",
        11: "INVALID_POINT",
        12: "VALUE_OUT_OF_RANGE",
        13: "INVALID_TIMESTAMP",
    }


def test_a_stored_second_keeps_its_first_value_and_a_retry_is_harmless(clock):
    assert send([point(value=1.0), point(value=2.0, ts=T0 - 30)])[1]["accepted"] == 2
    status, body, _ = send([point(value=1.0), point(value=5.0, ts=T0 - 30)])
    assert status == 200
    assert body["accepted"] == 1
    assert body["rejected"] == [
        {
            "index": 1,
            "reason": "DUPLICATE_TIMESTAMP",
            "message": "this series already has the value 2.0 at this second",
        }
    ]
    ts, vs = DynamoMetricStore(TABLE).read(m.series_id("cpu", {}), T0 - 3600, T0)
    assert ts.tolist() == [T0 - 60, T0 - 30] and vs.tolist() == [1.0, 2.0]


def test_whole_request_errors(clock):
    status, body, _ = call_api("ingest-metrics", body="{not json")
    assert (status, body["error"]["code"]) == (400, "MALFORMED_JSON")
    status, body, _ = call_api("ingest-metrics", body={"points": {"a": 1}})
    assert (status, body["error"]["code"]) == (422, "INVALID_BATCH")
    status, body, _ = send([point(ts=T0 - i) for i in range(1001)])
    assert (status, body["error"]["code"]) == (413, "TOO_MANY_POINTS")
    status, body, _ = call_api("ingest-metrics", body={"points": []}, roles="viewer")
    assert status == 403


def test_the_series_limit_answers_429_and_still_stores_known_series(clock):
    with container.override(metric_limits=m.MetricLimits(max_series_per_source=2)):
        assert send([point(host="a"), point(host="b")])[0] == 200
        status, body, _ = send(
            [point(host="a", ts=T0 - 1), point(host="c"), point(host="d"), point(host="b", ts=T0)]
        )
        assert status == 429
        assert body["error"]["code"] == "SERIES_LIMIT_EXCEEDED"
        assert body["accepted"] == 2
        assert [(r["index"], r["reason"]) for r in body["rejected"]] == [
            (1, "SERIES_LIMIT_EXCEEDED"),
            (2, "SERIES_LIMIT_EXCEEDED"),
        ]
        # another source has its own count
        assert send([point(host="c")], principal="key-b")[0] == 200
    status, listed, _ = call_api("list-metric-series", query={"source": "key-a"})
    assert sorted(s["dimensions"]["host"] for s in listed["series"]) == ["a", "b"]


def test_the_series_limit_fills_the_room_that_is_left(clock):
    with container.override(metric_limits=m.MetricLimits(max_series_per_source=3)):
        assert send([point(host="a"), point(host="b")])[0] == 200
        status, body, _ = send([point(host="c"), point(host="d"), point(host="e")])
    assert status == 429 and body["accepted"] == 1
    assert [r["index"] for r in body["rejected"]] == [1, 2]
    item = boto3.client("dynamodb").get_item(
        TableName=TABLE, Key={"pk": {"S": "SRC#key-a"}, "sk": {"S": "COUNT"}}
    )["Item"]
    assert item["series"]["N"] == "3"


def test_series_listing_filters_and_pages(clock):
    send([point(name=f"svc.latency.{i}", host=str(i % 2)) for i in range(5)] + [point("other")])
    status, page, _ = call_api("list-metric-series", query={"name_prefix": "svc.", "limit": "2"})
    assert status == 200 and len(page["series"]) == 2 and page["next_token"]
    names = [s["name"] for s in page["series"]]
    while page["next_token"]:
        status, page, _ = call_api(
            "list-metric-series",
            query={"name_prefix": "svc.", "limit": "2", "next_token": page["next_token"]},
        )
        names += [s["name"] for s in page["series"]]
    assert names == [f"svc.latency.{i}" for i in range(5)]
    status, page, _ = call_api("list-metric-series", query={"dimension": "host=1"})
    assert sorted(s["name"] for s in page["series"]) == ["svc.latency.1", "svc.latency.3"]
    status, body, _ = call_api("list-metric-series", query={"dimension": "host"})
    assert (status, body["error"]["code"]) == (422, "INVALID_DIMENSION_FILTER")
    status, body, _ = call_api("list-metric-series", query={"next_token": "garbage!"})
    assert (status, body["error"]["code"]) == (400, "INVALID_NEXT_TOKEN")


def test_query_parameters_are_validated(clock):
    send([point()])
    sid = m.series_id("cpu", {})
    cases = [
        ({"series": "cpu"}, 422, "INVALID_SERIES_ID"),
        ({"series": sid, "from": str(T0), "to": str(T0 - 10)}, 422, "INVALID_TIME_RANGE"),
        ({"series": sid, "step": "0"}, 422, "INVALID_STEP"),
        ({"series": sid, "step": "5x"}, 422, "INVALID_STEP"),
        ({"series": sid, "stat": "median"}, 422, "VALIDATION_FAILED"),
        ({"series": sid, "from": str(T0 - 30 * 86_400), "step": "1s"}, 422, "QUERY_TOO_LARGE"),
        ({"series": sid, "from": "2026-03-02T10:00:00"}, 422, "INVALID_TIME_RANGE"),
        ({"series": "ser_" + "0" * 24}, 404, "SERIES_NOT_FOUND"),
    ]
    for query, status, code in cases:
        got, body, _ = call_api("query-metrics", query=query)
        assert (got, body["error"]["code"]) == (status, code), query
    status, body, _ = call_api("query-metrics", query={"series": sid})
    assert status == 200 and body["step"] == 10 and len(body["points"]) == 1


def test_points_land_in_10_minute_buckets_with_a_ttl(clock):
    send([point(ts=T0 - 600 - 5), point(ts=T0 - 5), point(ts=T0 - 4)])
    items = boto3.client("dynamodb").query(
        TableName=TABLE,
        KeyConditionExpression="pk = :p",
        ExpressionAttributeValues={":p": {"S": "D#" + m.series_id("cpu", {})}},
    )["Items"]
    assert [i["sk"]["S"] for i in items] == [f"{T0 - 1200:010d}", f"{T0 - 600:010d}"]
    assert {k for k in items[1] if k.startswith("o")} == {"o595", "o596"}
    assert int(items[1]["expires_at"]["N"]) == T0 + 35 * 86_400


def test_read_last_for_the_refit_job(clock):
    store = DynamoMetricStore(TABLE)
    sid = m.series_id("cpu", {})
    send([point(ts=T0 - 3 * 86_400 + i * 300, value=float(i)) for i in range(864)])
    ts, vs = store.read_last(sid, 100, T0)
    assert len(ts) == 100 and vs[-1] == 863.0 and vs[0] == 764.0
    ts, vs = store.read_last(sid, 10, T0 - 86_400)
    assert ts[-1] <= T0 - 86_400 and len(ts) == 10
    assert len(store.read_last(sid, 10_000, T0)[0]) == 864


# ---- OTLP -----------------------------------------------------------------------------------


def otlp_request(ts_ns: int) -> dict:
    """The OTLP sample (events/sources/otlp_metrics.json) moved to `ts_ns`."""
    text = OTLP_SAMPLE.read_text().replace("1544712660300000000", str(ts_ns))
    return json.loads(text)


def otlp_event(body: bytes | str, content_type: str, encoding: str | None = None) -> dict:
    event = api_event("ingest-otlp-metrics", principal="otel")
    event["headers"] = {"content-type": content_type}
    if encoding:
        event["headers"]["content-encoding"] = encoding
    if isinstance(body, bytes):
        event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    else:
        event["body"] = body
    return event


def stored_names() -> set[str]:
    _, listed, _ = call_api("list-metric-series", query={"limit": "200"})
    return {s["name"] for s in listed["series"]}


def test_otlp_json(clock):
    result = invoke(
        "ingest-otlp-metrics",
        otlp_event(json.dumps(otlp_request((T0 - 10) * 10**9)), "application/json"),
    )
    assert result["statusCode"] == 200, result
    assert json.loads(result["body"]) == {}
    assert stored_names() == {
        "my.counter",
        "my.gauge",
        "my.histogram.count",
        "my.histogram.sum",
        "my.histogram.min",
        "my.histogram.max",
        "my.histogram.p95",
        "my.exponential.histogram.count",
        "my.exponential.histogram.sum",
        "my.exponential.histogram.min",
        "my.exponential.histogram.max",
    }
    _, listed, _ = call_api("list-metric-series", query={"name_prefix": "my.gauge"})
    assert listed["series"][0]["dimensions"] == {
        "service.name": "my.service",
        "my.gauge.attr": "some value",
    }
    sid = listed["series"][0]["id"]
    _, answer, _ = call_api("query-metrics", query={"series": sid})
    assert answer["points"][0]["value"] == 10.0


def test_otlp_protobuf_gzip_and_partial_success(clock):
    from google.protobuf import json_format

    data = otlp_request((T0 - 10) * 10**9)
    # the sample's first data point far in the past: rejected, the rest stored
    data["resourceMetrics"][0]["scopeMetrics"][0]["metrics"][0]["sum"]["dataPoints"][0][
        "timeUnixNano"
    ] = str((T0 - 30 * 86_400) * 10**9)
    message = json_format.ParseDict(data, metrics_service_pb2.ExportMetricsServiceRequest())
    body = gzip.compress(message.SerializeToString())
    result = invoke(
        "ingest-otlp-metrics", otlp_event(body, "application/x-protobuf", encoding="gzip")
    )
    assert result["statusCode"] == 200, result
    assert result["headers"]["Content-Type"] == "application/x-protobuf"
    answer = metrics_service_pb2.ExportMetricsServiceResponse.FromString(
        base64.b64decode(result["body"])
    )
    assert answer.partial_success.rejected_data_points == 1
    assert "TIMESTAMP_TOO_OLD" in answer.partial_success.error_message
    assert "my.gauge" in stored_names() and "my.counter" not in stored_names()


def test_otlp_bad_requests(clock):
    for event, code in (
        (otlp_event("{not json", "application/json"), "MALFORMED_OTLP"),
        (otlp_event(b"\xff\xff\xff", "application/x-protobuf"), "MALFORMED_OTLP"),
        (otlp_event("{}", "text/plain"), "UNSUPPORTED_CONTENT_TYPE"),
        (otlp_event(b"not gzip", "application/x-protobuf", "gzip"), "MALFORMED_BODY"),
        (otlp_event("{}", "application/json", "br"), "UNSUPPORTED_ENCODING"),
    ):
        result = invoke("ingest-otlp-metrics", event)
        assert result["statusCode"] == 400, result
        assert json.loads(result["body"])["error"]["code"] == code


# ---- CloudWatch metric sources and the pull -------------------------------------------------


def test_metric_sources_and_the_cloudwatch_pull(clock):
    cw = boto3.client("cloudwatch")
    for minutes in range(1, 40):
        cw.put_metric_data(
            Namespace="AWS/EC2",
            MetricData=[
                {
                    "MetricName": "CPUUtilization",
                    "Dimensions": [{"Name": "InstanceId", "Value": "i-1"}],
                    "Timestamp": NOW - timedelta(minutes=minutes),
                    "Value": float(minutes),
                }
            ],
        )
    body = {
        "name": "ec2 cpu",
        "namespace": "AWS/EC2",
        "metric_names": ["CPUUtilization"],
        "dimensions": [{"name": "InstanceId", "value": "i-1"}],
        "period": 300,
        "stat": "Average",
    }
    status, created, _ = call_api("create-metric-source", body=body)
    assert status == 201, created
    source_id = created["metric_source"]["id"]
    bad = {**body, "stat": "Median", "period": 7}
    status, error, _ = call_api("create-metric-source", body=bad)
    assert status == 422 and error["error"]["code"] == "VALIDATION_FAILED"

    first = invoke("pull-cloudwatch-metrics", {})
    assert first["sources"] == 1 and first["failed"] == [] and first["accepted"] > 0, first
    again = invoke("pull-cloudwatch-metrics", {})
    assert again["accepted"] == first["accepted"] and again["rejected"] == 0

    sid = m.series_id("AWS/EC2/CPUUtilization", {"InstanceId": "i-1", "stat": "Average"})
    ts, vs = DynamoMetricStore(TABLE).read(sid, T0 - 7200, T0)
    assert len(ts) == first["accepted"] and all(t % 300 == 0 for t in ts.tolist())
    assert all(math.isfinite(v) for v in vs.tolist())

    status, listed, _ = call_api("list-metric-sources")
    assert listed["metric_sources"][0]["last_run"]["accepted"] == first["accepted"]
    status, series, _ = call_api(
        "list-metric-series", query={"source": f"metric-source:{source_id}"}
    )
    assert [s["id"] for s in series["series"]] == [sid]

    status, _, _ = call_api("delete-metric-source", path_params={"source_id": source_id})
    assert status == 200
    status, error, _ = call_api("delete-metric-source", path_params={"source_id": source_id})
    assert (status, error["error"]["code"]) == (404, "METRIC_SOURCE_NOT_FOUND")
    assert invoke("pull-cloudwatch-metrics", {})["sources"] == 0


def test_last_seen_is_refreshed_hourly_and_active_series_can_be_listed(clock):
    send([point(host="a"), point(host="b")])
    clock.current = NOW + timedelta(minutes=30)
    send([point(host="a", ts=T0 + 1700)])
    store = DynamoMetricStore(TABLE)
    assert {r.last_seen for r in store.list_series().items} == {T0}  # not yet an hour
    clock.current = NOW + timedelta(hours=2)
    send([point(host="a", ts=T0 + 7000)])
    seen = {r.dimensions["host"]: r.last_seen for r in store.list_series().items}
    assert seen == {"a": T0 + 7200, "b": T0}
    active = store.list_series(active_since=T0 + 3600).items
    assert [r.dimensions["host"] for r in active] == ["a"]
