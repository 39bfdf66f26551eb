"""The CI graph over Gremlin: Neptune through gremlinpython, or gremlite (SQLite) locally.

Vertices: label `ci`, properties `ci_id`, `type`, `name`, `status`. Edges: the relation type as
label, property `rid` (the relation id), `source` (who made it), `created_at`.

Only the Gremlin subset both engines run correctly is used (see DESIGN.md landmines): no
`.iterate()` (we call `.to_list()`), no repeat()/loops/dedup/group (traversals go one hop per
round trip, the frontier batched with `P.within`, and the services keep the visited set), no
numeric predicates, and edges are added between step-labelled vertices. `round_trips` counts
the requests sent (Neptune bills by I/O and time; the benchmark reports it).
"""

from __future__ import annotations

import contextlib
import threading
from typing import Any

from omp.domain.errors import TransientError

_WITHIN_CHUNK = 500  # frontier ids per request (SQLite's bound-parameter limit, request size)
_EDGE_FIELDS = ("id", "type", "source", "target", "source_type", "target_type")
_ENDS_CACHE = 500_000  # vertex id -> (ci_id, type) entries kept between requests


class GremlinGraph:
    def __init__(self, endpoint: str = "", path: str = "") -> None:
        """`endpoint`: a Neptune `wss://...:8182/gremlin` URL; else `path`: a gremlite file."""
        if not endpoint and not path:
            raise ValueError("a graph endpoint or a gremlite path is required")
        self.endpoint = endpoint
        self.path = path
        self.round_trips = 0
        self._local = threading.local()  # gremlite: one SQLite connection per thread
        self._ends: dict[Any, tuple[str, str]] = {}

    # ---- connection ----

    def _g(self) -> Any:
        g = getattr(self._local, "g", None)
        if g is not None:
            return g
        from gremlin_python.process.anonymous_traversal import traversal

        if self.endpoint:
            from gremlin_python.driver.driver_remote_connection import DriverRemoteConnection

            remote: Any = DriverRemoteConnection(self.endpoint, "g")
        else:
            import logging

            from gremlite import SQLiteConnection

            # gremlite logs every query plan at INFO ("QUAD QUERY CONSTRAINTS"): not ours
            logging.getLogger("gremlite").setLevel(logging.WARNING)
            remote = SQLiteConnection(self.path, timeout=30.0)
        self._local.remote = remote
        self._local.g = traversal().with_remote(remote)
        return self._local.g

    def _run(self, traversal: Any) -> list[Any]:
        self.round_trips += 1
        try:
            return list(traversal.to_list())
        except Exception as exc:  # the driver's errors have no common base worth naming
            self._rollback()
            raise TransientError(
                f"the graph database failed ({type(exc).__name__}: {exc})",
                code="GRAPH_UNAVAILABLE",
            ) from exc

    def _commit(self) -> None:
        remote = getattr(self._local, "remote", None)
        if remote is not None and not self.endpoint:
            remote.commit()  # gremlite keeps an implicit transaction; Neptune commits per request

    def _rollback(self) -> None:
        remote = getattr(self._local, "remote", None)
        if remote is not None and not self.endpoint:
            # best effort: the next request starts afresh anyway
            with contextlib.suppress(Exception):
                remote.con.rollback()

    def close(self) -> None:
        remote = getattr(self._local, "remote", None)
        if remote is not None:
            remote.close()
        self._local = threading.local()

    # ---- vertices ----

    def upsert_vertex(self, ci_id: str, type_name: str, name: str, status: str) -> None:
        g = self._g()
        found = self._run(g.V().has("ci_id", ci_id).values("ci_id"))
        if found:
            self._run(
                g.V()
                .has("ci_id", ci_id)
                .property("type", type_name)
                .property("name", name)
                .property("status", status)
                .values("ci_id")
            )
        else:
            self._run(
                g.add_v("ci")
                .property("ci_id", ci_id)
                .property("type", type_name)
                .property("name", name)
                .property("status", status)
                .values("ci_id")
            )
        self._commit()

    def update_vertex(self, ci_id: str, name: str, status: str) -> None:
        """Keep a vertex's name and status in step with its CI (no vertex: nothing to do)."""
        self.update_vertices({ci_id: (name, status)})

    def update_vertices(self, rows: dict[str, tuple[str, str]]) -> None:
        """`update_vertex` for many (ci_id -> (name, status)), one commit for all (imports)."""
        g = self._g()
        for ci_id, (name, status) in rows.items():
            self._run(
                g.V()
                .has("ci_id", ci_id)
                .property("name", name)
                .property("status", status)
                .values("ci_id")
            )
        self._commit()

    # ---- edges ----

    def _edge_projection(self, traversal: Any) -> Any:
        from gremlin_python.process.graph_traversal import __

        return (
            traversal.project(*_EDGE_FIELDS)
            .by("rid")
            .by(__.label())
            .by(__.out_v().values("ci_id"))
            .by(__.in_v().values("ci_id"))
            .by(__.out_v().values("type"))
            .by(__.in_v().values("type"))
        )

    def add_edge(
        self, rel_id: str, source: str, relation: str, target: str, props: dict[str, str]
    ) -> None:
        g = self._g()
        traversal = (
            g.V()
            .has("ci_id", source)
            .as_("s")
            .V()
            .has("ci_id", target)
            .as_("t")
            .add_e(relation)
            .from_("s")
            .to("t")
            .property("rid", rel_id)
        )
        for key, value in props.items():
            traversal = traversal.property(key, value)
        created = self._run(traversal.values("rid"))
        if not created:
            raise TransientError("the edge's vertices are missing", code="GRAPH_UNAVAILABLE")
        self._commit()

    def ensure_vertices(self, rows: dict[str, tuple[str, str, str]]) -> int:
        """Add the vertices that do not exist yet (ci_id -> (type, name, status)), one commit
        for all; returns how many were added. Existing vertices are left as they are."""
        from gremlin_python.process.traversal import P

        ids = list(rows)
        existing: set[str] = set()
        for start in range(0, len(ids), _WITHIN_CHUNK):
            chunk = ids[start : start + _WITHIN_CHUNK]
            existing |= set(self._run(self._g().V().has("ci_id", P.within(chunk)).values("ci_id")))
        missing = [i for i in ids if i not in existing]
        g = self._g()
        for ci_id in missing:
            type_name, name, status = rows[ci_id]
            self._run(
                g.add_v("ci")
                .property("ci_id", ci_id)
                .property("type", type_name)
                .property("name", name)
                .property("status", status)
                .values("ci_id")
            )
        self._commit()
        return len(missing)

    def add_edges(self, edges: list[tuple[str, str, str, str, dict[str, str]]]) -> None:
        """Many `add_edge`s (rel_id, source, relation, target, props), one commit for all."""
        g = self._g()
        for rel_id, source, relation, target, props in edges:
            traversal = (
                g.V()
                .has("ci_id", source)
                .as_("s")
                .V()
                .has("ci_id", target)
                .as_("t")
                .add_e(relation)
                .from_("s")
                .to("t")
                .property("rid", rel_id)
            )
            for key, value in props.items():
                traversal = traversal.property(key, value)
            self._run(traversal.values("rid"))
        self._commit()

    def find_edges(
        self, source: str, relation: str, target: str | None = None
    ) -> list[dict[str, Any]]:
        """Edges `relation` out of `source` (to `target` when given)."""
        g = self._g()
        traversal = g.V().has("ci_id", source).out_e(relation)
        if target is not None:
            from gremlin_python.process.graph_traversal import __

            traversal = traversal.where(__.in_v().has("ci_id", target))
        return [dict(e) for e in self._run(self._edge_projection(traversal))]

    def get_edge(self, rel_id: str) -> dict[str, Any] | None:
        found = self._run(self._edge_projection(self._g().E().has("rid", rel_id)))
        return dict(found[0]) if found else None

    def remove_edge(self, rel_id: str) -> None:
        self._run(self._g().E().has("rid", rel_id).drop())
        self._commit()

    def edge_sources(self, rel_ids: list[str]) -> dict[str, str]:
        """rel id -> the `source` property its writer gave the edge (`derived`, `aws-config`,
        `netbox`, a caller's), one request per 500 ids."""
        from gremlin_python.process.traversal import P

        out: dict[str, str] = {}
        for start in range(0, len(rel_ids), _WITHIN_CHUNK):
            chunk = rel_ids[start : start + _WITHIN_CHUNK]
            rows = self._run(self._g().E().has("rid", P.within(chunk)).element_map("rid", "source"))
            for row in rows:
                out[str(row.get("rid"))] = str(row.get("source") or "")
        return out

    def hop(
        self, ci_ids: list[str], out_types: list[str] | None, in_types: list[str] | None
    ) -> list[dict[str, Any]]:
        """Every edge out of (types `out_types`) or into (`in_types`) the given CIs, one request
        per 500 ids, plus one for endpoints not seen before. None: every type; []: that
        direction is not walked.

        Edges come back as element maps (the endpoints' vertex ids, the label, `rid`): in
        gremlite a sub-traversal per edge (`project().by(out_v().values(...))`) costs twice as
        much. Vertex id -> (ci_id, type) is cached: neither ever changes for a vertex."""
        from gremlin_python.process.graph_traversal import __
        from gremlin_python.process.traversal import Direction, P, T

        branches = []
        if out_types is None or out_types:
            branches.append(__.out_e(*(out_types or [])))
        if in_types is None or in_types:
            branches.append(__.in_e(*(in_types or [])))
        if not branches or not ci_ids:
            return []
        raw: list[Any] = []
        for start in range(0, len(ci_ids), _WITHIN_CHUNK):
            chunk = ci_ids[start : start + _WITHIN_CHUNK]
            # no has_label("ci"): in gremlite a label test next to the lookup costs a scan
            base = self._g().V().has("ci_id", P.within(chunk))
            walked = base.union(*branches) if len(branches) > 1 else base.flat_map(branches[0])
            raw += self._run(walked.element_map("rid"))
        ends = {e[d][T.id] for e in raw for d in (Direction.OUT, Direction.IN)}
        self._learn([v for v in ends if v not in self._ends])
        edges = []
        for e in raw:
            source = self._ends.get(e[Direction.OUT][T.id])
            target = self._ends.get(e[Direction.IN][T.id])
            if source is None or target is None:
                continue  # a vertex dropped meanwhile
            edges.append(
                {
                    "id": e.get("rid"),
                    "type": e[T.label],
                    "source": source[0],
                    "target": target[0],
                    "source_type": source[1],
                    "target_type": target[1],
                }
            )
        return edges

    def _learn(self, vertex_ids: list[Any]) -> None:
        from gremlin_python.process.traversal import T

        if len(self._ends) > _ENDS_CACHE:
            self._ends.clear()
        for start in range(0, len(vertex_ids), _WITHIN_CHUNK):
            chunk = vertex_ids[start : start + _WITHIN_CHUNK]
            for v in self._run(self._g().V(*chunk).element_map("ci_id", "type")):
                self._ends[v[T.id]] = (str(v.get("ci_id")), str(v.get("type")))

    def vertices(self, ci_ids: list[str]) -> dict[str, dict[str, Any]]:
        """ci_id -> {type, name, status} for the vertices that exist."""
        from gremlin_python.process.traversal import P

        out: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ci_ids), _WITHIN_CHUNK):
            chunk = ci_ids[start : start + _WITHIN_CHUNK]
            rows = self._run(
                self._g()
                .V()
                .has("ci_id", P.within(chunk))
                .element_map("ci_id", "type", "name", "status")
            )
            for r in rows:
                out[str(r["ci_id"])] = {k: r.get(k) for k in ("ci_id", "type", "name", "status")}
        return out
