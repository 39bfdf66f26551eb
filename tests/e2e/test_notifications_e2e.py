"""Notifications through the local runtime (`python -m infra.local`, the real catalog): a webhook
alert becomes an alarm, the bus event reaches the notifications queue and its consumer, the
flush tick posts to a local HTTP receiver whose URL is a Secrets Manager secret."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest

from infra.local import names
from tests.e2e.conftest import LocalServer, wait_for

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    not (ROOT / "functions" / "monitoring" / "flush_notifications.py").is_file(),
    reason="the notification functions are not in the tree",
)


class _Receiver(BaseHTTPRequestHandler):
    posts: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.posts.append(json.loads(body))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[list[dict[str, Any]], str]]:
    handler = type("Handler", (_Receiver,), {"posts": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield handler.posts, f"http://127.0.0.1:{server.server_address[1]}/hook"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LocalServer]:
    monkeypatch.setenv("OMP_NOTIFY_ALLOW_HTTP", "1")  # the receiver is plain http on loopback
    local = LocalServer(tmp_path)
    try:
        yield local
    finally:
        local.close()


def test_an_ingested_alert_is_delivered_to_a_webhook(server: LocalServer, receiver) -> None:
    posts, url = receiver
    moto = re.search(r"moto at (http://127\.0\.0\.1:\d+)", server.output())
    assert moto, server.output()
    secrets = boto3.client(
        "secretsmanager",
        endpoint_url=moto.group(1),
        region_name=names.REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    secrets.create_secret(Name=f"omp/{names.STAGE}/notify/hook", SecretString=url)
    with httpx.Client(base_url=server.base_url, headers=server.headers, timeout=30) as api:
        config = {
            "version": 0,
            "route": {"receiver": "hook", "group_by": ["alertname"], "group_wait": "0s"},
            "receivers": [
                {
                    "name": "hook",
                    "integrations": [
                        {
                            "type": "webhook",
                            "url_secret": {"secret_id": f"omp/{names.STAGE}/notify/hook"},
                        }
                    ],
                }
            ],
        }
        resp = api.put("/v1/notification-config", json=config)
        assert resp.status_code == 200, resp.text
        name = f"disk-{uuid.uuid4().hex[:8]}"
        alert = {
            "name": name,
            "status": "firing",
            "severity": "critical",
            "resource": "db-1",
            "fingerprint": name,
            "starts_at": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        }
        assert api.post("/v1/ingest/generic", json={"alerts": [alert]}).status_code == 202

        def delivered() -> list[dict[str, Any]]:
            api.post("/_local/tick/flush-notifications")
            return [p for p in posts if p["alerts"][0]["labels"].get("alertname") == name]

        (body,) = wait_for(delivered, timeout=30, interval=0.5)
        assert body["status"] == "firing" and body["receiver"] == "hook"
        listed = api.get("/v1/notifications", params={"receiver": "hook"}).json()
        assert [n["status"] for n in listed["notifications"]] == ["sent"]
