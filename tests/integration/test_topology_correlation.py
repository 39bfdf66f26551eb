"""The topology rule over the CMDB (gremlite + moto): alarms on CIs related within k hops
join one incident; unrelated ones do not; GET /v1/incidents/{id} lists affected services."""

from datetime import UTC, datetime, timedelta

import pytest

from omp.adapters.gremlin_graph import GremlinGraph
from omp.domain.ingest import IngestEnvelope
from omp.runtime import container
from tests.support import call_api, invoke

WEB_ARN = "arn:aws:ec2:us-east-1:123456789012:instance/i-0abc12345"
DB_ARN = "arn:aws:rds:us-east-1:123456789012:db:orders"
OTHER_ARN = "arn:aws:ec2:us-east-1:123456789012:instance/i-0fff00000"


class CountingGraph(GremlinGraph):
    connects = 0

    def _g(self):  # type: ignore[no-untyped-def]
        if getattr(self._local, "g", None) is None:
            CountingGraph.connects += 1
        return super()._g()


@pytest.fixture
def graph(platform, tmp_path):
    g = CountingGraph(path=str(tmp_path / "graph.sqlite"))
    with container.override(graph=g):
        yield g
    g.close()


def ci(type_, name, **attributes):
    status, body, _ = call_api(
        "create-ci", body={"type": type_, "name": name, "attributes": attributes}
    )
    assert status == 201, body
    return body["ci"]["id"]


def relate(source, kind, target):
    status, body, _ = call_api(
        "add-relation", path_params={"ci_id": source}, body={"type": kind, "target": target}
    )
    assert status == 201, body


@pytest.fixture
def shop(graph):
    """checkout(service) -> cart(app) -> web(vm); cart -> db(rds); other(vm) stands alone."""
    ids = {
        "checkout": ci("service", "checkout"),
        "cart": ci("application", "cart"),
        "web": ci("ec2_instance", "web", arn=WEB_ARN, instance_id="i-0abc12345"),
        "db": ci("rds_instance", "orders", arn=DB_ARN),
        "other": ci("ec2_instance", "other", arn=OTHER_ARN, instance_id="i-0fff00000"),
    }
    relate(ids["checkout"], "depends_on", ids["cart"])
    relate(ids["cart"], "runs_on", ids["web"])
    relate(ids["cart"], "depends_on", ids["db"])
    return ids


def alert(fp, at, resource=None, **labels):
    body = {"name": f"alert-{fp}", "fingerprint": fp, "starts_at": at, "labels": labels}
    if resource:
        body["resource"] = resource
    return body


def ingest(*alerts):
    body = IngestEnvelope(
        "generic", "2026-03-10T12:00:00Z", "key_test", "req-1", payload={"alerts": list(alerts)}
    ).to_json()
    assert invoke("process-alerts", {"Records": [{"messageId": "m", "body": body}]}) == {
        "batchItemFailures": []
    }


