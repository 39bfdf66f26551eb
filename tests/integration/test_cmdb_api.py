"""CMDB types, CIs, batch upsert and history under moto, through the handlers."""

import json

import boto3
import pytest

from tests.support import PREFIX, call_api


def _captured(platform):
    sqs, out = boto3.client("sqs"), []
    while True:
        got = sqs.receive_message(QueueUrl=platform["queue_url"], MaxNumberOfMessages=10).get(
            "Messages", []
        )
        if not got:
            return out
        out += [json.loads(m["Body"]) for m in got]


def create(type_="ec2_instance", name="web-1", **attributes):
    if type_ == "ec2_instance":
        attributes.setdefault("arn", f"arn:aws:ec2:us-east-1:1:instance/{name}")
    status, body, _ = call_api(
        "create-ci", body={"type": type_, "name": name, "attributes": attributes}
    )
    assert status == 201, body
    return body["ci"]


K8S = {
    "name": "k8s_cluster",
    "parent": "aws_resource",
    "attributes": [
        {"name": "cluster_name", "type": "string", "required": True, "indexed": True},
        {"name": "node_count", "type": "int", "default": 3},
        {"name": "platform", "type": "enum", "values": ["eks", "self-managed"]},
        {"name": "vpc_id", "type": "string"},
    ],
    "relations": [{"relation": "member_of", "target": "vpc", "cardinality": "one"}],
    "derive": [
        {
            "attribute": "vpc_id",
            "relation": "member_of",
            "target_type": "vpc",
            "target_attribute": "vpc_id",
        }
    ],
}


# ---- types ------------------------------------------------------------------------------------


def test_builtin_types_are_served_and_resolved(platform):
    status, body, _ = call_api("list-ci-types")
    names = [t["name"] for t in body["ci_types"]]
    assert status == 200 and {"service", "ec2_instance", "device", "tenant"} <= set(names)
    status, body, _ = call_api("get-ci-type", path_params={"name": "subnet"})
    resolved = body["ci_type"]["resolved"]
    assert status == 200 and body["ci_type"]["builtin"] is True
    assert resolved["ancestors"] == ["aws_resource"] and resolved["natural_key"] == "arn"
    assert {"arn", "subnet_id", "cidr_block"} <= {a["name"] for a in resolved["attributes"]}


def test_user_type_create_get_update_with_version(platform):
    status, body, _ = call_api("create-ci-type", body=K8S)
    assert status == 201, body
    t = body["ci_type"]
    assert t["version"] == 1 and t["resolved"]["ancestors"] == ["aws_resource"]
    status, body, _ = call_api("create-ci-type", body=K8S)
    assert status == 409 and body["error"]["code"] == "CI_TYPE_EXISTS"
    update = {k: v for k, v in K8S.items() if k != "name"} | {"version": 1, "description": "EKS"}
    update["attributes"] = [*K8S["attributes"], {"name": "k8s_version", "type": "string"}]
    status, body, _ = call_api("update-ci-type", path_params={"name": "k8s_cluster"}, body=update)
    assert status == 200 and body["ci_type"]["version"] == 2, body
    status, body, _ = call_api("update-ci-type", path_params={"name": "k8s_cluster"}, body=update)
    assert status == 409 and body["error"]["code"] == "VERSION_CONFLICT"
    changed = dict(update, version=2)
    changed["attributes"] = [{**K8S["attributes"][1], "type": "string", "default": None}]
    status, body, _ = call_api("update-ci-type", path_params={"name": "k8s_cluster"}, body=changed)
    assert status == 422 and body["error"]["code"] == "CI_TYPE_INCOMPATIBLE"
    status, body, _ = call_api("list-ci-types")
    assert "k8s_cluster" in [t["name"] for t in body["ci_types"]]


