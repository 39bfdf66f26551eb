"""NetBox import jobs under moto + gremlite: 202 and a job, the consumer runs it, a re-run
changes nothing, a file that is not NetBox fails its job and writes nothing."""

import json

import boto3

from tests.support import PREFIX, call_api, invoke

DUMP = [
    {"model": "contenttypes.contenttype", "fields": {"app_label": "dcim", "model": "site"}},
    {"model": "auth.permission", "pk": 1, "fields": {"name": "x"}},
    {"model": "tenancy.tenant", "pk": 1, "fields": {"name": "Initech", "slug": "initech"}},
    {
        "model": "dcim.site",
        "pk": 1,
        "fields": {"name": "NYC", "slug": "nyc", "status": "active", "tenant": 1},
    },
    {
        "model": "dcim.rack",
        "pk": 1,
        "fields": {"name": "R1", "site": 1, "u_height": 42, "tenant": None},
    },
    {
        "model": "dcim.device",
        "pk": 1,
        "fields": {"name": "rtr1", "site": 1, "rack": 1, "tenant": 1, "position": "4.0"},
    },
    {
        "model": "dcim.device",
        "pk": 2,
        "fields": {"name": "sw1", "site": 1, "rack": 1, "position": None},
    },
    {
        "model": "dcim.interface",
        "pk": 1,
        "fields": {"device": 1, "name": "eth0", "type": "1000base-t", "enabled": True},
    },
    {
        "model": "dcim.interface",
        "pk": 2,
        "fields": {"device": 2, "name": "eth0", "type": "1000base-t", "enabled": True},
    },
    {
        "model": "dcim.cable",
        "pk": 1,
        "fields": {"type": "cat6", "label": "", "color": "", "length": None},
    },
    {
        "model": "dcim.cabletermination",
        "pk": 1,
        "fields": {
            "cable": 1,
            "cable_end": "A",
            "termination_type": ["dcim", "interface"],
            "termination_id": 1,
        },
    },
    {
        "model": "dcim.cabletermination",
        "pk": 2,
        "fields": {
            "cable": 1,
            "cable_end": "B",
            "termination_type": ["dcim", "interface"],
            "termination_id": 2,
        },
    },
    {"model": "virtualization.cluster", "pk": 1, "fields": {"name": "C1", "site": 1}},
    {
        "model": "virtualization.virtualmachine",
        "pk": 1,
        "fields": {"name": "vm1", "cluster": 1, "vcpus": "2.00", "memory": 2048},
    },
    {"model": "ipam.vlan", "pk": 1, "fields": {"name": "Data", "vid": 100, "site": 1}},
    {"model": "ipam.prefix", "pk": 1, "fields": {"prefix": "10.0.0.0/24", "site": 1, "vlan": 1}},
    {
        "model": "ipam.ipaddress",
        "pk": 1,
        "fields": {
            "address": "10.0.0.1/24",
            "assigned_object_type": ["dcim", "interface"],
            "assigned_object_id": 1,
        },
    },
    {
        "model": "circuits.circuit",
        "pk": 1,
        "fields": {"cid": "KK1", "commit_rate": 1000, "tenant": 1},
    },
    {
        "model": "circuits.circuittermination",
        "pk": 1,
        "fields": {"circuit": 1, "term_side": "A", "site": 1},
    },
]


def _start(body):
    status, answer, _ = call_api("start-netbox-import", body=body)
    assert status == 202, answer
    return answer["job"]


def _run(job_id):
    sqs = boto3.client("sqs")
    url = sqs.get_queue_url(QueueName=PREFIX + "cmdb-imports")["QueueUrl"]
    messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10)["Messages"]
    records = [{"messageId": m["MessageId"], "body": m["Body"]} for m in messages]
    assert [json.loads(r["body"])["job_id"] for r in records] == [job_id]
    assert invoke("run-cmdb-import", {"Records": records}) == {"batchItemFailures": []}
    status, body, _ = call_api("get-import-job", path_params={"job_id": job_id})
    assert status == 200
    return body["job"]


def _ci(type_, name):
    _, body, _ = call_api("list-cis", query={"type": type_})
    return next(c for c in body["cis"] if c["name"] == name)


def test_import_creates_cis_and_relations_and_a_rerun_changes_nothing(graph):
    job = _start(DUMP)
    assert job["status"] == "queued" and job["id"].startswith("imp_")
    done = _run(job["id"])
    assert done["status"] == "succeeded", done
    counts = done["counts"]
    assert counts["created"] == 14 and counts["failed"] == 0 and counts["objects_skipped"] == 2
    assert counts["relations_added"] == 20 and counts["relations_refused"] == 0
    rtr = _ci("device", "rtr1")
    assert rtr["attributes"] == {"netbox_id": 1, "position": 4.0} and rtr["sources"] == ["netbox"]
    assert _ci("interface", "rtr1/eth0")["attributes"]["kind"] == "1000base-t"
    assert _ci("ip_address", "10.0.0.1/24")["attributes"]["address"] == "10.0.0.1/24"
    _, body, _ = call_api("get-neighbors", path_params={"ci_id": rtr["id"]})
    names = {n["name"] for n in body["nodes"]}
    assert {"R1", "NYC", "Initech", "rtr1/eth0", "sw1"} <= names  # sw1: through the cable
    site = _ci("site", "NYC")
    _, body, _ = call_api("get-impact", path_params={"ci_id": site["id"]}, query={"depth": "3"})
    assert {"R1", "rtr1", "sw1", "C1", "vm1", "Data", "10.0.0.0/24"} <= {
        i["ci"]["name"] for i in body["items"]
    }

    again = _run(_start(DUMP)["id"])
    assert again["status"] == "succeeded"
    assert again["counts"]["unchanged"] == 14 and again["counts"]["created"] == 0
    assert again["counts"]["relations_added"] == 0 and again["counts"]["relations_existing"] == 20
    _, body, _ = call_api("get-ci-history", path_params={"ci_id": rtr["id"]})
    assert len(body["history"]) == 1  # no new version


def test_a_file_that_is_not_netbox_fails_its_job_and_writes_nothing(graph):
    for body, reason in [
        ({"not": "a list"}, "non-empty JSON list"),
        ([{"x": 1}], "no `model`"),
        ([{"model": "auth.user", "pk": 1, "fields": {}}], "no NetBox sites"),
    ]:
        job = _run(_start(body)["id"])
        assert job["status"] == "failed" and reason in job["error"], job
    status, body, _ = call_api("list-cis")
    assert body["cis"] == []
    status, body, _ = call_api("start-netbox-import", body="")
    assert status == 422


def test_unknown_job_is_404(platform):
    status, body, _ = call_api(
        "get-import-job", path_params={"job_id": "imp_01KKBSWHG0KCZ7Y3W8V6P5R4QT"}
    )
    assert status == 404 and body["error"]["code"] == "IMPORT_NOT_FOUND"
