"""Relations between CIs and the traversals over them (neighbors, impact, dependencies,
topology, path). The CIs live in DynamoDB; the edges in the graph (Neptune / gremlite)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from omp.domain.cmdb.cis import REL_PREFIX, SOURCE, Ci, CiStatus
from omp.domain.cmdb.graph import (
    MAX_DEPTH,
    AddRelation,
    GraphResponse,
    Impacted,
    ImpactResponse,
    Node,
    PathResponse,
    Relation,
    Walk,
    impact_order,
    relation,
    walk,
)
from omp.domain.cmdb.relations import impact_types
from omp.domain.cmdb.types import relation_allowed
from omp.domain.errors import Conflict, NotFound, ValidationFailed
from omp.domain.events import DomainEvent
from omp.domain.ids import new_id
from omp.domain.timeutil import iso
from omp.services.cmdb import TypeCache, get_ci

if TYPE_CHECKING:
    from omp.ports import CiRepository, Clock, EventPublisher, Graph

CYCLE_SEARCH_DEPTH = 50


def _relation_event(detail_type: str, rel: Relation, actor: str) -> DomainEvent:
    return DomainEvent(
        source=SOURCE,
        detail_type=detail_type,
        detail={"relation": rel.model_dump(mode="json"), "actor": actor},
    )


def _active(ci: Ci) -> None:
    if ci.status is CiStatus.RETIRED:
        raise Conflict(f"CI {ci.id} is retired", code="CI_RETIRED")


def add_relation(
    source_id: str,
    body: AddRelation,
    *,
    actor: str,
    types: TypeCache,
    repo: CiRepository,
    graph: Graph,
    events: EventPublisher,
    clock: Clock,
) -> tuple[Relation, bool]:
    """Add `source --type--> target` if the two CI types allow it; (relation, created).
    Adding an edge that exists returns it (a retry adds nothing)."""
    source = get_ci(source_id, repo=repo)
    target = get_ci(body.target, repo=repo)
    _active(source)
    _active(target)
    if source.id == target.id:
        raise ValidationFailed(
            "a CI cannot relate to itself",
            code="RELATION_NOT_ALLOWED",
            details=[{"loc": ["body", "target"], "msg": "the CI itself"}],
        )
    source_type, target_type = types.get(source.type), types.get(target.type)
    rule = relation_allowed(source_type, body.type, target_type)
    if rule is None:
        raise ValidationFailed(
            f"a {source.type} cannot have a {body.type} relation to a {target.type}",
            code="RELATION_NOT_ALLOWED",
            details=[
                {
                    "loc": ["body", "type"],
                    "msg": "not allowed between these CI types",
                    "source_type": source.type,
                    "target_type": target.type,
                }
            ],
        )
    existing = graph.find_edges(source.id, body.type, target.id)
    if existing:
        return relation(existing[0]), False
    if rule.cardinality == "one":
        for edge in graph.find_edges(source.id, body.type):
            if types.get(str(edge["target_type"])).is_a(rule.target):
                raise Conflict(
                    f"a {source.type} has at most one {body.type} relation to a {rule.target}",
                    code="RELATION_CARDINALITY",
                    details={"existing": str(edge["id"])},
                )
    if body.type == "depends_on":
        cycle = _cycle(graph, source.id, target.id)
        if cycle:
            raise ValidationFailed(
                "this depends_on relation would close a cycle: " + " -> ".join(cycle),
                code="DEPENDENCY_CYCLE",
                details=[{"loc": ["body", "target"], "msg": "closes a cycle", "cycle": cycle}],
            )
    for ci in (source, target):
        graph.upsert_vertex(ci.id, ci.type, ci.name, ci.status.value)
    rel_id = new_id(REL_PREFIX)
    graph.add_edge(
        rel_id,
        source.id,
        body.type,
        target.id,
        {"source": body.source, "created_at": iso(clock.now()), "created_by": actor},
    )
    rel = Relation(
        id=rel_id,
        type=body.type,
        source=source.id,
        target=target.id,
        source_type=source.type,
        target_type=target.type,
    )
    events.publish([_relation_event("RelationAdded", rel, actor)])
    return rel, True


def _cycle(graph: Graph, source: str, target: str) -> list[str] | None:
    """The cycle `source -> target -> ... -> source` a new depends_on edge would close."""
    if source == target:
        return [source, target]
    found = walk(
        graph.hop,
        target,
        out_types=["depends_on"],
        in_types=[],
        depth=CYCLE_SEARCH_DEPTH,
        stop_at=source,
    )
    if source not in found.depth:
        return None
    nodes, _ = found.path_to(source)
    return [source, *nodes]


def remove_relation(
    ci_id: str,
    rel_id: str,
    *,
    actor: str,
    repo: CiRepository,
    graph: Graph,
    events: EventPublisher,
) -> Relation:
    get_ci(ci_id, repo=repo)
    edge = graph.get_edge(rel_id) if rel_id.startswith(f"{REL_PREFIX}_") else None
    if edge is None or ci_id not in (edge["source"], edge["target"]):
        raise NotFound(f"CI {ci_id} has no relation {rel_id}", code="RELATION_NOT_FOUND")
    graph.remove_edge(rel_id)
    rel = relation(edge)
    events.publish([_relation_event("RelationRemoved", rel, actor)])
    return rel


def remove_relation_to(
    ci_id: str,
    relation_type: str,
    target: str,
    *,
    actor: str,
    repo: CiRepository,
    graph: Graph,
    events: EventPublisher,
) -> Relation:
    """Remove the `ci_id --relation_type--> target` edge (every such edge, should a race have
    made two); the first is answered. Nothing there (a repeat too): RELATION_NOT_FOUND."""
    get_ci(ci_id, repo=repo)
    edges = graph.find_edges(ci_id, relation_type, target)
    if not edges:
        raise NotFound(
            f"CI {ci_id} has no {relation_type} relation to {target}", code="RELATION_NOT_FOUND"
        )
    rels = [relation(edge) for edge in edges]
    for rel in rels:
        graph.remove_edge(rel.id)
    events.publish([_relation_event("RelationRemoved", rel, actor) for rel in rels])
    return rels[0]


def _nodes(graph: Graph, found: Walk) -> dict[str, Node]:
    info = graph.vertices(list(found.depth))
    return {
        ci_id: Node(
            id=ci_id,
            type=info.get(ci_id, {}).get("type") or found.types.get(ci_id),
            name=info.get(ci_id, {}).get("name"),
            status=info.get(ci_id, {}).get("status"),
            depth=depth,
        )
        for ci_id, depth in found.depth.items()
    }


def _check_depth(depth: int) -> None:
    if not 1 <= depth <= MAX_DEPTH:
        raise ValidationFailed(
            f"depth must be 1 to {MAX_DEPTH}",
            details=[{"loc": ["query", "depth"], "msg": f"1 to {MAX_DEPTH}"}],
        )


def neighbors(
    ci_id: str,
    *,
    direction: str,
    relation_types: list[str] | None,
    depth: int,
    repo: CiRepository,
    graph: Graph,
) -> GraphResponse:
    _check_depth(depth)
    get_ci(ci_id, repo=repo)
    before = graph.round_trips
    out_types = relation_types if direction in ("out", "both") else []
    in_types = relation_types if direction in ("in", "both") else []
    found = walk(graph.hop, ci_id, out_types=out_types, in_types=in_types, depth=depth)
    nodes = _nodes(graph, found)
    return GraphResponse(
        root=ci_id,
        nodes=sorted(nodes.values(), key=lambda n: (n.depth, n.type or "", n.name or n.id)),
        edges=[relation(e) for e in found.edges.values()],
        truncated=found.truncated,
        round_trips=graph.round_trips - before,
    )


def impact(
    ci_id: str,
    *,
    upstream: bool,
    depth: int,
    repo: CiRepository,
    graph: Graph,
) -> ImpactResponse:
    """Downstream: every CI that fails when this one does (its dependants, transitively),
    services and applications first, each with the path that carries the failure. Upstream
    (`dependencies`): every CI this one needs."""
    _check_depth(depth)
    get_ci(ci_id, repo=repo)
    before = graph.round_trips
    reverse, forward = impact_types()
    out_types, in_types = (reverse, forward) if upstream else (forward, reverse)
    found = walk(graph.hop, ci_id, out_types=out_types, in_types=in_types, depth=depth)
    nodes = _nodes(graph, found)
    items = []
    for node_id, node in nodes.items():
        if node_id == ci_id:
            continue
        path, rels = found.path_to(node_id)
        items.append(Impacted(ci=node, depth=node.depth, path=path, relations=rels))
    items.sort(key=impact_order)
    return ImpactResponse(
        ci_id=ci_id,
        direction="upstream" if upstream else "downstream",
        items=items,
        truncated=found.truncated,
        round_trips=graph.round_trips - before,
    )


def path_between(
    source: str, target: str, *, depth: int, repo: CiRepository, graph: Graph
) -> PathResponse:
    """A shortest path between two CIs over relations of any type, either direction."""
    _check_depth(depth)
    get_ci(source, repo=repo)
    get_ci(target, repo=repo)
    before = graph.round_trips
    found = walk(graph.hop, source, out_types=None, in_types=None, depth=depth, stop_at=target)
    if target not in found.depth:
        return PathResponse(
            source=source,
            target=target,
            found=False,
            nodes=[],
            edges=[],
            round_trips=graph.round_trips - before,
        )
    ids, rels = found.path_to(target)
    nodes = _nodes(graph, Walk(depth={i: n for n, i in enumerate(ids)}, types=found.types))
    return PathResponse(
        source=source,
        target=target,
        found=True,
        nodes=[nodes[i] for i in ids],
        edges=[relation(found.edges[r]) for r in rels],
        round_trips=graph.round_trips - before,
    )


def edges_of(found: Walk) -> list[dict[str, Any]]:
    return list(found.edges.values())


# ---- keeping the graph in step with the CIs ----------------------------------------------------

DERIVED = "derived"


def _derive_rules(types: TypeCache) -> list[tuple[str, Any]]:
    """(source type, rule) for every derivation rule of a built-in or user type."""
    from omp.domain.cmdb.builtin import builtin_types

    names = list(builtin_types())
    names += [t.name for t in types.repo.list(limit=200).items]
    out = []
    for name in names:
        for rule in types.get(name).derive:
            out.append((name, rule))
    # a rule inherited by subtypes is listed under each: keep it once per concrete type
    return list({(n, r.model_dump_json()): (n, r) for n, r in out}.values())


def _target_of(rule: Any, value: Any, types: TypeCache, repo: CiRepository) -> Ci | None:
    if rule.target_attribute is None:
        by_key: Ci | None = repo.find_by_key(rule.target_type, str(value))
        return by_key
    found = repo.find_by_attribute(rule.target_type, rule.target_attribute, value, 2, None)
    active = [c for c in found.items if c.status is CiStatus.ACTIVE]
    return active[0] if len(active) == 1 else None


def _derive_one(
    source: Ci,
    rule: Any,
    target: Ci,
    *,
    types: TypeCache,
    repo: CiRepository,
    graph: Graph,
    events: EventPublisher,
    clock: Clock,
) -> Relation | None:
    """The derived edge source -> target, replacing a derived edge of the same relation to
    another CI of the target type (the attribute moved). Refused edges are skipped: derivation
    never fails the change that triggered it."""
    import logging

    from omp.domain.errors import DomainError

    target_type = types.get(rule.target_type)
    for edge in graph.find_edges(source.id, rule.relation):
        if edge["target"] == target.id:
            return None
        if types.get(str(edge["target_type"])).is_a(target_type.name):
            remove_relation(
                source.id, str(edge["id"]), actor=DERIVED, repo=repo, graph=graph, events=events
            )
    try:
        rel, _ = add_relation(
            source.id,
            AddRelation(type=rule.relation, target=target.id, source=DERIVED),
            actor=DERIVED,
            types=types,
            repo=repo,
            graph=graph,
            events=events,
            clock=clock,
        )
    except DomainError as exc:
        logging.getLogger("omp.cmdb").warning(
            "derived %s %s -> %s skipped: %s", rule.relation, source.id, target.id, exc.code
        )
        return None
    return rel


def sync_ci(
    ci: Ci,
    *,
    types: TypeCache,
    repo: CiRepository,
    graph: Graph,
    events: EventPublisher,
    clock: Clock,
) -> list[Relation]:
    """After a CI changed: its vertex takes the new name and status, and the relations its
    attribute values imply are added, both ways (this CI's `subnet_id` names a subnet; this
    subnet is named by instances' `subnet_id`). Returns the relations added."""
    current = repo.get(ci.id)
    if current is None:
        return []
    ci = current[0]  # the event may be older than the stored CI
    graph.update_vertex(ci.id, ci.name, ci.status.value)
    if ci.status is not CiStatus.ACTIVE:
        return []
    added: list[Relation] = []
    kw: dict[str, Any] = {
        "types": types,
        "repo": repo,
        "graph": graph,
        "events": events,
        "clock": clock,
    }
    ci_type = types.get(ci.type)
    for rule in ci_type.derive:
        value = ci.attributes.get(rule.attribute)
        target = _target_of(rule, value, types, repo) if value is not None else None
        if target is not None and target.id != ci.id:
            rel = _derive_one(ci, rule, target, **kw)
            if rel:
                added.append(rel)
    for source_type, rule in _derive_rules(types):
        if not ci_type.is_a(rule.target_type):
            continue
        key = (
            ci.natural_key
            if rule.target_attribute is None
            else ci.attributes.get(rule.target_attribute)
        )
        if key is None or not types.get(source_type).attribute(rule.attribute):
            continue
        attr = types.get(source_type).attribute(rule.attribute)
        if attr is None or not attr.indexed:
            continue  # finding the sources needs the attribute's index
        sources = repo.find_by_attribute(source_type, rule.attribute, key, 200, None).items
        for source in sources:
            if source.status is CiStatus.ACTIVE and source.id != ci.id:
                rel = _derive_one(source, rule, ci, **kw)
                if rel:
                    added.append(rel)
    return added


# ---- many relations at once (imports) ----------------------------------------------------------


def bulk_relate(
    edges: list[tuple[Ci, str, Ci]],
    *,
    actor: str,
    source_name: str,
    types: TypeCache,
    graph: Graph,
    events: EventPublisher,
    clock: Clock,
) -> dict[str, int]:
    """Add many relations between known, active CIs: the same rules as `add_relation` (type
    rules, "one" cardinality; depends_on cycles are not checked: imports add none), but a few
    graph requests per 500 CIs instead of about eight per edge. Existing edges are counted, not
    added again; refused ones are counted and skipped. Returns the counts."""
    counts = {"relations_added": 0, "relations_existing": 0, "relations_refused": 0}
    if not edges:
        return counts
    cis = {c.id: c for s, _, t in edges for c in (s, t)}
    graph.ensure_vertices({c.id: (c.type, c.name, c.status.value) for c in cis.values()})
    sources = list({s.id for s, _, _ in edges})
    present = graph.hop(sources, None, [])
    have = {(str(e["source"]), str(e["type"]), str(e["target"])) for e in present}
    used: dict[tuple[str, str, str], int] = {}  # (source, relation, rule target) -> edges
    for e in present:
        used[(str(e["source"]), str(e["type"]), str(e["target_type"]))] = 1
    stamp = iso(clock.now())
    new: list[tuple[str, str, str, str, dict[str, str]]] = []
    added: list[Relation] = []
    for source, relation_type, target in edges:
        if (source.id, relation_type, target.id) in have:
            counts["relations_existing"] += 1
            continue
        rule = relation_allowed(types.get(source.type), relation_type, types.get(target.type))
        if (
            rule is None
            or source.status is not CiStatus.ACTIVE
            or target.status is not (CiStatus.ACTIVE)
        ):
            counts["relations_refused"] += 1
            continue
        if rule.cardinality == "one":
            taken = any(
                n
                for (s, r, t_type), n in used.items()
                if s == source.id and r == relation_type and types.get(t_type).is_a(rule.target)
            )
            if taken:
                counts["relations_refused"] += 1
                continue
        used[(source.id, relation_type, target.type)] = 1
        have.add((source.id, relation_type, target.id))
        rel_id = new_id(REL_PREFIX)
        props = {"source": source_name, "created_at": stamp, "created_by": actor}
        new.append((rel_id, source.id, relation_type, target.id, props))
        added.append(
            Relation(
                id=rel_id,
                type=relation_type,
                source=source.id,
                target=target.id,
                source_type=source.type,
                target_type=target.type,
            )
        )
    graph.add_edges(new)
    counts["relations_added"] = len(added)
    events.publish([_relation_event("RelationAdded", r, actor) for r in added])
    return counts
