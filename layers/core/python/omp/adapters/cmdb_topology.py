"""The CMDB as correlation sees it: an alarm's resource -> its CI (`ci_of`, DynamoDB only),
the CIs within k hops of a CI (`neighbours`, the graph), and the services an incident's CIs
affect (`affected_services`, the graph's downstream impact). Read-only over the CMDB's own
stores (`omp.adapters.dynamo_cmdb`, `omp.adapters.gremlin_graph`).

Both stores are built on first use, through the factories the composition root passes: the
graph client (gremlinpython, a Neptune connection) is imported and connected only when a CI
was actually found for an alarm, never at import time; process-alerts' cold start does not pay
for it. A CMDB or graph failure does not fail the alert: the alarm is correlated without
topology (logged), as it would be without a CMDB.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from omp.domain.errors import DomainError

if TYPE_CHECKING:
    from omp.ports import CiRepository, Graph

logger = logging.getLogger("omp.cmdb_topology")

CI_PREFIX = "ci"  # omp.domain.cmdb.cis.ID_PREFIX (not imported: keeps this module light)
# What an alarm's labels may name its resource by, after `Signal.resource`. A `host:port`
# value (Prometheus' `instance`) is tried as its host: no CI is named `host:port`, and each
# candidate costs one to two reads.
RESOURCE_LABELS = ("resource", "instance")
SERVICE_TYPES = ("service", "application")
MAX_CANDIDATES = 3


def _host(value: str) -> str:
    if value.startswith("arn:"):
        return value
    host, sep, port = value.rpartition(":")
    if sep and port.isdigit() and host:
        return host.strip("[]")
    return value


def candidates(resource: str | None, labels: dict[str, str]) -> list[str]:
    """The strings to resolve, most specific first, without repeats."""
    out: list[str] = []
    for value in [resource, *(labels.get(name) for name in RESOURCE_LABELS)]:
        value = _host((value or "").strip())
        if value and value not in out:
            out.append(value)
    return out[:MAX_CANDIDATES]


class CmdbTopology:
    """`TopologyPort` and `ResourceResolver` over the CMDB. Build one per batch: it caches
    what it resolved and walked for that batch only (a CI or an edge added later counts from
    the next batch on)."""

    def __init__(self, cis: Callable[[], CiRepository], graph: Callable[[], Graph]) -> None:
        self._cis_factory = cis
        self._graph_factory = graph
        self._graph: Graph | None = None
        self._ci_cache: dict[str, str | None] = {}
        self._near_cache: dict[tuple[str, int], set[str]] = {}

    @property
    def graph_connected(self) -> bool:
        return self._graph is not None

    def _g(self) -> Graph:
        if self._graph is None:
            self._graph = self._graph_factory()
        return self._graph

    # ---- ResourceResolver ----

    def ci_of(self, resource: str | None, labels: dict[str, str]) -> str | None:
        """The active CI the alarm's resource (or its `resource` / `instance` label) names,
        through the CMDB's own resolution (ARN, AWS resource id, service or application
        name: `omp.services.cmdb.resolve_resource`)."""
        for candidate in candidates(resource, labels):
            if candidate not in self._ci_cache:
                self._ci_cache[candidate] = self._resolve(candidate)
            found = self._ci_cache[candidate]
            if found is not None:
                return found
        return None

    def _resolve(self, candidate: str) -> str | None:
        from omp.domain.cmdb.cis import CiStatus
        from omp.services.cmdb import resolve_resource

        try:
            ci = resolve_resource(candidate, repo=self._cis_factory())
        except DomainError as exc:
            if exc.code != "CI_NOT_FOUND":
                logger.warning("CMDB lookup of %r failed (%s): no topology", candidate, exc.code)
            return None
        return ci.id if ci.status is CiStatus.ACTIVE else None

    # ---- TopologyPort ----

    def neighbours(self, resource: str, k: int) -> set[str]:
        """The CIs within `k` hops of the CI `resource`, relations of any type, either way.
        A resource that is not a CI id (the alarm resolved to none) touches no graph."""
        from omp.domain.ids import is_id

        if not is_id(resource, CI_PREFIX):
            return set()
        key = (resource, k)
        if key not in self._near_cache:
            self._near_cache[key] = self._walk(resource, k)
        return set(self._near_cache[key])

    def _walk(self, ci_id: str, k: int) -> set[str]:
        from omp.domain.cmdb.graph import walk

        try:
            found = walk(self._g().hop, ci_id, out_types=None, in_types=None, depth=k)
        except Exception as exc:  # GRAPH_UNAVAILABLE, or the driver failing to connect at all
            code = exc.code if isinstance(exc, DomainError) else type(exc).__name__
            logger.warning("graph walk from %s failed (%s): no topology", ci_id, code)
            return set()
        return set(found.depth) - {ci_id}

    # ---- affected services (GET /v1/incidents/{id}) ----

    def affected_services(self, ci_ids: Iterable[str], depth: int) -> list[dict[str, Any]]:
        """The services and applications that fail when these CIs do: the CMDB's downstream
        impact walk (`omp.services.topology.impact`'s relation directions) of each, the CIs
        themselves included when they are services. Each once, nearest first, with `via`
        (the incident's CIs that reach it) and `depth`."""
        from omp.domain.cmdb.graph import walk
        from omp.domain.cmdb.relations import impact_types

        reverse, forward = impact_types()
        best: dict[str, int] = {}
        via: dict[str, set[str]] = {}
        for ci_id in sorted(set(ci_ids)):
            found = walk(self._g().hop, ci_id, out_types=forward, in_types=reverse, depth=depth)
            for node, d in found.depth.items():
                best[node] = min(best.get(node, d), d)
                via.setdefault(node, set()).add(ci_id)
        info = self._g().vertices(list(best)) if best else {}
        out = []
        for node, d in best.items():
            vertex = info.get(node) or {}
            if vertex.get("type") not in SERVICE_TYPES:
                continue
            out.append(
                {
                    "id": node,
                    "name": vertex.get("name"),
                    "type": vertex.get("type"),
                    "depth": d,
                    "via": sorted(via[node]),
                }
            )
        out.sort(key=lambda s: (s["depth"], SERVICE_TYPES.index(s["type"]), s["name"] or ""))
        return out
