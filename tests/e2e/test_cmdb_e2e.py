"""The CMDB through `python -m infra.local`: CIs over HTTP, relations in the local gremlite
graph, derived relations through the bus (sync-ci-graph), full-text search (index-ci, SQLite FTS5),
impact, history verification and anchoring, removing a relation by its ends."""

from __future__ import annotations

import httpx

from tests.e2e.conftest import LocalServer, wait_for


def test_cis_relations_impact_and_history(local_server: LocalServer) -> None:
    with httpx.Client(
        base_url=local_server.base_url, headers=local_server.headers, timeout=30
    ) as c:

        def create(type_: str, name: str, **attributes: object) -> str:
            r = c.post("/v1/cis", json={"type": type_, "name": name, "attributes": attributes})
            assert r.status_code == 201, r.text
            return str(r.json()["ci"]["id"])

        subnet = create("subnet", "subnet-e2e", arn="arn:subnet-e2e", subnet_id="subnet-e2e")
        web = create("ec2_instance", "web-e2e", arn="arn:web-e2e", subnet_id="subnet-e2e")
        app = create("application", "shop-e2e")
        svc = create("service", "checkout-e2e")
        r = c.post(f"/v1/cis/{app}/relations", json={"type": "runs_on", "target": web})
        assert r.status_code == 201, r.text
        r = c.post(f"/v1/cis/{svc}/relations", json={"type": "depends_on", "target": app})
        assert r.status_code == 201, r.text

        def derived() -> bool:
            r = c.get(f"/v1/cis/{web}/neighbors", params={"direction": "out"})
            return any(e["target"] == subnet for e in r.json()["edges"])

        wait_for(derived, timeout=20)  # the instance's subnet_id, through the bus

        def found() -> bool:
            r = c.get("/v1/cis:search", params={"q": "web-e2e", "type": "ec2_instance"})
            return [ci["id"] for ci in r.json()["cis"]] == [web]

        wait_for(found, timeout=20)  # indexed by index-ci, through the bus
        r = c.get(f"/v1/cis/{subnet}/impact")
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        assert [i["ci"]["id"] for i in items][:1] == [svc]
        assert items[0]["path"] == [subnet, web, app, svc]

        r = c.post(f"/v1/cis/{svc}/relations", json={"type": "depends_on", "target": svc})
        assert r.status_code == 422
        r = c.put(
            f"/v1/cis/{web}", json={"version": 1, "attributes": {"instance_type": "m6g.large"}}
        )
        assert r.status_code == 200, r.text
        r = c.get(f"/v1/cis/{web}/history/verify")
        assert r.status_code == 200 and r.json()["verification"]["valid"] is True
        assert r.json()["verification"]["versions"] == 2
        # The first anchor run anchors every CI's head (the bucket has Object Lock locally too).
        r = c.post("/_local/tick/anchor-ci-history")
        assert r.status_code == 200, r.text
        r = c.get(f"/v1/cis/{web}/history/verify")
        anchored = r.json()["verification"]["anchored"]
        assert anchored["version"] == 2 and anchored["matches"] is True, r.text
        r = c.get("/v1/cmdb/history-anchors/verify")
        assert r.status_code == 200 and r.json()["anchor_chain"]["valid"] is True, r.text
        r = c.delete(f"/v1/cis/{svc}/relations", params={"type": "depends_on", "target": app})
        assert r.status_code == 200 and r.json()["relation"]["target"] == app, r.text
        r = c.delete(f"/v1/cis/{svc}/relations", params={"type": "depends_on", "target": app})
        assert r.status_code == 404, r.text
        r = c.post(
            "/v1/cis:batchUpsert",
            json={"items": [{"type": "service", "name": "checkout-e2e", "attributes": {}}]},
        )
        assert r.status_code == 200 and r.json()["results"][0]["outcome"] == "unchanged", r.text