def incidents():
    now = datetime.now(UTC)
    query = {
        "start": (now - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "end": (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    status, body, _ = call_api("list-incidents", query=query)
    assert status == 200, body
    return body["incidents"]


def test_alarms_on_related_cis_join_one_incident(shop):
    ingest(alert("web", "2026-03-10T12:00:00Z", WEB_ARN))
    ingest(alert("db", "2026-03-10T12:02:00Z", DB_ARN))  # db -> cart -> web: 2 hops
    (incident,) = incidents()
    assert incident["alarm_count"] == 2
    assert sorted(incident["affected_resources"]) == sorted([WEB_ARN, DB_ARN])

    # the unrelated instance opens its own
    ingest(alert("other", "2026-03-10T12:03:00Z", OTHER_ARN))
    assert sorted(i["alarm_count"] for i in incidents()) == [1, 2]


def test_a_label_names_the_resource_too(shop):
    ingest(alert("web", "2026-03-10T12:00:00Z", WEB_ARN))
    # Prometheus style: no resource, `instance` is host:port
    ingest(alert("node", "2026-03-10T12:01:00Z", instance="i-0abc12345:9100"))
    (incident,) = incidents()
    assert incident["alarm_count"] == 2


def test_hops_come_from_the_alerting_config(shop):
    put = {"version": 0, "correlation": {"topology": {"hops": 1}, "groups": []}}
    assert call_api("put-alerting-config", body=put)[0] == 200
    ingest(alert("web", "2026-03-10T12:00:00Z", WEB_ARN))
    ingest(alert("db", "2026-03-10T12:02:00Z", DB_ARN))  # 2 hops apart: beyond k = 1
    assert len(incidents()) == 2
    ingest(alert("cart", "2026-03-10T12:03:00Z", "cart"))  # 1 hop from both: joins the newest
    assert sorted(i["alarm_count"] for i in incidents()) == [1, 2]


def test_topology_off_and_outside_the_window(shop):
    ingest(alert("web", "2026-03-10T12:00:00Z", WEB_ARN))
    ingest(alert("db", "2026-03-10T12:31:00Z", DB_ARN))  # 31 minutes: past the 30-minute window
    assert len(incidents()) == 2
    put = {"version": 0, "correlation": {"topology": {"enabled": False}}}
    assert call_api("put-alerting-config", body=put)[0] == 200
    ingest(alert("db2", "2026-03-10T12:32:00Z", DB_ARN))
    assert len(incidents()) == 3


def test_no_ci_means_no_graph_connection(shop):
    CountingGraph.connects = 0
    container_graph = container.graph()
    container_graph.close()  # the fixture's CIs connected it; start from a closed client
    ingest(alert("x", "2026-03-10T12:00:00Z", "arn:aws:ec2:us-east-1:1:instance/i-0dead0000"))
    ingest(alert("y", "2026-03-10T12:01:00Z", instance="10.0.0.9:9100"))
    ingest(alert("z", "2026-03-10T12:02:00Z"))
    assert CountingGraph.connects == 0
    ingest(alert("web", "2026-03-10T12:03:00Z", WEB_ARN))
    assert CountingGraph.connects == 1


def test_get_incident_lists_the_affected_services(shop):
    ingest(alert("web", "2026-03-10T12:00:00Z", WEB_ARN))
    ingest(alert("db", "2026-03-10T12:02:00Z", DB_ARN))
    (incident,) = incidents()
    status, body, _ = call_api("get-incident", path_params={"incident_id": incident["id"]})
    assert status == 200, body
    services = body["incident"]["affected_services"]
    assert [(s["name"], s["type"], s["depth"]) for s in services] == [
        ("cart", "application", 1),
        ("checkout", "service", 2),
    ]
    assert services[0]["via"] == sorted([shop["web"], shop["db"]])

    ingest(alert("other", "2026-03-10T12:03:00Z", OTHER_ARN))
    lone = next(i for i in incidents() if i["id"] != incident["id"])
    status, body, _ = call_api("get-incident", path_params={"incident_id": lone["id"]})
    assert status == 200 and body["incident"]["affected_services"] == []


def test_cmdb_reads_per_new_alarm_are_few_and_cached_for_the_batch(platform):
    from omp.adapters import aws

    reads = []

    def record(model, params, **kwargs):
        if params.get("TableName") == "omp-test-cmdb":
            reads.append(model.name)

    aws.client("dynamodb").meta.events.register("before-parameter-build.dynamodb", record)
    # a name: tried as a service, then an application; the same resource again: cached
    ingest(
        alert("a", "2026-03-10T12:00:00Z", "host-a"), alert("b", "2026-03-10T12:00:01Z", "host-a")
    )
    assert len(reads) == 2, reads
    reads.clear()
    ingest(alert("c", "2026-03-10T12:00:02Z", instance="10.0.0.7:9100"))  # tried as 10.0.0.7
    assert len(reads) == 2, reads
    reads.clear()
    ingest(alert("d", "2026-03-10T12:00:03Z", "i-0abc12345"))  # an instance id: its index
    assert len(reads) == 1, reads
