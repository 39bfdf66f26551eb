"""Metric storage in the `metrics` table (single-table design, keys `pk`/`sk`, index `gsi1`).

Items
- points of one series and 10 minutes (BUCKET_SECONDS): pk `D#<series id>`, sk `<bucket
  start, 10-digit epoch s>`, one number attribute `o<offset seconds>` per point (at most 600),
  `expires_at` (TTL: bucket end + retention). A write is one UpdateItem per bucket touched (per
  100 points: DynamoDB expressions are limited to 4 KB): `SET o<off> = if_not_exists(o<off>,
  :v)`, returning the old item (ALL_OLD), so a second already stored keeps its first value and
  the caller learns which.
- a series: pk `S#<series id>`, sk `SERIES`; gsi1pk `SERIES`, gsi1sk `<name>#<series id>`
  (listing by name prefix). Names cannot hold `#`.
- a source's series count: pk `SRC#<source>`, sk `COUNT`, `series` (the cardinality limit):
  one conditional ADD per source per batch reserves room, then each new series item is a
  conditional Put.
- a CloudWatch metric source: pk `MSRC`, sk `<msrc id>`, `data` (JSON), `last_run` (JSON).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any

from omp.adapters.dynamo import ConditionFailed, batch_get, call, from_item, to_item
from omp.domain import metrics as m
from omp.domain.errors import NotFound, TransientError
from omp.domain.pagination import DEFAULT_LIMIT, Page, decode_token, encode_token

if TYPE_CHECKING:
    # A pydantic model: the metric-source store loads it, the point store (ingest) does not.
    from omp.domain.metric_sources import MetricSource

_CHUNK = 100  # points per UpdateItem (4 KB expression limit: ~32 characters per point)
_WORKERS = 8  # concurrent UpdateItems per batch
_MAX_LIST_QUERIES = 20  # a filtered list page stops after this many queries (token continues)


def _sk(bucket: int) -> str:
    return f"{bucket:010d}"


class DynamoMetricStore:
    def __init__(self, table: str, limits: m.MetricLimits | None = None) -> None:
        self.table = table
        self.limits = limits or m.MetricLimits()

    # ---- points -----------------------------------------------------------------------------

    def write(self, points: Sequence[m.Point]) -> list[tuple[m.Point, float]]:
        # One job per item; its chunks go one after another (parallel updates of one item
        # would only contend), items in parallel.
        groups = list(m.group_by_bucket(list(points)).items())

        def job(group: tuple[tuple[str, int], list[m.Point]]) -> list[tuple[m.Point, float]]:
            (series, bucket), chunk = group
            return [
                conflict
                for i in range(0, len(chunk), _CHUNK)
                for conflict in self._write_bucket(series, bucket, chunk[i : i + _CHUNK])
            ]

        if len(groups) <= 1:
            results = [job(g) for g in groups]
        else:
            with ThreadPoolExecutor(max_workers=min(_WORKERS, len(groups))) as pool:
                results = list(pool.map(job, groups))
        return [conflict for result in results for conflict in result]

    def _write_bucket(
        self, series_id: str, bucket: int, points: list[m.Point]
    ) -> list[tuple[m.Point, float]]:
        sets = ["expires_at = :e", "sid = :s"]
        values: dict[str, Any] = {
            ":e": {"N": str(m.expires_at(bucket, self.limits))},
            ":s": {"S": series_id},
        }
        for i, point in enumerate(points):
            attr = f"o{point.timestamp - bucket}"
            sets.append(f"{attr} = if_not_exists({attr}, :v{i})")
            values[f":v{i}"] = {"N": repr(point.value)}
        answer = call(
            "update_item",
            TableName=self.table,
            Key={"pk": {"S": f"D#{series_id}"}, "sk": {"S": _sk(bucket)}},
            UpdateExpression="SET " + ", ".join(sets),
            ExpressionAttributeValues=values,
            ReturnValues="ALL_OLD",  # UPDATED_OLD may omit a SET to an equal value (moto does)
        )
        old = answer.get("Attributes") or {}
        conflicts = []
        for point in points:
            stored = old.get(f"o{point.timestamp - bucket}")
            if stored is not None and float(stored["N"]) != point.value:
                conflicts.append((point, float(stored["N"])))
        return conflicts

    def read(self, series_id: str, start: int, end: int) -> tuple[Any, Any]:
        items = self._query_buckets(series_id, m.bucket_start(start), m.bucket_start(end))
        ts, vs = _points_of(items)
        keep = (ts >= start) & (ts <= end)
        return ts[keep], vs[keep]

    def read_points(self, series_id: str, start: int, end: int) -> tuple[list[int], list[float]]:
        """As `read`, in plain lists: the query route does without numpy's import time."""
        items = self._query_buckets(series_id, m.bucket_start(start), m.bucket_start(end))
        pairs = [(t, v) for t, v in _sorted_points(items) if start <= t <= end]
        return [t for t, _ in pairs], [v for _, v in pairs]

    def read_last(self, series_id: str, n: int, end: int) -> tuple[Any, Any]:
        import numpy as np

        if n <= 0:
            return np.empty(0, np.int64), np.empty(0, np.float64)
        count, items = 0, []
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :p AND sk <= :hi",
            "ExpressionAttributeValues": {
                ":p": {"S": f"D#{series_id}"},
                ":hi": {"S": _sk(m.bucket_start(end))},
            },
            "ScanIndexForward": False,
            "Limit": 144,  # a day of buckets per page
        }
        while True:
            page = call("query", **kwargs)
            for item in page.get("Items", []):
                items.append(item)
                count += sum(1 for k in item if k.startswith("o") and k[1:].isdigit())
            start_key = page.get("LastEvaluatedKey")
            if (
                count >= n + m.BUCKET_SECONDS or not start_key
            ):  # the newest bucket may lie past `end`
                break
            kwargs["ExclusiveStartKey"] = start_key
        ts, vs = _points_of(items)
        keep = ts <= end
        ts, vs = ts[keep], vs[keep]
        return ts[-n:], vs[-n:]

    def _query_buckets(self, series_id: str, first: int, last: int) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :p AND sk BETWEEN :lo AND :hi",
            "ExpressionAttributeValues": {
                ":p": {"S": f"D#{series_id}"},
                ":lo": {"S": _sk(first)},
                ":hi": {"S": _sk(last)},
            },
        }
        items: list[dict[str, Any]] = []
        while True:
            page = call("query", **kwargs)
            items.extend(page.get("Items", []))
            if not page.get("LastEvaluatedKey"):
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    # ---- the series registry ----------------------------------------------------------------

    def get_series(self, series_ids: Sequence[str]) -> dict[str, m.SeriesRecord]:
        keys = [
            {"pk": {"S": f"S#{sid}"}, "sk": {"S": "SERIES"}} for sid in dict.fromkeys(series_ids)
        ]
        records = (_series_of(item) for item in batch_get(self.table, keys))
        return {r.series_id: r for r in records}

    def register(self, records: Sequence[m.SeriesRecord], max_series_per_source: int) -> set[str]:
        """Per source: reserve room for the new series with one conditional counter update,
        then create each series item (conditional on not existing, in parallel). A series
        another writer created meanwhile gives its slot back. Series beyond the room are left
        out (the caller rejects their points)."""
        by_source: dict[str, list[m.SeriesRecord]] = {}
        for record in records:
            by_source.setdefault(record.source, []).append(record)
        registered: set[str] = set()
        for source, group in by_source.items():
            granted = self._reserve(source, len(group), max_series_per_source)
            chosen = group[:granted]
            if len(chosen) <= 1:
                created = [self._create(r) for r in chosen]
            else:
                with ThreadPoolExecutor(max_workers=min(_WORKERS, len(chosen))) as pool:
                    created = list(pool.map(self._create, chosen))
            existed = created.count(False)
            if existed:
                self._count(source, -existed)
            registered |= {r.series_id for r in chosen}
        return registered

    def _counter_key(self, source: str) -> dict[str, Any]:
        return {"pk": {"S": f"SRC#{source}"}, "sk": {"S": "COUNT"}}

    def _count(self, source: str, delta: int) -> None:
        call(
            "update_item",
            TableName=self.table,
            Key=self._counter_key(source),
            UpdateExpression="ADD series :d",
            ExpressionAttributeValues={":d": {"N": str(delta)}},
        )

    def _reserve(self, source: str, wanted: int, limit: int) -> int:
        """Add up to `wanted` to the source's count without passing `limit`; how many."""
        want = min(wanted, limit)
        for _ in range(5):
            if want <= 0:
                return 0
            try:
                call(
                    "update_item",
                    TableName=self.table,
                    Key=self._counter_key(source),
                    UpdateExpression="ADD series :n",
                    ConditionExpression="attribute_not_exists(series) OR series <= :cap",
                    ExpressionAttributeValues={
                        ":n": {"N": str(want)},
                        ":cap": {"N": str(limit - want)},
                    },
                )
                return want
            except ConditionFailed:
                item = call(
                    "get_item",
                    TableName=self.table,
                    Key=self._counter_key(source),
                    ConsistentRead=True,
                ).get("Item")
                current = int(item["series"]["N"]) if item and "series" in item else 0
                want = min(want, limit - current)
        raise TransientError("the series count kept changing; retry", code="THROTTLED")

    def _create(self, record: m.SeriesRecord) -> bool:
        """The series item; False when it exists already (created by another writer)."""
        item = to_item(
            {
                "pk": f"S#{record.series_id}",
                "sk": "SERIES",
                "gsi1pk": "SERIES",
                "gsi1sk": f"{record.name}#{record.series_id}",
                "series_id": record.series_id,
                "name": record.name,
                "dims": dict(record.dimensions),
                "dim_keys": sorted(f"{k}={v}" for k, v in record.dimensions.items()) or None,
                "source": record.source,
                "first_seen": record.first_seen,
                "last_seen": record.last_seen,
            }
        )
        try:
            call(
                "put_item",
                TableName=self.table,
                Item=item,
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ConditionFailed:
            return False
        return True

    def touch(self, series_ids: Sequence[str], now: int) -> None:
        def one(sid: str) -> None:
            with contextlib.suppress(ConditionFailed):  # newer already, or never registered
                call(
                    "update_item",
                    TableName=self.table,
                    Key={"pk": {"S": f"S#{sid}"}, "sk": {"S": "SERIES"}},
                    UpdateExpression="SET last_seen = :t",
                    ConditionExpression="attribute_exists(pk) AND last_seen < :t",
                    ExpressionAttributeValues={":t": {"N": str(now)}},
                )

        ids = list(dict.fromkeys(series_ids))
        if len(ids) <= 1:
            for sid in ids:
                one(sid)
            return
        with ThreadPoolExecutor(max_workers=min(_WORKERS, len(ids))) as pool:
            list(pool.map(one, ids))

    def list_series(
        self,
        *,
        name_prefix: str | None = None,
        dimension: tuple[str, str] | None = None,
        source: str | None = None,
        active_since: int | None = None,
        limit: int = DEFAULT_LIMIT,
        next_token: str | None = None,
    ) -> Page[m.SeriesRecord]:
        key = "gsi1pk = :p"
        values: dict[str, Any] = {":p": "SERIES"}
        if name_prefix:
            key += " AND begins_with(gsi1sk, :prefix)"
            values[":prefix"] = name_prefix
        filters = []
        if dimension:
            filters.append("contains(dim_keys, :dim)")
            values[":dim"] = f"{dimension[0]}={dimension[1]}"
        if source:
            filters.append("#source = :source")
            values[":source"] = source
        if active_since is not None:
            filters.append("last_seen >= :since")
            values[":since"] = active_since
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "gsi1",
            "KeyConditionExpression": key,
            "ExpressionAttributeValues": to_item(values),
        }
        if filters:
            kwargs["FilterExpression"] = " AND ".join(filters)
            if source:
                kwargs["ExpressionAttributeNames"] = {"#source": "source"}
        start_key = decode_token(next_token, required_keys=("k",))["k"] if next_token else None
        records: list[m.SeriesRecord] = []
        for _ in range(_MAX_LIST_QUERIES):
            if start_key:
                kwargs["ExclusiveStartKey"] = start_key
            # Limit bounds the items evaluated, so LastEvaluatedKey is exactly where to resume.
            page = call("query", Limit=limit - len(records), **kwargs)
            records.extend(_series_of(from_item(i)) for i in page.get("Items", []))
            start_key = page.get("LastEvaluatedKey")
            if not start_key or len(records) >= limit:
                break
        return Page(records, encode_token({"k": start_key}) if start_key else None)


