"""Relations and traversals through the handlers, on gremlite (SQLite) and moto."""

import json

import boto3
import pytest

from tests.support import call_api


def ci(type_, name, **attributes):
    if type_ in ("ec2_instance", "rds_instance", "subnet", "vpc"):
        attributes.setdefault("arn", f"arn:{name}")
    status, body, _ = call_api(
        "create-ci", body={"type": type_, "name": name, "attributes": attributes}
    )
    assert status == 201, body
    return body["ci"]["id"]


def relate(source, kind, target, expect=201):
    status, body, _ = call_api(
        "add-relation", path_params={"ci_id": source}, body={"type": kind, "target": target}
    )
    assert status == expect, body
    return body


@pytest.fixture
def shop(graph):
    """checkout(service) -> cart(app) -> web(vm) -> subnet; cart -> db(rds); search(app) -> web."""
    ids = {
        "checkout": ci("service", "checkout"),
        "cart": ci("application", "cart"),
        "search": ci("application", "search"),
        "web": ci("ec2_instance", "web"),
        "db": ci("rds_instance", "db"),
        "subnet": ci("subnet", "subnet-a"),
        "team": ci("team", "payments"),
    }
    rels = {
        "checkout-cart": relate(ids["checkout"], "depends_on", ids["cart"]),
        "cart-web": relate(ids["cart"], "runs_on", ids["web"]),
        "cart-db": relate(ids["cart"], "depends_on", ids["db"]),
        "search-web": relate(ids["search"], "runs_on", ids["web"]),
        "web-subnet": relate(ids["web"], "member_of", ids["subnet"]),
        "checkout-team": relate(ids["checkout"], "owned_by", ids["team"]),
    }
    return ids, {k: v["relation"]["id"] for k, v in rels.items()}


def _captured(platform):
    sqs, out = boto3.client("sqs"), []
    while True:
        got = sqs.receive_message(QueueUrl=platform["queue_url"], MaxNumberOfMessages=10).get(
            "Messages", []
        )
        if not got:
            return out
        out += [json.loads(m["Body"]) for m in got]


def test_impact_is_downstream_services_first_with_paths(shop, graph):
    ids, rels = shop
    status, body, _ = call_api(
        "get-impact", path_params={"ci_id": ids["subnet"]}, query={"depth": "4"}
    )
    assert status == 200, body
    names = [i["ci"]["name"] for i in body["items"]]
    assert names[0] == "checkout"  # the service first, though it is farthest
    assert set(names) == {"checkout", "cart", "search", "web"}
    assert {"db", "payments"}.isdisjoint(
        names
    )  # the db does not fail with the subnet; owned_by carries nothing
    checkout = body["items"][0]
    assert checkout["path"] == [ids["subnet"], ids["web"], ids["cart"], ids["checkout"]]
    assert checkout["relations"] == [rels["web-subnet"], rels["cart-web"], rels["checkout-cart"]]
    assert checkout["depth"] == 3 and checkout["ci"]["type"] == "service"
    # 4 levels of edges + 3 lookups of endpoints not seen before (the 4th level found none)
    # + the vertex details
    assert body["round_trips"] == 8


def test_impact_depth_limits_it(shop):
    ids, _ = shop
    _, body, _ = call_api("get-impact", path_params={"ci_id": ids["subnet"]}, query={"depth": "1"})
    assert [i["ci"]["name"] for i in body["items"]] == ["web"]


def test_dependencies_are_upstream(shop):
    ids, _ = shop
    status, body, _ = call_api("get-dependencies", path_params={"ci_id": ids["checkout"]})
    assert status == 200
    assert {i["ci"]["name"] for i in body["items"]} == {"cart", "web", "db", "subnet-a"}
    assert body["direction"] == "upstream"


def test_contains_carries_impact_to_the_contained(graph):
    site = ci("site", "ams1", netbox_id=1)  # NetBox kinds are keyed by their NetBox id
    rack, dev = ci("rack", "r1", netbox_id=1), ci("device", "sw1", netbox_id=1)
    relate(site, "contains", rack)
    relate(rack, "contains", dev)
    _, body, _ = call_api("get-impact", path_params={"ci_id": site})
    assert [i["ci"]["name"] for i in body["items"]] == ["r1", "sw1"]


