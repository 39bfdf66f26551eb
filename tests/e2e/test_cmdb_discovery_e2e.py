"""AWS Config discovery through `python -m infra.local`: a Config item change posted as an AWS
event reaches discover-config-item through the default-bus forward and becomes a CI (a
redelivery adds no version); a tick of reconcile-config asks the local Config (moto), which does
not record EC2 instances, so the CI (of the local account) is marked stale; the CMDB settings over HTTP."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx

from tests.e2e.conftest import LocalServer, wait_for

# the item as the local runtime's own account (moto's) records it: the AWS sample names another
# account, whose CIs this account's reconcile leaves alone (out of its scope)
SAMPLE = json.loads(
    (Path(__file__).resolve().parents[2] / "events" / "discover-config-item.json")
    .read_text()
    .replace('"0123456789012"', '"123456789012"')
    .replace(":0123456789012:", ":123456789012:")
)
ARN = SAMPLE["detail"]["configurationItem"]["ARN"]


def test_config_item_change_then_reconcile(local_server: LocalServer) -> None:
    with httpx.Client(
        base_url=local_server.base_url, headers=local_server.headers, timeout=30
    ) as c:

        def post() -> None:
            r = c.post("/_local/events", json=SAMPLE)
            assert r.status_code == 200, r.text
            assert r.json()["bus"] == "default"  # forwarded to the platform bus from there

        def the_ci() -> dict[str, object] | None:
            r = c.get("/v1/cis", params={"type": "ec2_instance", "attribute": "arn", "value": ARN})
            assert r.status_code == 200, r.text
            cis = r.json()["cis"]
            return cis[0] if cis else None

        post()
        ci = wait_for(the_ci, timeout=30)
        assert ci["name"] == "Minha" and ci["sources"] == ["aws-config"]
        assert ci["attributes"]["subnet_id"] == "subnet-cad1f2f4"  # type: ignore[index]
        post()  # a redelivery
        time.sleep(2)
        assert the_ci()["version"] == 1  # type: ignore[index]

        r = c.post("/_local/tick/reconcile-config")
        assert r.status_code == 200, r.text
        stale = wait_for(
            lambda: (the_ci() or {}).get("attributes", {}).get("stale_since"),  # type: ignore[union-attr]
            timeout=30,
        )
        assert stale
        r = c.get(f"/v1/cis/{ci['id']}/history/verify")
        assert r.status_code == 200 and r.json()["verification"]["valid"] is True

        r = c.get("/v1/cmdb/settings")
        assert r.status_code == 200 and r.json()["cmdb_settings"]["version"] == 0
        r = c.put("/v1/cmdb/settings", json={"version": 0, "stale_retire_after_hours": 1})
        assert r.status_code == 200, r.text
        assert r.json()["cmdb_settings"]["stale_retire_after_hours"] == 1
