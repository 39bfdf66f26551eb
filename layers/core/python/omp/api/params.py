"""Query parameters every list route shares (validated by pydantic at the HTTP edge)."""

from __future__ import annotations

from datetime import datetime

from pydantic import ConfigDict, Field

from omp.domain.errors import ValidationFailed
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


def epoch_seconds(value: datetime | None, name: str) -> int | None:
    """A time query parameter (RFC 3339 or epoch seconds, parsed by pydantic) as epoch seconds;
    a time without an offset is refused (422 INVALID_TIME_RANGE) rather than guessed."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValidationFailed(
            f"{name} needs a time zone offset (RFC 3339) or epoch seconds",
            code="INVALID_TIME_RANGE",
            details=[{"loc": ["query", name], "msg": "no offset"}],
        )
    return int(value.timestamp())
