"""The breadth-first walk over one-hop requests (an in-memory edge list)."""

from omp.domain.cmdb.graph import walk

EDGES = [
    {"id": "r1", "type": "depends_on", "source": "svc", "target": "app"},
    {"id": "r2", "type": "runs_on", "source": "app", "target": "vm"},
    {"id": "r3", "type": "member_of", "source": "vm", "target": "subnet"},
    {"id": "r4", "type": "owned_by", "source": "svc", "target": "team"},
    {"id": "r5", "type": "depends_on", "source": "app2", "target": "vm"},
]


class Hop:
    def __init__(self):
        self.calls = 0

    def __call__(self, ids, out_types, in_types):
        self.calls += 1
        out = []
        for e in EDGES:
            forward = e["source"] in ids and (out_types is None or e["type"] in out_types)
            backward = e["target"] in ids and (in_types is None or e["type"] in in_types)
            if forward or backward:
                out.append(e)
        return out


def test_reverse_walk_finds_dependants_by_level_with_paths():
    hop = Hop()
    found = walk(
        hop,
        "subnet",
        out_types=["contains"],
        in_types=["depends_on", "runs_on", "member_of"],
        depth=3,
    )
    assert found.depth == {"subnet": 0, "vm": 1, "app": 2, "app2": 2, "svc": 3}
    assert found.path_to("svc") == (["subnet", "vm", "app", "svc"], ["r3", "r2", "r1"])
    assert hop.calls == 3  # one request per level


def test_depth_bounds_the_walk_and_types_filter_it():
    found = walk(Hop(), "subnet", out_types=[], in_types=["member_of"], depth=5)
    assert set(found.depth) == {"subnet", "vm"}


def test_stop_at_returns_as_soon_as_the_target_is_reached():
    hop = Hop()
    found = walk(hop, "team", out_types=None, in_types=None, depth=6, stop_at="vm")
    assert found.path_to("vm")[0] == ["team", "svc", "app", "vm"]
    assert hop.calls == 3


def test_truncation_is_reported():
    found = walk(Hop(), "vm", out_types=None, in_types=None, depth=6, max_nodes=2)
    assert found.truncated and len(found.depth) == 2