def test_neighbors_direction_types_depth(shop):
    ids, _ = shop
    status, body, _ = call_api(
        "get-neighbors", path_params={"ci_id": ids["cart"]}, query={"direction": "out"}
    )
    assert status == 200 and {n["name"] for n in body["nodes"]} == {"cart", "web", "db"}
    status, body, _ = call_api(
        "get-neighbors",
        path_params={"ci_id": ids["cart"]},
        query={"direction": "out", "types": "runs_on"},
    )
    assert {n["name"] for n in body["nodes"]} == {"cart", "web"} and len(body["edges"]) == 1
    status, body, _ = call_api(
        "get-neighbors", path_params={"ci_id": ids["cart"]}, query={"direction": "in"}
    )
    assert {n["name"] for n in body["nodes"]} == {"cart", "checkout"}
    status, body, _ = call_api(
        "get-neighbors",
        path_params={"ci_id": ids["web"]},
        query={"direction": "both", "depth": "2"},
    )
    assert {n["name"] for n in body["nodes"]} == {
        "web",
        "cart",
        "search",
        "subnet-a",
        "checkout",
        "db",
    }
    status, body, _ = call_api(
        "get-neighbors", path_params={"ci_id": ids["web"]}, query={"types": "likes"}
    )
    assert status == 422
    status, body, _ = call_api(
        "get-neighbors", path_params={"ci_id": ids["web"]}, query={"depth": "9"}
    )
    assert status == 422


def test_topology_for_drawing(shop):
    ids, rels = shop
    status, body, _ = call_api("get-topology", query={"root": ids["checkout"], "depth": "6"})
    assert status == 200 and len(body["nodes"]) == 7
    assert {e["id"] for e in body["edges"]} == set(rels.values())
    status, body, _ = call_api("get-topology", query={"root": "ci_01KKBSWHG0KCZ7Y3W8V6P5R4QT"})
    assert status == 404 and body["error"]["code"] == "CI_NOT_FOUND"
    status, body, _ = call_api("get-topology", query={})
    assert status == 422


def test_path_between_two_cis(shop):
    ids, rels = shop
    status, body, _ = call_api(
        "find-path", path_params={"ci_id": ids["team"]}, query={"to": ids["db"]}
    )
    assert status == 200 and body["found"]
    assert [n["name"] for n in body["nodes"]] == ["payments", "checkout", "cart", "db"]
    assert [e["id"] for e in body["edges"]] == [
        rels["checkout-team"],
        rels["checkout-cart"],
        rels["cart-db"],
    ]
    lonely = ci("team", "nobody")
    status, body, _ = call_api(
        "find-path", path_params={"ci_id": ids["team"]}, query={"to": lonely}
    )
    assert status == 200 and body["found"] is False


def test_relation_rules_and_bad_input(shop):
    ids, _ = shop
    body = relate(ids["team"], "depends_on", ids["checkout"], expect=422)
    assert body["error"]["code"] == "RELATION_NOT_ALLOWED"
    body = relate(ids["web"], "contains", ids["subnet"], expect=422)
    assert body["error"]["code"] == "RELATION_NOT_ALLOWED"
    body = relate(ids["web"], "member_of", "ci_01KKBSWHG0KCZ7Y3W8V6P5R4QT", expect=404)
    assert body["error"]["code"] == "CI_NOT_FOUND"
    status, body, _ = call_api(
        "add-relation",
        path_params={"ci_id": "ci_01KKBSWHG0KCZ7Y3W8V6P5R4QT"},
        body={"type": "depends_on", "target": ids["web"]},
    )
    assert status == 404
    body = relate(ids["web"], "member_of", ids["web"], expect=422)
    status, body, _ = call_api(
        "add-relation",
        path_params={"ci_id": ids["web"]},
        body={"type": "likes", "target": ids["db"]},
    )
    assert status == 422
    other = ci("subnet", "subnet-b")
    body = relate(ids["web"], "member_of", other, expect=409)  # an instance is in one subnet
    assert body["error"]["code"] == "RELATION_CARDINALITY"


def test_a_depends_on_cycle_is_refused_and_named(shop):
    ids, _ = shop
    body = relate(ids["db"], "depends_on", ids["checkout"], expect=422)
    assert body["error"]["code"] == "DEPENDENCY_CYCLE"
    cycle = body["error"]["details"][0]["cycle"]
    assert cycle == [ids["db"], ids["checkout"], ids["cart"], ids["db"]]


