"""LocalPlatform: the whole platform in one process: moto, handlers, gateway, pollers, schedules."""

from __future__ import annotations

import contextlib
import copy
import logging
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import httpx
from boto3.session import Session
from moto.core.config import default_user_config
from moto.moto_server.threaded_moto_server import ThreadedMotoServer

from infra import wiring
from infra.local import dynamodb, lambdas, names, patterns, resources, snapshot, stepfunctions
from infra.local.events import EventRouter
from infra.local.gateway import Gateway, GatewayServer
from infra.local.invoker import Invocation, Invoker
from infra.local.pollers import DeliveryPoller, QueuePoller
from infra.local.scheduler import Scheduler, scheduled_event

log = logging.getLogger("omp.local")

MOTO_CONFIG = {"stepfunctions": {"execute_state_machine": True}, "lambda": {"use_docker": False}}
SeedApiKey = Callable[..., Any]
REPO_ROOT = Path(__file__).resolve().parents[2]


def _default_seed(**kwargs: Any) -> Any:
    from omp.runtime import bootstrap  # written alongside the authorizer

    return bootstrap.seed_api_key(**kwargs)


class LocalPlatform:
    """Start with `start()`, stop with `stop()`; `base_url` and `token` say how to call it."""

    def __init__(
        self,
        catalog: wiring.Catalog | ModuleType | str = "infra.wiring",
        *,
        functions_dir: Path | None = None,
        token: str | None = None,
        host: str = "127.0.0.1",
        data_dir: Path | None = None,
        seed_api_key: SeedApiKey | None = _default_seed,
        schedules: bool = True,
        visibility_timeout_s: int = 2,
        persist: bool = True,
    ) -> None:
        self.catalog = (
            catalog if isinstance(catalog, wiring.Catalog) else wiring.Catalog.from_module(catalog)
        )
        self.functions_dir = functions_dir or REPO_ROOT / "functions"
        self.token = token or secrets.token_urlsafe(32)
        self.host = host
        self.data_dir = (data_dir or REPO_ROOT / ".local").resolve()
        self._seed = seed_api_key
        self._schedules = schedules
        self._visibility = visibility_timeout_s
        self._persist = persist  # DynamoDB items saved to data_dir on stop, loaded on start
        self._moto: ThreadedMotoServer | None = None
        self._gateway: GatewayServer | None = None
        self._threads: list[QueuePoller | DeliveryPoller | Scheduler] = []
        self._saved_env: dict[str, str | None] = {}
        self._stopped = threading.Event()
        self.moto_url = ""
        self._moto_config: dict[str, Any] = {}
        self.resources = resources.Resources()
        self.invoker: Invoker | None = None
        self.events: EventRouter | None = None
        self.session: Session | None = None

    # ---- life cycle ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        if self._gateway is None:
            raise RuntimeError("not started")
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"http://{host}:{self._gateway.port}"

    def start(self, port: int = 0) -> LocalPlatform:
        started = time.perf_counter()
        local_only = self.host in ("127.0.0.1", "localhost", "::1")
        gateway = Gateway(self, require_token_for_local=None if local_only else self.token)
        self._gateway = GatewayServer(self.host, port, gateway)  # bind first: fail fast if taken
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self._start_moto()
        self.session = boto3.session.Session()
        self.resources = resources.create_all(self.catalog, self.session)
        if self._persist:
            restored = snapshot.restore(self.session, self.resources.tables, self.data_dir)
            log.info("restored %d DynamoDB items from %s", restored, self.data_dir / snapshot.FILE)
        environments = resources.function_environments(self.catalog, self.resources)
        self.invoker = Invoker(self.catalog, environments, self.functions_dir)
        lambdas.install()
        patterns.install()
        stepfunctions.install()
        dynamodb.install()  # transactions back up items, not whole tables
        for fn in self.catalog.functions:
            lambdas.register(names.physical(fn.name), self._runner(fn.name))
        self.events = EventRouter(self.catalog, self.session, self.resources)
        deliveries = self.events.setup()
        try:
            self.seed_api_key(self.token, "local-admin", ["admin"])
        except (ImportError, AttributeError) as exc:
            log.warning("cannot seed the API token (%s): authorized routes will answer 401", exc)
        for fn in self.catalog.functions:
            if isinstance(fn.trigger, wiring.QueueTrigger):
                q = fn.trigger
                self._threads.append(
                    QueuePoller(
                        self.session,
                        fn.name,
                        self.resources.queue_urls[q.queue],
                        self.resources.queue_arns[q.queue],
                        q.batch_size,
                        q.max_batching_window_s,
                        self.invoke,
                        self._visibility,
                    )
                )
        for delivery in deliveries:
            self._threads.append(
                DeliveryPoller(self.session, delivery, self.invoke, self._visibility)
            )
        if self._schedules:
            self._threads.append(Scheduler(list(self.catalog.functions), self.invoke))
        for thread in self._threads:
            thread.start()
        self._gateway.start()
        log.info(
            "om-platform local runtime on %s (%d functions, moto at %s) in %.2f s",
            self.base_url,
            len(self.catalog.functions),
            self.moto_url,
            time.perf_counter() - started,
        )
        return self

    def _start_moto(self) -> None:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request lines
        port = _free_port()
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self._moto.start()
        self.moto_url = f"http://127.0.0.1:{port}"
        self._set_env(
            {
                "AWS_ENDPOINT_URL": self.moto_url,
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_SESSION_TOKEN": "testing",
                "AWS_DEFAULT_REGION": names.REGION,
                "AWS_REGION": names.REGION,
                "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
                "MOTO_PORT": str(port),  # moto's Step Functions interpreter calls Lambda here
                "OMP_DATA_DIR": str(self.data_dir),
                "OMP_GRAPH_PATH": str(self.data_dir / "graph.sqlite"),
                "OMP_SEARCH_PATH": str(self.data_dir / "search.sqlite"),
            }
        )
        for key in ("AWS_PROFILE", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE"):
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ.pop(key, None)
        self._moto_config = copy.deepcopy(
            {k: v for k, v in default_user_config.items() if k in MOTO_CONFIG}
        )
        # moto's backends are process-wide: start from empty ones, then switch execution on
        httpx.post(f"{self.moto_url}/moto-api/reset", timeout=10).raise_for_status()
        httpx.post(
            f"{self.moto_url}/moto-api/config", json=MOTO_CONFIG, timeout=10
        ).raise_for_status()

    def _set_env(self, values: dict[str, str]) -> None:
        for key, value in values.items():
            self._saved_env.setdefault(key, os.environ.get(key))
            os.environ[key] = value

    def seed_api_key(self, token: str, principal: str, roles: list[str]) -> None:
        """Store an API key the authorizer accepts (runs in the authorizer's environment)."""
        authorizer = self.catalog.authorizer()
        if authorizer is None or self._seed is None or self.invoker is None:
            return
        from omp.runtime import env

        with env.overlay(self.invoker.environments[authorizer.name]):
            self._seed(token=token, principal=principal, roles=roles)

    def stop(self) -> None:
        if self._stopped.is_set():
            return
        self._stopped.set()
        if self._gateway is not None:
            self._gateway.stop()
        for thread in self._threads:
            thread.stop()
        for thread in self._threads:
            thread.join(timeout=3)
        for fn in self.catalog.functions:
            lambdas.unregister(names.physical(fn.name))
        if self._persist and self.session is not None:
            try:
                saved = snapshot.save(self.session, self.resources.tables, self.data_dir)
                log.info("saved %d DynamoDB items to %s", saved, self.data_dir / snapshot.FILE)
            except Exception as exc:  # a failed snapshot must not block the shutdown
                log.warning("could not save the DynamoDB snapshot: %s", exc)
        if self._moto is not None:
            with contextlib.suppress(httpx.HTTPError):  # leave moto's process-wide config as found
                httpx.post(f"{self.moto_url}/moto-api/config", json=self._moto_config, timeout=5)
            self._moto.stop()
        for key, value in self._saved_env.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        log.info("om-platform local runtime stopped")

    def __enter__(self) -> LocalPlatform:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ---- operations -----------------------------------------------------------------------------

    def _runner(self, name: str) -> Callable[[Any], Any]:
        return lambda event: self.invoke(name, event, "lambda")

    def invoke(self, name: str, event: Any, source: str = "invoke") -> Any:
        if self.invoker is None:
            raise RuntimeError("not started")
        return self.invoker.invoke(name, event, source)

    def put_event(self, event: dict[str, Any]) -> dict[str, Any]:
        if self.events is None:
            raise RuntimeError("not started")
        return self.events.put_event(event)

    def tick(self, name: str) -> Any:
        return self.invoke(name, scheduled_event(name), "schedule")

    @property
    def history(self) -> list[Invocation]:
        return [] if self.invoker is None else list(self.invoker.history)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
