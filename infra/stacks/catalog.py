"""The catalog as one value, so the stacks can be built from the real wiring module or from a
small test catalog (tests exercise code paths no production function uses yet)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType

from infra import wiring


@dataclass(frozen=True)
class Catalog:
    tables: tuple[wiring.Table, ...]
    queues: tuple[wiring.Queue, ...]
    buses: tuple[wiring.Bus, ...]
    topics: tuple[wiring.Topic, ...]
    buckets: tuple[wiring.Bucket, ...]
    state_machines: tuple[wiring.StateMachine, ...]
    functions: tuple[wiring.Function, ...]
    queue_rules: tuple[tuple[str, str, Mapping[str, object]], ...]

    @classmethod
    def from_module(cls, module: ModuleType = wiring) -> Catalog:
        return cls(
            tables=tuple(module.TABLES),
            queues=tuple(module.QUEUES),
            buses=tuple(module.BUSES),
            topics=tuple(module.TOPICS),
            buckets=tuple(module.BUCKETS),
            state_machines=tuple(module.STATE_MACHINES),
            functions=tuple(module.FUNCTIONS),
            queue_rules=tuple(module.QUEUE_RULES),
        )

    def table(self, name: str) -> wiring.Table:
        return next(t for t in self.tables if t.name == name)

    def queue(self, name: str) -> wiring.Queue:
        return next(q for q in self.queues if q.name == name)

    def function(self, name: str) -> wiring.Function:
        return next(f for f in self.functions if f.name == name)

    def services(self) -> list[str]:
        """Services that have functions, in catalog order of wiring.SERVICES."""
        used = {fn.service for fn in self.functions}
        return [s for s in wiring.SERVICES if s in used]

    def authorizer(self) -> wiring.Function | None:
        found = [fn for fn in self.functions if isinstance(fn.trigger, wiring.Authorizer)]
        if len(found) > 1:
            raise ValueError("exactly one authorizer function is allowed")
        return found[0] if found else None

    def check(self) -> None:
        """Checks the stacks rely on, beyond wiring.validate()."""
        for fn in self.functions:
            trigger = fn.trigger
            if isinstance(trigger, wiring.QueueTrigger):
                queue = self.queue(trigger.queue)
                if fn.timeout_s > queue.visibility_timeout_s:
                    raise ValueError(
                        f"{fn.name}: timeout {fn.timeout_s}s exceeds the visibility timeout "
                        f"{queue.visibility_timeout_s}s of queue {queue.name} (SQS rejects it)"
                    )
        if (
            any(isinstance(fn.trigger, wiring.HttpRoute) for fn in self.functions)
            and not self.authorizer()
        ):
            raise ValueError("HTTP routes need the authorizer function")