def test_type_errors(platform):
    status, body, _ = call_api(
        "update-ci-type", path_params={"name": "service"}, body={"version": 1}
    )
    assert status == 409 and body["error"]["code"] == "CI_TYPE_BUILTIN"
    status, body, _ = call_api("update-ci-type", path_params={"name": "nope"}, body={"version": 1})
    assert status == 404 and body["error"]["code"] == "CI_TYPE_NOT_FOUND"
    status, body, _ = call_api("get-ci-type", path_params={"name": "nope"})
    assert status == 404 and body["error"]["code"] == "CI_TYPE_NOT_FOUND"
    status, body, _ = call_api("create-ci-type", body={"name": "service"})
    assert status == 409
    status, body, _ = call_api("create-ci-type", body={"name": "x", "parent": "nope"})
    assert status == 422 and body["error"]["details"][0]["loc"] == ["body", "parent"]
    status, body, _ = call_api(
        "create-ci-type",
        body={"name": "x", "relations": [{"relation": "depends_on", "target": "nope"}]},
    )
    assert status == 422 and body["error"]["details"][0]["loc"] == [
        "body",
        "relations",
        0,
        "target",
    ]
    status, body, _ = call_api(
        "create-ci-type", body={"name": "x", "relations": [{"relation": "likes", "target": "team"}]}
    )
    assert status == 422
    status, body, _ = call_api("create-ci-type", body={"name": "Bad Name"})
    assert status == 422
    status, body, _ = call_api(
        "create-ci-type", body={"name": "x", "attributes": [{"name": "e", "type": "enum"}]}
    )
    assert status == 422 and body["error"]["details"][0]["loc"] == [
        "body",
        "attributes",
        0,
        "values",
    ]


# ---- CIs --------------------------------------------------------------------------------------


def test_create_get_update_retire_publish_events(platform):
    ci = create(instance_id="i-1", private_ip="10.0.0.1", subnet_id="subnet-1")
    assert ci["id"].startswith("ci_") and ci["version"] == 1 and ci["status"] == "active"
    assert ci["natural_key"] == ci["attributes"]["arn"]
    status, got, _ = call_api("get-ci", path_params={"ci_id": ci["id"]})
    assert status == 200 and got["ci"] == ci
    status, body, _ = call_api(
        "update-ci",
        path_params={"ci_id": ci["id"]},
        body={"version": 1, "attributes": {"private_ip": "10.0.0.2", "subnet_id": None}},
    )
    assert status == 200 and body["ci"]["version"] == 2
    assert (
        body["ci"]["attributes"]["private_ip"] == "10.0.0.2"
        and "subnet_id" not in body["ci"]["attributes"]
    )
    status, same, _ = call_api(
        "update-ci",
        path_params={"ci_id": ci["id"]},
        body={"version": 2, "attributes": {"private_ip": "10.0.0.2"}},
    )
    assert status == 200 and same["ci"]["version"] == 2  # nothing changed: no new version
    status, body, _ = call_api("retire-ci", path_params={"ci_id": ci["id"]}, query={"version": "2"})
    assert status == 200 and body["ci"]["status"] == "retired" and body["ci"]["version"] == 3
    status, again, _ = call_api("retire-ci", path_params={"ci_id": ci["id"]})
    assert status == 200 and again["ci"]["version"] == 3
    status, body, _ = call_api("get-ci", path_params={"ci_id": ci["id"]})
    assert status == 200 and body["ci"]["status"] == "retired"  # retired, not erased
    status, body, _ = call_api(
        "update-ci", path_params={"ci_id": ci["id"]}, body={"version": 3, "attributes": {}}
    )
    assert status == 409 and body["error"]["code"] == "CI_RETIRED"
    kinds = [(e["source"], e["detail-type"]) for e in _captured(platform)]
    assert kinds == [
        ("omp.cmdb", "CiCreated"),
        ("omp.cmdb", "CiChanged"),
        ("omp.cmdb", "CiRetired"),
    ]


def test_stale_version_is_409(platform):
    ci = create()
    call_api(
        "update-ci",
        path_params={"ci_id": ci["id"]},
        body={"version": 1, "attributes": {"region": "eu-west-1"}},
    )
    status, body, _ = call_api(
        "update-ci",
        path_params={"ci_id": ci["id"]},
        body={"version": 1, "attributes": {"region": "us-east-1"}},
    )
    assert (
        status == 409
        and body["error"]["code"] == "VERSION_CONFLICT"
        and body["error"]["details"] == {"version": 2}
    )
    status, body, _ = call_api("retire-ci", path_params={"ci_id": ci["id"]}, query={"version": "1"})
    assert status == 409


