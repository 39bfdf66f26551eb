"""DELETE /v1/cis/{ci_id}/relations?type=&target=: removing an edge by its ends, on gremlite."""

import json

import boto3

from tests.support import call_api


def ci(type_, name):
    status, body, _ = call_api("create-ci", body={"type": type_, "name": name, "attributes": {}})
    assert status == 201, body
    return body["ci"]["id"]


def remove(source, kind, target):
    return call_api(
        "remove-relation-to",
        path_params={"ci_id": source},
        query={"type": kind, "target": target},
    )


def test_removes_the_edge_and_a_repeat_is_404(graph, platform):
    svc, app = ci("service", "checkout"), ci("application", "cart")
    status, added, _ = call_api(
        "add-relation", path_params={"ci_id": svc}, body={"type": "depends_on", "target": app}
    )
    assert status == 201
    status, body, _ = remove(svc, "depends_on", app)
    assert status == 200 and body["relation"]["id"] == added["relation"]["id"]
    assert body["created"] is False and graph.find_edges(svc, "depends_on", app) == []
    sqs = boto3.client("sqs")
    got = sqs.receive_message(QueueUrl=platform["queue_url"], MaxNumberOfMessages=10)["Messages"]
    kinds = [json.loads(m["Body"])["detail-type"] for m in got]
    assert "RelationRemoved" in kinds
    status, body, _ = remove(svc, "depends_on", app)
    assert status == 404 and body["error"]["code"] == "RELATION_NOT_FOUND"


def test_only_the_named_type_and_direction(graph):
    svc, app, team = ci("service", "s"), ci("application", "a"), ci("team", "t")
    for kind, target in (("depends_on", app), ("owned_by", team)):
        status, _, _ = call_api(
            "add-relation", path_params={"ci_id": svc}, body={"type": kind, "target": target}
        )
        assert status == 201
    assert remove(svc, "owned_by", app)[0] == 404  # wrong type for that target
    assert remove(app, "depends_on", svc)[0] == 404  # the edge goes the other way
    assert remove(svc, "owned_by", team)[0] == 200
    assert len(graph.find_edges(svc, "depends_on", app)) == 1


def test_bad_input(graph):
    svc = ci("service", "s")
    status, body, _ = call_api("remove-relation-to", path_params={"ci_id": svc})
    assert status == 422
    locs = {tuple(d["loc"]) for d in body["error"].get("details", [])}
    assert ("query", "type") in locs and ("query", "target") in locs
    assert remove(svc, "Depends On", "ci_01KKBSWHG0KCZ7Y3W8V6P5R4QT")[0] == 422
    assert remove(svc, "depends_on", "nope")[0] == 422
    status, body, _ = remove("ci_01KKBSWHG0KCZ7Y3W8V6P5R4QT", "depends_on", svc)
    assert status == 404 and body["error"]["code"] == "CI_NOT_FOUND"


def test_the_id_route_still_works(graph):
    svc, app = ci("service", "s"), ci("application", "a")
    _, added, _ = call_api(
        "add-relation", path_params={"ci_id": svc}, body={"type": "depends_on", "target": app}
    )
    rel_id = added["relation"]["id"]
    status, _, _ = call_api("remove-relation", path_params={"ci_id": svc, "relation_id": rel_id})
    assert status == 200
