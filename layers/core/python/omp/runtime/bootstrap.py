"""One-off set-up used by the local runtime and by operators: seed an API key."""

from __future__ import annotations

from omp.runtime import container
from omp.services import auth


def seed_api_key(*, token: str, principal: str, roles: list[str], name: str = "bootstrap") -> None:
    """Store `token` (hashed) for `principal` with `roles`; runs in the authorizer's environment."""
    auth.store_key(
        token,
        principal=principal,
        roles=roles,
        name=name,
        now=container.clock().now(),
        keys=container.api_keys(),
    )