def test_concurrent_writer_loses_at_the_conditional_write(platform):
    """Two writers read version 1; the transaction's condition refuses the second."""
    from omp.adapters.dynamo_cmdb import DynamoCiRepository
    from omp.domain.cmdb.cis import Ci
    from omp.domain.cmdb.history import HistoryRecord
    from omp.domain.errors import Conflict
    from omp.services.cmdb import TypeCache

    ci = create()
    repo = DynamoCiRepository(PREFIX + "cmdb")
    current = Ci.model_validate(ci)
    nxt = current.model_copy(update={"version": 2, "name": "x"})
    rec = HistoryRecord(
        ci_id=ci["id"],
        version=2,
        change="updated",
        at="t",
        actor="a",
        source="api",
        after={},
        diff={},
        prev_hash="0",
        hash="h",
    )
    rtype = TypeCache(None).get("ec2_instance")
    repo.write(nxt, current, rec, rtype)
    with pytest.raises(Conflict) as err:
        repo.write(nxt.model_copy(update={"name": "y"}), current, rec, rtype)
    assert err.value.code == "VERSION_CONFLICT"


def test_unique_attributes_and_natural_keys_are_claimed(platform):
    a = create(name="a", instance_id="i-1")
    status, body, _ = call_api(
        "create-ci",
        body={
            "type": "ec2_instance",
            "name": "b",
            "attributes": {"arn": "arn:b", "instance_id": "i-1"},
        },
    )
    assert status == 409 and body["error"]["code"] == "UNIQUE_VIOLATION"
    assert body["error"]["details"] == {"attribute": "instance_id", "value": "i-1"}
    status, body, _ = call_api(
        "create-ci",
        body={"type": "ec2_instance", "name": "c", "attributes": {"arn": a["attributes"]["arn"]}},
    )
    assert status == 409 and body["error"]["code"] == "CI_EXISTS"
    # moving the value releases the old claim
    b = create(name="b", instance_id="i-2")
    call_api(
        "update-ci",
        path_params={"ci_id": a["id"]},
        body={"version": 1, "attributes": {"instance_id": "i-3"}},
    )
    status, body, _ = call_api(
        "update-ci",
        path_params={"ci_id": b["id"]},
        body={"version": 1, "attributes": {"instance_id": "i-1"}},
    )
    assert status == 200, body
    status, body, _ = call_api(
        "update-ci",
        path_params={"ci_id": b["id"]},
        body={"version": 2, "attributes": {"instance_id": "i-3"}},
    )
    assert status == 409 and body["error"]["code"] == "UNIQUE_VIOLATION"


def test_validation_errors_have_field_paths(platform):
    status, body, _ = call_api(
        "create-ci",
        body={
            "type": "ec2_instance",
            "name": "x",
            "attributes": {
                "arn": "a",
                "private_ip": "999.1.1.1",
                "colour": "red",
                "state": "melting",
            },
        },
    )
    assert status == 422 and body["error"]["code"] == "VALIDATION_FAILED"
    assert {tuple(d["loc"]) for d in body["error"]["details"]} == {
        ("body", "attributes", "private_ip"),
        ("body", "attributes", "colour"),
        ("body", "attributes", "state"),
    }
    status, body, _ = call_api("create-ci", body={"type": "nope", "name": "x"})
    assert (
        status == 422
        and body["error"]["code"] == "UNKNOWN_CI_TYPE"
        and body["error"]["details"][0]["loc"] == ["body", "type"]
    )
    status, body, _ = call_api(
        "create-ci", body={"type": "aws_resource", "name": "x", "attributes": {"arn": "a"}}
    )
    assert status == 422 and body["error"]["code"] == "UNKNOWN_CI_TYPE"
    status, body, _ = call_api("create-ci", body={"type": "ec2_instance", "name": "x"})
    assert status == 422 and body["error"]["details"][0]["loc"] == ["body", "attributes", "arn"]
    status, body, _ = call_api("create-ci", body="{not json")
    assert status == 400 and body["error"]["code"] == "MALFORMED_JSON"
    status, body, _ = call_api(
        "update-ci", path_params={"ci_id": "ci_01KKBSWHG0KCZ7Y3W8V6P5R4QT"}, body={"version": 1}
    )
    assert status == 404 and body["error"]["code"] == "CI_NOT_FOUND"
    status, body, _ = call_api("get-ci", path_params={"ci_id": "garbage"})
    assert status == 404 and body["error"]["code"] == "CI_NOT_FOUND"