def _sorted_points(items: list[dict[str, Any]]) -> list[tuple[int, float]]:
    """(timestamp, value) of every point of the bucket items, by timestamp (each is unique:
    one attribute per second of a bucket)."""
    points = []
    for item in items:
        bucket = int(item["sk"]["S"])
        for key, value in item.items():
            if key.startswith("o") and key[1:].isdigit():
                points.append((bucket + int(key[1:]), float(value["N"])))
    points.sort(key=lambda p: p[0])
    return points


def _points_of(items: list[dict[str, Any]]) -> tuple[Any, Any]:
    import numpy as np  # reads only: the ingest path does without numpy's import time

    points = _sorted_points(items)
    t = np.asarray([p[0] for p in points], dtype=np.int64)
    v = np.asarray([p[1] for p in points], dtype=np.float64)
    return t, v


def _series_of(item: dict[str, Any]) -> m.SeriesRecord:
    return m.SeriesRecord(
        series_id=str(item["series_id"]),
        name=str(item["name"]),
        dimensions={str(k): str(v) for k, v in (item.get("dims") or {}).items()},
        source=str(item["source"]),
        first_seen=int(item["first_seen"]),
        last_seen=int(item["last_seen"]),
    )


class DynamoMetricSourceStore:
    def __init__(self, table: str) -> None:
        self.table = table

    def put_new(self, source: MetricSource) -> None:
        call(
            "put_item",
            TableName=self.table,
            Item=to_item(
                {
                    "pk": "MSRC",
                    "sk": source.id,
                    "data": source.model_dump_json(exclude={"last_run"}),
                }
            ),
            ConditionExpression="attribute_not_exists(pk)",
        )

    def get(self, source_id: str) -> MetricSource | None:
        item = call(
            "get_item",
            TableName=self.table,
            Key={"pk": {"S": "MSRC"}, "sk": {"S": source_id}},
            ConsistentRead=True,
        ).get("Item")
        return _source_of(from_item(item)) if item else None

    def delete(self, source_id: str) -> MetricSource:
        old = call(
            "delete_item",
            TableName=self.table,
            Key={"pk": {"S": "MSRC"}, "sk": {"S": source_id}},
            ReturnValues="ALL_OLD",
        ).get("Attributes")
        if not old:
            raise NotFound(f"metric source {source_id} not found", code="METRIC_SOURCE_NOT_FOUND")
        return _source_of(from_item(old))

    def list(self, limit: int = DEFAULT_LIMIT, next_token: str | None = None) -> Page[MetricSource]:
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "KeyConditionExpression": "pk = :p",
            "ExpressionAttributeValues": {":p": {"S": "MSRC"}},
            "Limit": limit,
        }
        if next_token:
            kwargs["ExclusiveStartKey"] = decode_token(next_token, required_keys=("k",))["k"]
        page = call("query", **kwargs)
        items = [_source_of(from_item(i)) for i in page.get("Items", [])]
        last = page.get("LastEvaluatedKey")
        return Page(items, encode_token({"k": last}) if last else None)

    def record_run(self, source_id: str, run: dict[str, Any]) -> None:
        with contextlib.suppress(ConditionFailed):  # deleted while the pull ran
            call(
                "update_item",
                TableName=self.table,
                Key={"pk": {"S": "MSRC"}, "sk": {"S": source_id}},
                UpdateExpression="SET last_run = :r",
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues={":r": {"S": json.dumps(run, separators=(",", ":"))}},
            )


def _source_of(item: dict[str, Any]) -> MetricSource:
    from omp.domain.metric_sources import MetricSource

    data = json.loads(item["data"])
    if item.get("last_run"):
        data["last_run"] = json.loads(item["last_run"])
    return MetricSource.model_validate(data)
