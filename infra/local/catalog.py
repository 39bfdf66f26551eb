"""A typed view over a wiring catalog module (infra.wiring by default, a fixture in tests)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import cast

from infra import wiring

REPO_ROOT = Path(__file__).resolve().parents[2]

Environment = Callable[[wiring.Function, wiring.ResourceResolver, str], dict[str, str]]


@dataclass(frozen=True)
class Catalog:
    """Everything the local runtime reads from a catalog, and where the handlers live."""

    tables: tuple[wiring.Table, ...]
    queues: tuple[wiring.Queue, ...]
    buses: tuple[wiring.Bus, ...]
    topics: tuple[wiring.Topic, ...]
    buckets: tuple[wiring.Bucket, ...]
    state_machines: tuple[wiring.StateMachine, ...]
    functions: tuple[wiring.Function, ...]
    queue_rules: tuple[tuple[str, str, Mapping[str, object]], ...]
    platform_bus: str
    default_bus: str
    environment: Environment
    functions_dir: Path

    @classmethod
    def from_module(cls, module: ModuleType | str, functions_dir: Path | None = None) -> Catalog:
        mod = importlib.import_module(module) if isinstance(module, str) else module
        validate = getattr(mod, "validate", None)
        if callable(validate):
            validate()
        return cls(
            tables=tuple(getattr(mod, "TABLES", ())),
            queues=tuple(getattr(mod, "QUEUES", ())),
            buses=tuple(getattr(mod, "BUSES", ())),
            topics=tuple(getattr(mod, "TOPICS", ())),
            buckets=tuple(getattr(mod, "BUCKETS", ())),
            state_machines=tuple(getattr(mod, "STATE_MACHINES", ())),
            functions=tuple(mod.FUNCTIONS),
            queue_rules=tuple(getattr(mod, "QUEUE_RULES", ())),
            platform_bus=str(getattr(mod, "PLATFORM_BUS", wiring.PLATFORM_BUS)),
            default_bus=str(getattr(mod, "DEFAULT_BUS", wiring.DEFAULT_BUS)),
            environment=cast(Environment, getattr(mod, "environment", wiring.environment)),
            functions_dir=functions_dir or REPO_ROOT / "functions",
        )

    def function(self, name: str) -> wiring.Function:
        for fn in self.functions:
            if fn.name == name:
                return fn
        raise KeyError(name)

    def authorizer(self) -> wiring.Function | None:
        for fn in self.functions:
            if isinstance(fn.trigger, wiring.Authorizer):
                return fn
        return None

    def queue(self, name: str) -> wiring.Queue:
        for queue in self.queues:
            if queue.name == name:
                return queue
        raise KeyError(name)
