"""Integration keys: create (the token is returned once), list, revoke."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from omp.domain.errors import NotFound
from omp.domain.ids import is_id, new_id
from omp.domain.keys import (
    ID_PREFIX,
    TOKEN_PREFIX,
    CreatedIntegrationKey,
    CreateIntegrationKey,
    IntegrationKey,
)
from omp.domain.pagination import Page
from omp.domain.timeutil import iso
from omp.services.auth import hash_key

if TYPE_CHECKING:  # ports are types only
    from omp.ports import Clock, IntegrationKeyStore


def _public(record: dict[str, Any]) -> IntegrationKey:
    return IntegrationKey.model_validate(
        {k: v for k, v in record.items() if k in IntegrationKey.model_fields}
    )


def create_key(
    request: CreateIntegrationKey, *, actor: str, store: IntegrationKeyStore, clock: Clock
) -> CreatedIntegrationKey:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    key_id = new_id(ID_PREFIX)
    record = {
        "id": key_id,
        "name": request.name,
        "source": request.source,
        "roles": sorted(set(request.roles)),
        "principal": f"key:{request.name}",
        "hint": token[-4:],
        "created_at": iso(clock.now()),
        "created_by": actor,
        "revoked": False,
    }
    if request.fingerprint_labels:
        # Sorted and unique: the fingerprint does not depend on their order.
        record["fingerprint_labels"] = sorted(set(request.fingerprint_labels))
    store.create(hash_key(token), record)
    return CreatedIntegrationKey(**_public(record).model_dump(), key=token)


def list_keys(
    *, limit: int, next_token: str | None, store: IntegrationKeyStore
) -> Page[IntegrationKey]:
    page = store.list(limit, next_token)
    return Page([_public(r) for r in page.items], page.next_token)


def revoke_key(
    key_id: str, *, actor: str, store: IntegrationKeyStore, clock: Clock
) -> IntegrationKey:
    if not is_id(key_id, ID_PREFIX):
        raise NotFound(f"integration key {key_id} does not exist", code="KEY_NOT_FOUND")
    changes = {"revoked": True, "revoked_at": iso(clock.now()), "revoked_by": actor}
    return _public(store.revoke(key_id, changes))