def test_adding_twice_returns_the_edge_and_removing_works(shop, platform):
    ids, rels = shop
    _captured(platform)  # drop the set-up events
    again = relate(ids["cart"], "runs_on", ids["web"])
    assert again["created"] is False and again["relation"]["id"] == rels["cart-web"]
    status, body, _ = call_api(
        "remove-relation", path_params={"ci_id": ids["cart"], "relation_id": rels["cart-web"]}
    )
    assert status == 200 and body["relation"]["type"] == "runs_on"
    status, body, _ = call_api(
        "remove-relation", path_params={"ci_id": ids["cart"], "relation_id": rels["cart-web"]}
    )
    assert status == 404 and body["error"]["code"] == "RELATION_NOT_FOUND"
    status, body, _ = call_api(
        "remove-relation", path_params={"ci_id": ids["team"], "relation_id": rels["cart-db"]}
    )
    assert status == 404  # not this CI's relation
    status, body, _ = call_api("get-impact", path_params={"ci_id": ids["web"]})
    assert {i["ci"]["name"] for i in body["items"]} == {"search"}
    kinds = [e["detail-type"] for e in _captured(platform)]
    assert kinds == ["RelationRemoved"]


def test_relation_events(graph, platform):
    a, b = ci("application", "a"), ci("service", "s")
    rel = relate(a, "member_of", b)["relation"]
    events = [e for e in _captured(platform) if e["detail-type"].startswith("Relation")]
    assert [(e["source"], e["detail-type"]) for e in events] == [("omp.cmdb", "RelationAdded")]
    assert events[0]["detail"]["relation"]["id"] == rel["id"]


def test_retired_cis_take_no_new_relations(graph):
    a, b = ci("application", "a"), ci("service", "s")
    call_api("retire-ci", path_params={"ci_id": b})
    body = relate(a, "member_of", b, expect=409)
    assert body["error"]["code"] == "CI_RETIRED"


# ---- sync-ci-graph: vertex updates and derived relations --------------------------------------


def _sync(ci_id):
    from tests.support import invoke

    _status, body, _ = call_api("get-ci", path_params={"ci_id": ci_id})
    event = {"source": "omp.cmdb", "detail-type": "CiChanged", "detail": {"ci": body["ci"]}}
    return invoke("sync-ci-graph", event)


def test_attribute_values_derive_relations_both_ways(graph):
    vpc = ci("vpc", "vpc-1", vpc_id="vpc-1")
    web = ci("ec2_instance", "web", subnet_id="subnet-1")
    assert _sync(web)["derived"] == []  # the subnet does not exist yet
    subnet = ci("subnet", "subnet-1", subnet_id="subnet-1", vpc_id="vpc-1")
    derived = _sync(subnet)["derived"]  # its own vpc_id, and the instance naming it
    assert len(derived) == 2
    status, body, _ = call_api("get-neighbors", path_params={"ci_id": subnet})
    pairs = {(e["source"], e["type"], e["target"]) for e in body["edges"]}
    assert pairs == {(web, "member_of", subnet), (subnet, "member_of", vpc)}
    assert _sync(subnet)["derived"] == []  # nothing new the second time
    # the instance moves: the derived edge follows its subnet_id
    other = ci("subnet", "subnet-2", subnet_id="subnet-2")
    call_api(
        "update-ci",
        path_params={"ci_id": web},
        body={"version": 1, "attributes": {"subnet_id": "subnet-2"}},
    )
    assert len(_sync(web)["derived"]) == 1
    status, body, _ = call_api(
        "get-neighbors", path_params={"ci_id": web}, query={"direction": "out"}
    )
    assert status == 200, body
    assert {e["target"] for e in body["edges"]} == {other}


def test_renames_and_retirement_reach_the_graph(graph):
    a, s = ci("application", "a"), ci("service", "s")
    relate(a, "member_of", s)
    call_api("update-ci", path_params={"ci_id": s}, body={"version": 1, "name": "shop"})
    call_api("retire-ci", path_params={"ci_id": s})
    _sync(s)
    status, body, _ = call_api("get-neighbors", path_params={"ci_id": a})
    assert status == 200, body
    node = next(n for n in body["nodes"] if n["id"] == s)
    assert node["name"] == "shop" and node["status"] == "retired"
