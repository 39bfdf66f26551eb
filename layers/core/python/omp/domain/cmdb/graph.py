"""Relations and traversal answers (the API bodies), and the breadth-first walk over hops.

The walk is pure: it takes a `hop` function (one graph request per level, the frontier batched)
so the same code runs on Neptune, on gremlite and on an in-memory fake.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StringConstraints

from omp.domain.cmdb.relations import RELATION_TYPE_PATTERN
from omp.domain.model import Model

MAX_DEPTH = 6
MAX_NODES = 5000  # a walk stops growing past this many CIs (the answer says it was truncated)

RelationName = Annotated[str, StringConstraints(pattern=RELATION_TYPE_PATTERN)]
CiId = Annotated[str, StringConstraints(min_length=4, max_length=64, pattern=r"^ci_[0-9A-Z]+$")]


class AddRelation(Model):
    """The body of `POST /v1/cis/{ci_id}/relations`: an edge from this CI to `target`."""

    model_config = ConfigDict(extra="forbid")

    type: RelationName
    target: CiId
    source: Annotated[str, StringConstraints(min_length=1, max_length=64)] = "api"


class Relation(Model):
    id: str
    type: str
    source: str
    target: str
    source_type: str | None = None
    target_type: str | None = None


class RelationResponse(Model):
    relation: Relation
    created: bool = True


class Node(Model):
    id: str
    type: str | None = None
    name: str | None = None
    status: str | None = None
    depth: int = 0


class GraphResponse(Model):
    """Nodes and edges around a CI (neighbors, topology)."""

    root: str
    nodes: list[Node]
    edges: list[Relation]
    truncated: bool = False
    round_trips: int = 0


class Impacted(Model):
    ci: Node
    depth: int
    path: list[str] = Field(description="CI ids from the CI asked about to this one")
    relations: list[str] = Field(description="the relation ids along the path")


class ImpactResponse(Model):
    ci_id: str
    direction: Literal["downstream", "upstream"]
    items: list[Impacted]
    truncated: bool = False
    round_trips: int = 0


class PathResponse(Model):
    source: str
    target: str
    found: bool
    nodes: list[Node]
    edges: list[Relation]
    round_trips: int = 0


Hop = Callable[[list[str], list[str] | None, list[str] | None], list[dict[str, Any]]]


@dataclass
class Walk:
    depth: dict[str, int] = field(default_factory=dict)  # ci id -> hops from the start
    parent: dict[str, tuple[str, dict[str, Any]]] = field(default_factory=dict)  # id -> via
    edges: dict[str, dict[str, Any]] = field(default_factory=dict)  # relation id -> edge
    types: dict[str, str] = field(default_factory=dict)  # ci id -> type (from the edges)
    truncated: bool = False

    def path_to(self, ci_id: str) -> tuple[list[str], list[str]]:
        nodes, rels = [ci_id], []
        while ci_id in self.parent:
            ci_id, edge = self.parent[ci_id]
            nodes.append(ci_id)
            rels.append(str(edge["id"]))
        return nodes[::-1], rels[::-1]


def walk(
    hop: Hop,
    start: str,
    *,
    out_types: list[str] | None,
    in_types: list[str] | None,
    depth: int,
    stop_at: str | None = None,
    max_nodes: int = MAX_NODES,
) -> Walk:
    """Breadth first, one `hop` per level: out along `out_types`, in along `in_types` (None:
    every type, []: not that way). Each CI is reached once, by a shortest path."""
    result = Walk(depth={start: 0})
    frontier = [start]
    for level in range(1, depth + 1):
        if not frontier:
            break
        in_frontier = set(frontier)
        nxt: list[str] = []
        for edge in hop(frontier, out_types, in_types):
            src, dst, kind = str(edge["source"]), str(edge["target"]), str(edge["type"])
            result.types.setdefault(src, str(edge.get("source_type") or ""))
            result.types.setdefault(dst, str(edge.get("target_type") or ""))
            fars = []
            if src in in_frontier and (out_types is None or kind in out_types):
                fars.append(dst)
            if dst in in_frontier and (in_types is None or kind in in_types):
                fars.append(src)
            if fars:
                result.edges.setdefault(str(edge["id"]), edge)
            for far in fars:
                if far in result.depth:
                    continue
                if len(result.depth) >= max_nodes:
                    result.truncated = True
                    continue
                near = src if far == dst else dst
                result.depth[far] = level
                result.parent[far] = (near, edge)
                nxt.append(far)
                if far == stop_at:
                    return result
        frontier = nxt
    return result


def relation(edge: dict[str, Any]) -> Relation:
    return Relation(
        id=str(edge["id"]),
        type=str(edge["type"]),
        source=str(edge["source"]),
        target=str(edge["target"]),
        source_type=edge.get("source_type"),
        target_type=edge.get("target_type"),
    )


TYPE_RANK = {"service": 0, "application": 1}


def impact_order(item: Impacted) -> tuple[int, int, str]:
    """Services first, then applications, then the rest; nearer before farther."""
    return (TYPE_RANK.get(item.ci.type or "", 2), item.depth, item.ci.name or item.ci.id)
