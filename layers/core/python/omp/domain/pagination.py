"""Lists: a page of items and an opaque continuation token."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from omp.domain.errors import BadRequest

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


@dataclass
class Page(Generic[T]):
    items: list[T] = field(default_factory=list)
    next_token: str | None = None


def encode_token(state: dict[str, Any]) -> str:
    raw = json.dumps(state, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token: str, *, required_keys: tuple[str, ...]) -> dict[str, Any]:
    """The state inside a token from `encode_token`; anything else is a 400, never a 500."""
    try:
        padded = token + "=" * (-len(token) % 4)
        state = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(
            "next_token is not a token this API issued", code="INVALID_NEXT_TOKEN"
        ) from exc
    if not isinstance(state, dict) or any(key not in state for key in required_keys):
        raise BadRequest("next_token is not a token this API issued", code="INVALID_NEXT_TOKEN")
    return state