def test_reference_attributes_must_name_a_ci_of_the_type(platform):
    call_api(
        "create-ci-type",
        body={
            "name": "contract",
            "attributes": [{"name": "vendor", "type": "reference", "reference_type": "team"}],
        },
    )
    team = create("team", "vendors")
    svc = create("service", "checkout")
    status, body, _ = call_api(
        "create-ci", body={"type": "contract", "name": "c1", "attributes": {"vendor": svc["id"]}}
    )
    assert status == 422 and "not a team" in body["error"]["details"][0]["msg"]
    status, body, _ = call_api(
        "create-ci",
        body={
            "type": "contract",
            "name": "c1",
            "attributes": {"vendor": "ci_01KKBSWHG0KCZ7Y3W8V6P5R4QT"},
        },
    )
    assert status == 422
    status, body, _ = call_api(
        "create-ci", body={"type": "contract", "name": "c1", "attributes": {"vendor": team["id"]}}
    )
    assert status == 201


def test_list_by_type_status_and_indexed_attribute(platform):
    a = create(name="a", subnet_id="subnet-1")
    b = create(name="b", subnet_id="subnet-1")
    create(name="c", subnet_id="subnet-2")
    svc = create("service", "checkout", tier="tier1")
    call_api("retire-ci", path_params={"ci_id": b["id"]})
    status, body, _ = call_api("list-cis", query={"type": "ec2_instance"})
    assert status == 200 and [c["name"] for c in body["cis"]] == ["a", "b", "c"]
    status, body, _ = call_api("list-cis", query={"type": "ec2_instance", "status": "active"})
    assert [c["name"] for c in body["cis"]] == ["a", "c"]
    status, body, _ = call_api(
        "list-cis", query={"type": "ec2_instance", "attribute": "subnet_id", "value": "subnet-1"}
    )
    assert status == 200 and sorted(c["id"] for c in body["cis"]) == sorted([a["id"], b["id"]])
    status, body, _ = call_api(
        "list-cis", query={"type": "service", "attribute": "tier", "value": "tier1"}
    )
    assert [c["id"] for c in body["cis"]] == [svc["id"]]
    status, body, _ = call_api(
        "list-cis", query={"type": "ec2_instance", "attribute": "launched_at", "value": "x"}
    )
    assert status == 422 and body["error"]["code"] == "ATTRIBUTE_NOT_INDEXED"
    status, body, _ = call_api("list-cis", query={"attribute": "subnet_id", "value": "x"})
    assert status == 422
    status, body, _ = call_api("list-cis", query={"limit": "2"})
    assert len(body["cis"]) == 2 and body["next_token"]
    status, rest, _ = call_api("list-cis", query={"limit": "2", "next_token": body["next_token"]})
    assert len(rest["cis"]) == 2 and not {c["id"] for c in rest["cis"]} & {
        c["id"] for c in body["cis"]
    }
    status, body, _ = call_api(
        "list-cis", query={"type": "ec2_instance", "next_token": body["next_token"]}
    )
    assert status == 400 and body["error"]["code"] == "INVALID_NEXT_TOKEN"


