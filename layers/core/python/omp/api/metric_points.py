"""The scoring hook of the metric ingest routes and the CloudWatch pull: accepted points go to
the `metric-points` queue for `score-metrics` (docs/baselines-and-anomalies.md)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from omp.domain import metrics as m
from omp.domain.anomaly import SeriesPoints
from omp.runtime import container


def queue_for_scoring(accepted: Mapping[str, Sequence[m.Point]]) -> None:
    """Queue the accepted points of a batch, grouped by series, for the `score-metrics`
    consumer. A failure raises (503): the points are stored, and the sender's retry stores
    nothing twice and queues them again (the scorer skips points it has already scored)."""
    if not accepted:
        return
    groups = []
    for sid, points in accepted.items():
        first = points[0]
        groups.append(
            SeriesPoints(
                sid, first.name, dict(first.dimensions), [(p.timestamp, p.value) for p in points]
            )
        )
    container.metric_points_queue().send(groups)
