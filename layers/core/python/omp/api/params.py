"""Query parameters every list route shares (validated by pydantic at the HTTP edge)."""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict, Field

from omp.domain.model import Model
from omp.domain.pagination import DEFAULT_LIMIT, MAX_LIMIT


class ListParams(Model):
    """Query parameters every list takes: the time window and the page."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    start: datetime | None = Field(
        default=None, alias="from", description="RFC 3339; default: 30 days before `to`"
    )
    end: datetime | None = Field(default=None, alias="to", description="RFC 3339; default: now")
    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT)
    next_token: str | None = Field(default=None, max_length=4096)