def test_batch_upsert_is_keyed_idempotent_and_per_item(platform):
    items = [
        {"type": "service", "name": "checkout", "attributes": {"tier": "tier1"}},
        {
            "type": "ec2_instance",
            "name": "web",
            "attributes": {"arn": "arn:web", "instance_id": "i-9"},
        },
        {"type": "service", "name": "bad", "attributes": {"tier": "gold"}},
    ]
    status, body, _ = call_api("batch-upsert-cis", body={"items": items, "source": "discovery"})
    assert status == 200 and [r["outcome"] for r in body["results"]] == [
        "created",
        "created",
        "failed",
    ]
    assert body["counts"] == {"created": 2, "failed": 1}
    assert body["results"][2]["error"]["details"][0]["loc"] == [
        "body",
        "items",
        2,
        "attributes",
        "tier",
    ]
    status, again, _ = call_api(
        "batch-upsert-cis", body={"items": items[:2], "source": "discovery"}
    )
    assert [r["outcome"] for r in again["results"]] == ["unchanged", "unchanged"]
    assert [r["ci_id"] for r in again["results"]] == [r["ci_id"] for r in body["results"][:2]]
    items[1]["name"] = "web-renamed"
    items[1]["attributes"]["instance_type"] = "m6g.large"
    status, changed, _ = call_api("batch-upsert-cis", body={"items": items[:2]})
    assert [r["outcome"] for r in changed["results"]] == ["unchanged", "updated"]
    ci_id = changed["results"][1]["ci_id"]
    status, got, _ = call_api("get-ci", path_params={"ci_id": ci_id})
    assert got["ci"]["name"] == "web-renamed" and got["ci"]["sources"] == ["discovery", "api"]
    call_api("retire-ci", path_params={"ci_id": ci_id})
    status, restored, _ = call_api("batch-upsert-cis", body={"items": items[1:2]})
    assert restored["results"][0]["outcome"] == "updated"
    status, got, _ = call_api("get-ci", path_params={"ci_id": ci_id})
    assert got["ci"]["status"] == "active"
    status, body, _ = call_api("batch-upsert-cis", body={"items": []})
    assert status == 422
    status, body, _ = call_api("batch-upsert-cis", body={"items": [items[0]] * 501})
    assert status == 422


# ---- history ----------------------------------------------------------------------------------


def test_history_records_every_change_and_verifies(platform):
    ci = create(name="h")
    call_api(
        "update-ci",
        path_params={"ci_id": ci["id"]},
        body={"version": 1, "attributes": {"region": "eu-west-1"}, "reason": "moved"},
    )
    call_api("retire-ci", path_params={"ci_id": ci["id"]}, query={"reason": "gone"})
    status, body, _ = call_api("get-ci-history", path_params={"ci_id": ci["id"]})
    history = body["history"]
    assert status == 200 and [h["change"] for h in history] == ["created", "updated", "retired"]
    second = history[1]
    assert second["actor"] == "tester" and second["reason"] == "moved" and second["request_id"]
    assert second["diff"] == {"attributes.region": {"from": None, "to": "eu-west-1"}}
    assert second["before"]["version"] == 1 and second["after"]["version"] == 2
    assert second["prev_hash"] == history[0]["hash"]
    status, body, _ = call_api("verify-ci-history", path_params={"ci_id": ci["id"]})
    assert (
        status == 200
        and body["verification"]["valid"] is True
        and body["verification"]["versions"] == 3
    )
    status, page, _ = call_api(
        "get-ci-history", path_params={"ci_id": ci["id"]}, query={"limit": "2"}
    )
    assert len(page["history"]) == 2 and page["next_token"]


def _tamper(ci_id, version, change):
    ddb = boto3.client("dynamodb")
    key = {"pk": {"S": f"CI#{ci_id}"}, "sk": {"S": f"V#{version:010d}"}}
    item = ddb.get_item(TableName=PREFIX + "cmdb", Key=key)["Item"]
    record = json.loads(item["record"]["S"])
    change(record)
    item["record"] = {"S": json.dumps(record)}
    ddb.put_item(TableName=PREFIX + "cmdb", Item=item)


def test_verify_names_the_first_altered_version(platform):
    ci = create(name="t")
    for v in range(1, 5):
        call_api(
            "update-ci",
            path_params={"ci_id": ci["id"]},
            body={"version": v, "attributes": {"region": f"r{v}"}},
        )
    _tamper(ci["id"], 3, lambda r: r.update(actor="mallory"))
    status, body, _ = call_api("verify-ci-history", path_params={"ci_id": ci["id"]})
    result = body["verification"]
    assert status == 200 and result["valid"] is False
    assert result["first_broken"]["version"] == 3 and "altered" in result["first_broken"]["reason"]


