"""Domain events: what a service tells the rest of the platform through the bus."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_SOURCE = re.compile(r"^omp\.[a-z]+$")
_DETAIL_TYPE = re.compile(r"^[A-Z][A-Za-z]+$")


@dataclass(frozen=True)
class DomainEvent:
    """`source` is `omp.<service>`; `detail_type` is PascalCase past tense (`AlarmRaised`)."""

    source: str
    detail_type: str
    detail: dict[str, Any]
    resources: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not _SOURCE.match(self.source) or not _DETAIL_TYPE.match(self.detail_type):
            raise ValueError(f"not a domain event name: {self.source} {self.detail_type}")
