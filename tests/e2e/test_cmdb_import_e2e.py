"""A NetBox import through `python -m infra.local`: POST the file, poll the job, and the
import's CisImported events reach index-ci (search finds the CIs) and sync-ci-graph through
the runtime's EventBridge rules; a re-run changes nothing."""

from __future__ import annotations

import time

import httpx

from tests.e2e.conftest import LocalServer, wait_for
from tests.integration.test_cmdb_import import DUMP


def _job(c: httpx.Client) -> dict[str, object]:
    r = c.post("/v1/cmdb/imports/netbox", json=DUMP)
    assert r.status_code == 202, r.text
    job_id = r.json()["job"]["id"]
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        job: dict[str, object] = c.get(f"/v1/cmdb/imports/{job_id}").json()["job"]
        if job["status"] in ("succeeded", "failed"):
            return job
        time.sleep(0.2)
    raise AssertionError(f"import {job_id} did not end")


def test_netbox_import_through_the_local_runtime(local_server: LocalServer) -> None:
    with httpx.Client(
        base_url=local_server.base_url, headers=local_server.headers, timeout=30
    ) as c:
        job = _job(c)
        assert job["status"] == "succeeded", job
        assert (job["cis_done"], job["cis_total"]) == (14, 14)
        counts = job["counts"]
        assert isinstance(counts, dict)
        assert counts["created"] == 14 and counts["relations_added"] == 20

        def found() -> bool:
            r = c.get("/v1/cis:search", params={"q": "rtr1", "type": "device"})
            return [ci["name"] for ci in r.json()["cis"]] == ["rtr1"]

        wait_for(found, timeout=20)  # index-ci took the CisImported event
        again = _job(c)
        counts = again["counts"]
        assert isinstance(counts, dict)
        assert counts["unchanged"] == 14 and counts["relations_existing"] == 20
