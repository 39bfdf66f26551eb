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


def merge_keyed(
    stored: list[tuple[str, T]],
    stored_more: bool,
    extra: list[tuple[str, T]],
    *,
    after: str,
    limit: int,
) -> tuple[list[T], str | None]:
    """One page of two key-ordered sources merged: `stored`, a page read from the store (keys
    ascending, all after `after`; `stored_more` when the store holds more past it), and
    `extra`, a few items kept elsewhere (any order). Returns the page and the key to resume
    after (None: the end). An extra item whose key a stored one has is dropped (the stored
    one wins); extra items past the last stored key wait while the store has more, so no
    page skips one of them."""
    if limit < 1:
        raise ValueError("a page holds at least one item")
    seen = {key for key, _ in stored}
    bound = (stored[-1][0] if stored else after) if stored_more else None
    waiting = {  # one per key, the first given
        key: item
        for key, item in reversed(extra)
        if key > after and key not in seen and (bound is None or key < bound)
    }
    candidates = list(stored) + list(waiting.items())
    candidates.sort(key=lambda pair: pair[0])
    page = candidates[:limit]
    more = stored_more or len(candidates) > limit
    return [item for _, item in page], ((page[-1][0] if page else after) if more else None)
