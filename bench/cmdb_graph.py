"""CMDB graph: 3-hop impact queries on a generated topology in gremlite, and history-chain
verification.

    python -m bench.cmdb_graph --db /tmp/cmdb-bench.sqlite [--cis 50000] [--relations 150000]
        [--queries 200] [--depth 3] [--seed 7] [--regenerate] [--chain 10000]

The graph file is generated once (about two minutes for the defaults here) and reused while it
exists, so the generation does not hide in the query figures; `--regenerate` starts afresh.

The topology is layered like a real estate: services (2 %), applications (8 %), compute
(ec2_instance, ecs_service, lambda_function, virtual_machine: 50 %), data stores (rds_instance,
dynamodb_table, sqs_queue: 20 %), load balancers (5 %), subnets (10 %), VPCs (the rest). Every
relation goes from an upper layer to a lower one (a DAG, like depends_on/runs_on/member_of
edges are), its endpoints drawn uniformly (seeded), so the fan-in of a lower CI is what the
numbers give: with the defaults a subnet has about 30 members.

Each query is `omp.services.topology.impact(ci, upstream=False, depth=3)`, the code behind
`GET /v1/cis/{id}/impact` (only the CI's DynamoDB read is stubbed), on a CI drawn from the lower
layers (the ones whose impact is non-trivial). It reports the latency percentiles and the
Gremlin round trips per query (one per level of the walk, per 500 frontier CIs, plus one per 500
CIs for their names), and how many CIs each answer held.

The chain part verifies a `--chain`-version history chain (`omp.domain.cmdb.history.verify`,
what `GET /v1/cis/{id}/history/verify` runs after reading the records).
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path
from typing import Any

from bench.common import report, table

LAYERS: list[tuple[str, float, list[str]]] = [
    ("service", 0.02, ["service"]),
    ("application", 0.08, ["application"]),
    ("lb", 0.05, ["load_balancer"]),
    ("compute", 0.50, ["ec2_instance", "ecs_service", "lambda_function", "virtual_machine"]),
    ("data", 0.20, ["rds_instance", "dynamodb_table", "sqs_queue"]),
    ("subnet", 0.10, ["subnet"]),
    ("vpc", 0.05, ["vpc"]),
]
# Which relation an edge from one layer to a lower one is.
RELATION = {
    "compute": "runs_on",
    "subnet": "member_of",
    "vpc": "member_of",
}


def _ci_id(n: int) -> str:
    return f"ci_{n:026d}"


def generate(path: Path, cis: int, relations: int, seed: int) -> dict[str, Any]:
    from omp.adapters.gremlin_graph import GremlinGraph

    rng = random.Random(seed)
    path.unlink(missing_ok=True)
    graph = GremlinGraph(path=str(path))
    g = graph._g()
    layer_of: list[int] = []
    vids: list[Any] = []
    started = time.perf_counter()
    for index, (_name, share, kinds) in enumerate(LAYERS):
        count = max(1, round(cis * share)) if index < len(LAYERS) - 1 else cis - len(vids)
        for _ in range(count):
            n = len(vids)
            kind = kinds[n % len(kinds)]
            vids.append(
                g.add_v("ci")
                .property("ci_id", _ci_id(n))
                .property("type", kind)
                .property("name", f"{kind}-{n}")
                .property("status", "active")
                .id_()
                .next()
            )
            layer_of.append(index)
    graph._commit()
    vertices_s = time.perf_counter() - started
    by_layer: dict[int, list[int]] = {}
    for n, layer in enumerate(layer_of):
        by_layer.setdefault(layer, []).append(n)
    seen: set[tuple[int, int]] = set()
    made = 0
    while made < relations:
        source = rng.randrange(len(vids))
        lower = [layer for layer in by_layer if layer > layer_of[source]]
        if not lower:
            continue
        target_layer = rng.choice(lower)
        target = rng.choice(by_layer[target_layer])
        if (source, target) in seen:
            continue
        seen.add((source, target))
        kind = RELATION.get(LAYERS[target_layer][0], "depends_on")
        (
            g.V(vids[source])
            .as_("s")
            .V(vids[target])
            .as_("t")
            .add_e(kind)
            .from_("s")
            .to("t")
            .property("rid", f"rel_{made:026d}")
            .to_list()
        )
        made += 1
        if made % 10_000 == 0:
            graph._commit()
    graph._commit()
    graph.close()
    return {
        "cis": len(vids),
        "relations": made,
        "vertices_s": round(vertices_s, 1),
        "edges_s": round(time.perf_counter() - started - vertices_s, 1),
        "layers": {LAYERS[k][0]: len(v) for k, v in sorted(by_layer.items())},
    }


class _StubRepo:
    """`get_ci` only: the bench measures the graph side of the impact query."""

    def get(self, ci_id: str) -> Any:
        from omp.domain.cmdb.cis import Ci, CiStatus

        ci = Ci(
            id=ci_id,
            type="subnet",
            name=ci_id,
            attributes={},
            status=CiStatus.ACTIVE,
            version=1,
            sources=["bench"],
            created_at="2026-01-01T00:00:00.000Z",
            updated_at="2026-01-01T00:00:00.000Z",
            natural_key=ci_id,
        )
        return ci, ""


def query(path: Path, total: int, queries: int, depth: int, seed: int) -> dict[str, Any]:
    from omp.adapters.gremlin_graph import GremlinGraph
    from omp.services import topology

    graph = GremlinGraph(path=str(path))
    rng = random.Random(seed + 1)
    lower_start = int(total * (1 - 0.85))  # compute and below
    repo: Any = _StubRepo()
    topology.impact(_ci_id(lower_start), upstream=False, depth=depth, repo=repo, graph=graph)
    latencies, trips, sizes = [], [], []
    for _ in range(queries):
        ci_id = _ci_id(rng.randrange(lower_start, total))
        before = graph.round_trips
        started = time.perf_counter()
        answer = topology.impact(ci_id, upstream=False, depth=depth, repo=repo, graph=graph)
        latencies.append((time.perf_counter() - started) * 1000)
        trips.append(graph.round_trips - before)
        sizes.append(len(answer.items))
    graph.close()
    cuts = statistics.quantiles(latencies, n=100)
    return {
        "queries": queries,
        "depth": depth,
        "latency_ms": {
            "p50": round(cuts[49], 1),
            "p95": round(cuts[94], 1),
            "p99": round(cuts[98], 1),
            "max": round(max(latencies), 1),
        },
        "round_trips": {"mean": round(statistics.mean(trips), 2), "max": max(trips)},
        "impacted": {"mean": round(statistics.mean(sizes), 1), "max": max(sizes)},
    }


def chain(versions: int) -> dict[str, Any]:
    from omp.domain.cmdb.history import GENESIS, HistoryRecord, seal, verify

    records, prev = [], GENESIS
    for v in range(1, versions + 1):
        rec = seal(
            HistoryRecord(
                ci_id="ci_bench",
                version=v,
                change="created" if v == 1 else "updated",
                at="2026-01-01T00:00:00.000Z",
                actor="bench",
                request_id=f"req-{v}",
                source="api",
                before=None if v == 1 else {"attributes": {"n": v - 1}, "version": v - 1},
                after={"attributes": {"n": v}, "version": v},
                diff={"attributes.n": {"from": v - 1, "to": v}},
                prev_hash=prev,
            )
        )
        records.append(rec.model_dump(mode="json"))
        prev = rec.hash
    runs = []
    for _ in range(5):
        started = time.perf_counter()
        result = verify("ci_bench", records)
        runs.append(time.perf_counter() - started)
        assert result.valid and result.versions == versions
    return {
        "versions": versions,
        "verify_s": {"best": round(min(runs), 3), "median": round(statistics.median(runs), 3)},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.cmdb_graph")
    parser.add_argument("--db", type=Path, required=True, help="the gremlite file (generated)")
    parser.add_argument("--cis", type=int, default=50_000)
    parser.add_argument("--relations", type=int, default=150_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--depth", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--chain", type=int, default=10_000)
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result: dict[str, Any] = {"args": {k: str(v) for k, v in vars(args).items()}}
    if args.regenerate or not args.db.exists():
        result["generated"] = generate(args.db, args.cis, args.relations, args.seed)
    result["impact"] = query(args.db, args.cis, args.queries, args.depth, args.seed)
    result["chain"] = chain(args.chain)
    lat, rt, imp = (
        result["impact"]["latency_ms"],
        result["impact"]["round_trips"],
        result["impact"]["impacted"],
    )
    summary = table(
        ["measure", "value", "target", "met?"],
        [
            [
                f"{args.depth}-hop impact p95 ({args.queries} queries)",
                f"{lat['p95']} ms",
                "< 100 ms",
                "yes" if lat["p95"] < 100 else "no",
            ],
            ["impact p50 / p99 / max", f"{lat['p50']} / {lat['p99']} / {lat['max']} ms", "", ""],
            ["Gremlin round trips per query", f"mean {rt['mean']}, max {rt['max']}", "", ""],
            ["CIs in an answer", f"mean {imp['mean']}, max {imp['max']}", "", ""],
            [
                f"verify a {args.chain}-version chain",
                f"{result['chain']['verify_s']['median']} s",
                "< 1 s",
                "yes" if result["chain"]["verify_s"]["median"] < 1 else "no",
            ],
        ],
    )
    if "generated" in result:
        summary += f"\n\ngenerated: {result['generated']}"
    return report("cmdb_graph", result, summary, started)


if __name__ == "__main__":
    raise SystemExit(main())