def test_verify_notices_a_deleted_newest_version(platform):
    ci = create(name="d")
    call_api(
        "update-ci",
        path_params={"ci_id": ci["id"]},
        body={"version": 1, "attributes": {"region": "x"}},
    )
    boto3.client("dynamodb").delete_item(
        TableName=PREFIX + "cmdb", Key={"pk": {"S": f"CI#{ci['id']}"}, "sk": {"S": "V#0000000002"}}
    )
    _, body, _ = call_api("verify-ci-history", path_params={"ci_id": ci["id"]})
    assert (
        body["verification"]["valid"] is False
        and body["verification"]["first_broken"]["version"] == 2
    )


def test_history_of_unknown_ci_is_404(platform):
    status, body, _ = call_api(
        "verify-ci-history", path_params={"ci_id": "ci_01KKBSWHG0KCZ7Y3W8V6P5R4QT"}
    )
    assert status == 404 and body["error"]["code"] == "CI_NOT_FOUND"
    status, body, _ = call_api("get-ci-history", path_params={"ci_id": "nope"})
    assert status == 404


# ---- full-text search -------------------------------------------------------------------------


@pytest.fixture
def search_index(platform, tmp_path):
    from omp.adapters.sqlite_search import SqliteSearchIndex
    from omp.runtime import container

    with container.override(search=SqliteSearchIndex(str(tmp_path / "search.sqlite"))):
        yield


def _index(ci_id):
    from tests.support import invoke

    return invoke(
        "index-ci",
        {"source": "omp.cmdb", "detail-type": "CiChanged", "detail": {"ci": {"id": ci_id}}},
    )


def test_search_finds_cis_by_name_attributes_and_filters(search_index):
    web = create(name="web-checkout-1", private_ip="10.0.1.12", instance_id="i-0abc")
    svc = create("service", "checkout", tier="tier1")
    other = create("team", "payments")
    for ci_id in (web["id"], svc["id"], other["id"]):
        assert _index(ci_id)["indexed"] is True
    status, body, _ = call_api("search-cis", query={"q": "checkout"})
    assert status == 200 and {c["id"] for c in body["cis"]} == {web["id"], svc["id"]}
    status, body, _ = call_api("search-cis", query={"q": "10.0.1.12"})
    assert [c["id"] for c in body["cis"]] == [web["id"]]
    status, body, _ = call_api("search-cis", query={"q": "check", "type": "service"})
    assert [c["id"] for c in body["cis"]] == [svc["id"]]
    call_api("retire-ci", path_params={"ci_id": svc["id"]})
    _index(svc["id"])
    status, body, _ = call_api("search-cis", query={"q": "checkout", "status": "active"})
    assert [c["id"] for c in body["cis"]] == [web["id"]]
    status, body, _ = call_api("search-cis", query={"q": '"; DROP (*) NEAR'})
    assert status == 200 and body["cis"] == []
    status, body, _ = call_api("search-cis", query={})
    assert status == 422
    assert _index("ci_01KKBSWHG0KCZ7Y3W8V6P5R4QT")["indexed"] is False


# ---- resolving an alarm's resource ------------------------------------------------------------


def test_resolve_an_alarm_resource_to_its_ci(platform):
    arn = "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc12345"
    web = create(name="web", arn=arn, instance_id="i-0abc12345")
    svc = create("service", "checkout")
    app = create("application", "cart")
    for resource, expected in [(arn, web), ("i-0abc12345", web), ("checkout", svc), ("cart", app)]:
        status, body, _ = call_api("resolve-ci", query={"resource": resource})
        assert status == 200 and body["ci"]["id"] == expected["id"], resource
    for resource in (
        "i-0fff00000",
        "arn:aws:ec2:us-east-1:1:instance/i-0fff00000",
        "nothing",
        "arn:x",
    ):
        status, body, _ = call_api("resolve-ci", query={"resource": resource})
        assert status == 404 and body["error"]["code"] == "CI_NOT_FOUND", resource
    status, body, _ = call_api("resolve-ci", query={})
    assert status == 422
