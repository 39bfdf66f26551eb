"""Domain events: what a service tells the rest of the platform through the bus."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class DomainEvent(BaseModel):
    """`source` is `omp.<service>`; `detail_type` is PascalCase past tense (`AlarmRaised`)."""

    source: str = Field(pattern=r"^omp\.[a-z]+$")
    detail_type: str = Field(pattern=r"^[A-Z][A-Za-z]+$")
    detail: dict[str, Any]
    resources: list[str] = Field(default_factory=list)
