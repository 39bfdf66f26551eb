"""Metric use cases: ingest checked points, list series, query, CloudWatch metric sources."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from omp.domain import metrics as m
from omp.domain.errors import DomainError, NotFound, ValidationFailed
from omp.domain.ids import new_id
from omp.domain.pagination import Page

if TYPE_CHECKING:
    from omp.domain.metric_sources import CreateMetricSource, MetricSource
    from omp.ports import CloudWatchMetrics, MetricSourceStore, MetricStore

# ---- ingestion ------------------------------------------------------------------------------


@dataclass
class IngestOutcome:
    """What a batch stored. `accepted` is grouped by series: the hook the anomaly scoring
    (issue 4 section 3) reads, one baseline per series per batch."""

    accepted: dict[str, list[m.Point]] = field(default_factory=dict)
    rejected: list[m.Rejection] = field(default_factory=list)

    @property
    def accepted_count(self) -> int:
        return sum(len(points) for points in self.accepted.values())

    @property
    def series_limited(self) -> bool:
        return any(r.reason == m.SERIES_LIMIT_EXCEEDED for r in self.rejected)


def ingest(
    checked: m.Checked,
    *,
    source: str,
    store: MetricStore,
    now: datetime,
    limits: m.MetricLimits,
) -> IngestOutcome:
    """Register new series (within the source's limit), store the points, report each point.

    Rules (docs/metrics.md): points of a series the source may not create are rejected with
    SERIES_LIMIT_EXCEEDED, points of known series are stored; a second already stored with
    another value is rejected with DUPLICATE_TIMESTAMP (the first value stays); the same value
    again is accepted and changes nothing (a retried batch is harmless)."""
    now_s = int(now.timestamp())
    firsts: dict[str, m.Point] = {}
    for _, point in checked.points:
        firsts.setdefault(point.series_id, point)
    known = store.get_series(list(firsts)) if firsts else {}
    new = [
        m.SeriesRecord(p.series_id, p.name, dict(p.dimensions), source, now_s, now_s)
        for sid, p in firsts.items()
        if sid not in known
    ]
    registered = store.register(new, limits.max_series_per_source) if new else set()
    allowed = set(known) | registered
    outcome = IngestOutcome(rejected=list(checked.rejected))
    writable: list[tuple[int, m.Point]] = []
    for index, point in checked.points:
        if point.series_id in allowed:
            writable.append((index, point))
        else:
            outcome.rejected.append(
                m.Rejection(
                    index,
                    m.SERIES_LIMIT_EXCEEDED,
                    f"this source may create at most {limits.max_series_per_source} series",
                )
            )
    conflicts = {
        (p.series_id, p.timestamp): stored for p, stored in store.write([p for _, p in writable])
    }
    for index, point in writable:
        stored = conflicts.get((point.series_id, point.timestamp))
        if stored is None:
            outcome.accepted.setdefault(point.series_id, []).append(point)
        else:
            outcome.rejected.append(
                m.Rejection(
                    index,
                    m.DUPLICATE_TIMESTAMP,
                    f"this series already has the value {stored!r} at this second",
                )
            )
    stale = [
        sid for sid, record in known.items() if record.last_seen < now_s - m.LAST_SEEN_REFRESH_S
    ]
    if stale:
        store.touch(stale, now_s)
    outcome.rejected.sort(key=lambda r: r.index)
    return outcome


# ---- series and queries ---------------------------------------------------------------------


def list_series(
    store: MetricStore,
    *,
    name_prefix: str | None,
    dimension: str | None,
    source: str | None,
    limit: int,
    next_token: str | None,
) -> Page[m.SeriesRecord]:
    pair = None
    if dimension is not None:
        key, sep, value = dimension.partition("=")
        if not sep or not key or not value:
            raise ValidationFailed(
                "dimension must be key=value",
                code="INVALID_DIMENSION_FILTER",
                details=[{"loc": ["query", "dimension"], "msg": "expected key=value"}],
            )
        pair = (key, value)
    return store.list_series(
        name_prefix=name_prefix,
        dimension=pair,
        source=source,
        limit=limit,
        next_token=next_token,
    )


STEPS = (1, 10, 60, 300, 900, 3_600, 21_600, 86_400)
DEFAULT_RANGE_S = 3_600
DEFAULT_POINTS = 1_000


@dataclass(frozen=True)
class MetricQuery:
    series_id: str
    start: int
    end: int
    step: int
    stat: str


def build_query(
    series_id: str,
    start: int | None,
    end: int | None,
    step: int | None,
    stat: str,
    *,
    now: datetime,
    limits: m.MetricLimits,
) -> MetricQuery:
    """Defaults: the last hour; a step from STEPS giving at most 1,000 points."""
    if not m.SERIES_ID_PATTERN.match(series_id):
        raise ValidationFailed(
            "series must be a series id (ser_ and 24 hex characters)",
            code="INVALID_SERIES_ID",
            details=[{"loc": ["query", "series"], "msg": "not a series id"}],
        )
    end_ = end if end is not None else int(now.timestamp())
    start_ = start if start is not None else end_ - DEFAULT_RANGE_S
    if start_ >= end_:
        raise ValidationFailed(
            "from must be before to",
            code="INVALID_TIME_RANGE",
            details=[{"loc": ["query", "from"], "msg": "not before to"}],
        )
    if end_ - start_ > limits.retention_days * 86_400:
        raise ValidationFailed(
            f"the range spans more than the {limits.retention_days}-day retention",
            code="INVALID_TIME_RANGE",
            details=[{"loc": ["query", "from"], "msg": "range wider than the retention"}],
        )
    if step is None:
        span = end_ - start_
        step = next((s for s in STEPS if span / s <= DEFAULT_POINTS), STEPS[-1])
    windows = math.ceil((end_ - (start_ - start_ % step)) / step)
    if windows > limits.max_query_points:
        raise ValidationFailed(
            f"the query would return {windows} points; at most {limits.max_query_points}: "
            "use a larger step or a shorter range",
            code="QUERY_TOO_LARGE",
            details=[{"loc": ["query", "step"], "msg": "too many points"}],
        )
    return MetricQuery(series_id, start_, end_, step, stat)


@dataclass(frozen=True)
class QueryResult:
    series: m.SeriesRecord
    timestamps: list[int]  # window starts, epoch seconds
    values: list[float]


def query(q: MetricQuery, store: MetricStore) -> QueryResult:
    found = store.get_series([q.series_id]).get(q.series_id)
    if found is None:
        raise NotFound(f"series {q.series_id} not found", code="SERIES_NOT_FOUND")
    from omp.analytics.downsample import downsample  # plain Python: no numpy on this route

    ts, vs = store.read_points(q.series_id, q.start, q.end)
    # Windows are aligned to multiples of the step (epoch), so answers are stable across calls.
    starts, out = downsample(ts, vs, start=q.start - q.start % q.step, step=q.step, stat=q.stat)
    return QueryResult(found, starts, out)


# ---- CloudWatch metric sources --------------------------------------------------------------


def create_source(
    body: CreateMetricSource, *, actor: str, now: datetime, sources: MetricSourceStore
) -> MetricSource:
    from omp.domain.metric_sources import MetricSource  # the ingest routes do without it

    source = MetricSource(
        **body.model_dump(),
        id=new_id("msrc", int(now.timestamp() * 1000)),
        created_at=now,
        created_by=actor,
    )
    sources.put_new(source)
    return source


PULL_DELAY_S = 120  # CloudWatch data can arrive a couple of minutes late
MIN_LOOKBACK_S = 900


def pull_window(period: int, now: datetime) -> tuple[int, int]:
    """[start, end): complete periods only, the last few again (a re-run stores nothing twice)."""
    end = int(now.timestamp()) - PULL_DELAY_S
    end -= end % period
    return end - max(3 * period, MIN_LOOKBACK_S), end


def cloudwatch_queries(source: MetricSource) -> list[dict[str, Any]]:
    dims = [{"Name": d.name, "Value": d.value} for d in source.dimensions]
    return [
        {
            "Id": f"m{i}",
            "MetricStat": {
                "Metric": {"Namespace": source.namespace, "MetricName": name, "Dimensions": dims},
                "Period": source.period,
                "Stat": source.stat,
            },
            "ReturnData": True,
        }
        for i, name in enumerate(source.metric_names)
    ]


def pull_source(
    source: MetricSource,
    *,
    cloudwatch: CloudWatchMetrics,
    store: MetricStore,
    now: datetime,
    limits: m.MetricLimits,
) -> tuple[IngestOutcome, dict[str, Any]]:
    from omp.domain.metric_sources import dimension_key, series_name

    start, end = pull_window(source.period, now)
    data = cloudwatch.get_metric_data(cloudwatch_queries(source), start, end)
    base = {dimension_key(d.name): d.value for d in source.dimensions}
    base["stat"] = source.stat
    checker = m.BatchChecker()
    index = 0
    for i, metric_name in enumerate(source.metric_names):
        name = series_name(source.namespace, metric_name)
        for stamp, value in sorted(data.get(f"m{i}", [])):
            checker.add(index, m.check_parts(name, base, stamp, value, index, now, limits))
            index += 1
    outcome = ingest(
        checker.checked, source=source.ingest_source, store=store, now=now, limits=limits
    )
    return outcome, {"start": start, "end": end, "points": index}


def pull_all(
    *,
    sources: MetricSourceStore,
    cloudwatch: CloudWatchMetrics,
    store: MetricStore,
    now: datetime,
    limits: m.MetricLimits,
    on_accepted: Callable[[dict[str, list[m.Point]]], None] | None = None,
) -> dict[str, Any]:
    """Pull every configured source; one source failing does not stop the others (its error is
    recorded on it and the run reports it). `on_accepted` gets each source's accepted points by
    series (the anomaly scoring hook)."""
    summary: dict[str, Any] = {"sources": 0, "accepted": 0, "rejected": 0, "failed": []}
    token: str | None = None
    while True:
        page = sources.list(limit=100, next_token=token)
        for source in page.items:
            summary["sources"] += 1
            run: dict[str, Any] = {"at": now.isoformat()}
            try:
                outcome, window = pull_source(
                    source, cloudwatch=cloudwatch, store=store, now=now, limits=limits
                )
                if on_accepted is not None:
                    on_accepted(outcome.accepted)
            except DomainError as exc:
                run["error"] = {"code": exc.code, "message": exc.message}
                summary["failed"].append(source.id)
            else:
                run |= window
                run["accepted"] = outcome.accepted_count
                run["rejected"] = dict(Counter(r.reason for r in outcome.rejected))
                summary["accepted"] += outcome.accepted_count
                summary["rejected"] += len(outcome.rejected)
            sources.record_run(source.id, run)
        token = page.next_token
        if not token:
            return summary
