"""E2E fixtures: the fixture catalog in-process, and `python -m infra.local` as a subprocess."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from infra.local.platform import LocalPlatform
from tests.e2e.fixtures import catalog as fixture_catalog
from tests.e2e.fixtures import recording

ROOT = Path(__file__).resolve().parents[2]
FIXTURE_FUNCTIONS = Path(__file__).parent / "fixtures" / "functions"
READER_TOKEN = "reader-token"


@pytest.fixture(scope="package")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPlatform]:
    """The fixture catalog running in this process (package scope: its AWS env is restored after).
    Its data directory is new for every run: the runtime saves DynamoDB items there on stop and
    loads them on start, so a fixed directory carried one run's records into the next."""
    p = LocalPlatform(
        fixture_catalog,
        functions_dir=FIXTURE_FUNCTIONS,
        token="admin-token",
        seed_api_key=recording.seed_api_key,
        schedules=False,
        visibility_timeout_s=1,
        data_dir=tmp_path_factory.mktemp("omp-e2e-fixture"),
    )
    p.start()
    p.seed_api_key(READER_TOKEN, "reader", ["reader"])
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture
def client(platform: LocalPlatform) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=platform.base_url, timeout=30) as c:
        yield c


def wait_for(predicate: Callable[[], Any], timeout: float = 10.0, interval: float = 0.1) -> Any:
    """Poll until `predicate()` is truthy; return its value or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalServer:
    """`python -m infra.local` in a subprocess, on a free port, with a known token."""

    def __init__(self, data_dir: Path, token: str = "e2e-token") -> None:
        self.port = free_port()
        self.token = token
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / "server.log"
        env = {
            **os.environ,
            "OMP_PORT": str(self.port),
            "OMP_API_TOKEN": token,
            "OMP_DATA_DIR": str(data_dir),
            "PYTHONPATH": os.pathsep.join([str(ROOT), str(ROOT / "layers" / "core" / "python")]),
        }
        for key in ("AWS_ENDPOINT_URL", "MOTO_PORT"):
            env.pop(key, None)
        self._log = self.log_path.open("wb")
        self.started = time.monotonic()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "infra.local"],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        self.startup_s = self._wait_ready()

    def _wait_ready(self, timeout: float = 60) -> float:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"infra.local exited early:\n{self.output()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{self.base_url}/_local/functions", timeout=1).status_code == 200:
                    return time.monotonic() - self.started
            time.sleep(0.05)
        raise AssertionError(f"infra.local did not answer within {timeout} s:\n{self.output()}")

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def output(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")

    def interrupt(self, timeout: float = 10) -> tuple[int, float]:
        started = time.monotonic()
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout=timeout)
        return code, time.monotonic() - started

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


@pytest.fixture(scope="module")
def local_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalServer]:
    server = LocalServer(tmp_path_factory.mktemp("omp-local"))
    try:
        yield server
    finally:
        server.close()
