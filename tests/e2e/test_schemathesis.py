"""Property-based requests from the served OpenAPI document: no input may cause a 5xx."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.e2e.conftest import LocalServer

ROOT = Path(__file__).resolve().parents[2]
MIN_REQUESTS = 300


def test_no_server_errors(local_server: LocalServer, tmp_path: Path) -> None:
    har = tmp_path / "requests.har"
    cmd = [
        str(Path(sys.executable).parent / "st"),
        "run",
        f"{local_server.base_url}/v1/openapi.json",
        "--url",
        local_server.base_url,
        "--header",
        f"Authorization: Bearer {local_server.token}",
        "--checks",
        "not_a_server_error",
        "--phases",
        "examples,fuzzing",  # the coverage phase adds ~900 requests and a minute
        "--max-examples",
        "15",  # x 73 operations: about 1,500 requests, 2-4 minutes on 2 shared cores
        "--seed",
        "20260101",
        "--workers",
        "1",  # Hypothesis' lambda-source cache is not thread-safe on 3.11 (AST depth errors)
        "--no-shrink",
        "--request-timeout",
        "15",
        "--suppress-health-check",
        "all",
        "--report",
        "har",
        "--report-har-path",
        str(har),
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=480, cwd=tmp_path, env=env)
    output = proc.stdout + proc.stderr
    entries = json.loads(har.read_text())["log"]["entries"] if har.exists() else []
    statuses = [e["response"]["status"] for e in entries]
    server_errors = [
        (e["request"]["method"], e["request"]["url"], e["response"]["status"])
        for e in entries
        if e["response"]["status"] >= 500
    ]
    assert not server_errors, f"{server_errors[:10]}\n{output[-4000:]}"
    assert proc.returncode == 0, output[-6000:]
    assert len(statuses) >= MIN_REQUESTS, f"only {len(statuses)} requests\n{output[-2000:]}"
