"""`python -m infra.local`: the alerting settings over HTTP, then alerts on two CMDB CIs two
hops apart become one incident (the topology rule on the local gremlite graph), which lists
the services they affect."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.conftest import LocalServer, wait_for

WEB = "arn:aws:ec2:us-east-1:123456789012:instance/i-0e2e00001"
DB = "arn:aws:rds:us-east-1:123456789012:db:e2e-orders"


def test_settings_then_topology_correlation(local_server: LocalServer) -> None:
    with httpx.Client(
        base_url=local_server.base_url, headers=local_server.headers, timeout=30
    ) as c:
        got = c.get("/v1/alerting-config")
        assert got.status_code == 200 and got.json()["alerting_config"]["version"] == 0
        # no label groups: only the topology rule can join these alarms
        put = {"version": 0, "correlation": {"topology": {"hops": 2}, "groups": []}}
        r = c.put("/v1/alerting-config", json=put)
        assert r.status_code == 200 and r.json()["alerting_config"]["version"] == 1, r.text
        r = c.put("/v1/alerting-config", json=put)
        assert r.status_code == 409, r.text
        r = c.put("/v1/alerting-config", json={**put, "correlation": {"topology": {"hops": 9}}})
        assert r.status_code == 422, r.text

        def create(type_: str, name: str, **attributes: object) -> str:
            r = c.post("/v1/cis", json={"type": type_, "name": name, "attributes": attributes})
            assert r.status_code == 201, r.text
            return str(r.json()["ci"]["id"])

        web = create("ec2_instance", "web-topo", arn=WEB, instance_id="i-0e2e00001")
        db = create("rds_instance", "db-topo", arn=DB)
        app = create("application", "shop-topo")
        svc = create("service", "checkout-topo")
        for source, kind, target in [
            (app, "runs_on", web),
            (app, "depends_on", db),
            (svc, "depends_on", app),
        ]:
            r = c.post(f"/v1/cis/{source}/relations", json={"type": kind, "target": target})
            assert r.status_code == 201, r.text

        def post(name: str, resource: str, at: str) -> None:
            alert = {"name": name, "resource": resource, "starts_at": at, "fingerprint": name}
            r = c.post("/v1/ingest/generic", json={"alerts": [alert]})
            assert r.status_code == 202, r.text

        def incidents() -> list[dict[str, Any]]:
            r = c.get("/v1/incidents")
            assert r.status_code == 200, r.text
            return list(r.json()["incidents"])

        post("topo-web", WEB, "2026-03-10T12:00:00Z")
        wait_for(lambda: incidents() or None, timeout=20)
        post("topo-db", DB, "2026-03-10T12:01:00Z")  # db -> app -> web: 2 hops

        def joined() -> dict[str, Any] | None:
            found = [i for i in incidents() if i["alarm_count"] == 2]
            return found[0] if found else None

        incident = wait_for(joined, timeout=20)
        assert len(incidents()) == 1  # the db alarm joined the web alarm's incident
        r = c.get(f"/v1/incidents/{incident['id']}")
        assert r.status_code == 200, r.text
        services = r.json()["incident"]["affected_services"]
        assert [(s["id"], s["depth"]) for s in services] == [(app, 1), (svc, 2)]
