"""Authentication: a bearer token becomes a principal with roles.

Two kinds of token: integration/API keys (random strings, stored only as SHA-256 hashes) and
Cognito JWTs for people (their `cognito:groups` are the roles).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from omp.domain.access import ROLES, Principal
from omp.domain.errors import Unauthorized, ValidationFailed
from omp.domain.timeutil import iso

if TYPE_CHECKING:  # ports are types only: importing them would load every model
    from omp.ports import ApiKeyStore

JwtVerifier = Callable[[str], dict[str, Any]]

# The principal attribute (and authorizer context key) carrying an integration key's
# `fingerprint_labels`, comma-separated.
FINGERPRINT_LABELS = "fingerprint_labels"


def hash_key(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def bearer(header: str | None) -> str:
    scheme, _, token = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("an `Authorization: Bearer <token>` header is required")
    return token.strip()


def _looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and token.startswith("eyJ")


def authenticate(token: str, *, keys: ApiKeyStore, verify_jwt: JwtVerifier | None) -> Principal:
    if _looks_like_jwt(token):
        if verify_jwt is None:
            raise Unauthorized("JWTs are not accepted here")
        claims = verify_jwt(token)  # raises Unauthorized
        roles = frozenset(g for g in claims.get("cognito:groups", []) if g in ROLES)
        return Principal(id=str(claims.get("username") or claims["sub"]), roles=roles)
    record = keys.find(hash_key(token))
    if record is None or record.get("revoked"):
        raise Unauthorized("unknown or revoked key")
    attributes = {"source": str(record["source"])} if record.get("source") else {}
    if record.get("fingerprint_labels"):
        attributes[FINGERPRINT_LABELS] = ",".join(str(x) for x in record["fingerprint_labels"])
    return Principal(
        id=str(record["principal"]), roles=frozenset(record.get("roles", [])), attributes=attributes
    )


def store_key(
    token: str, *, principal: str, roles: list[str], name: str, now: datetime, keys: ApiKeyStore
) -> None:
    unknown = sorted(set(roles) - ROLES)
    if unknown:
        raise ValidationFailed(
            f"unknown roles {unknown}", details=[{"loc": ["roles"], "msg": "unknown"}]
        )
    keys.put(
        hash_key(token),
        {
            "principal": principal,
            "roles": sorted(roles),
            "name": name,
            "created_at": iso(now),
            "revoked": False,
        },
    )
