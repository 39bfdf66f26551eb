import time

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from omp.adapters import cognito
from omp.adapters.memory import FixedClock, MemoryApiKeyStore
from omp.domain import access
from omp.domain.access import Principal
from omp.domain.errors import Forbidden, Unauthorized, ValidationFailed
from omp.services import auth


@pytest.mark.parametrize(
    ("roles", "permission", "allowed"),
    [
        ({"admin"}, "alarms:write", True),
        ({"admin"}, "anything:else", True),
        ({"viewer"}, "alarms:read", True),
        ({"viewer"}, "alarms:write", False),
        ({"viewer"}, "audit:read", False),
        ({"operator"}, "audit:read", True),
        ({"operator"}, "alarms:write", True),
        ({"operator"}, "keys:write", False),
        ({"integration"}, "alarms:read", False),
        (set(), "alarms:read", False),
        (set(), "public", True),
        ({"no-such-role"}, "alarms:read", False),
    ],
)
def test_role_grants(roles, permission, allowed):
    assert access.allows(roles, permission) is allowed


def test_require_raises_forbidden_with_the_permission():
    with pytest.raises(Forbidden) as err:
        access.require(Principal("bob", frozenset({"viewer"})), "alarms:write")
    assert err.value.details["permission"] == "alarms:write"


@pytest.mark.parametrize("header", [None, "", "Basic abc", "Bearer", "Bearer   "])
def test_bearer_header_is_required(header):
    with pytest.raises(Unauthorized):
        auth.bearer(header)


def test_api_keys_are_stored_hashed_and_revocable():
    keys = MemoryApiKeyStore()
    auth.store_key(
        "s3cret", principal="ci", roles=["operator"], name="ci", now=FixedClock().now(), keys=keys
    )
    assert "s3cret" not in str(keys.keys)
    who = auth.authenticate("s3cret", keys=keys, verify_jwt=None)
    assert who == Principal("ci", frozenset({"operator"}))
    with pytest.raises(Unauthorized):
        auth.authenticate("wrong", keys=keys, verify_jwt=None)
    keys.keys[auth.hash_key("s3cret")]["revoked"] = True
    with pytest.raises(Unauthorized):
        auth.authenticate("s3cret", keys=keys, verify_jwt=None)
    with pytest.raises(ValidationFailed):
        auth.store_key(
            "x", principal="p", roles=["root"], name="n", now=FixedClock().now(), keys=keys
        )


@pytest.fixture
def signing_key(monkeypatch):
    private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    class Jwks:
        def get_signing_key_from_jwt(self, token):
            return type("K", (), {"key": private.public_key()})()

    monkeypatch.setattr(cognito, "_jwks", lambda issuer: Jwks())
    return private


ISSUER = "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_pool"


def _token(key, **claims):
    body = {
        "sub": "u-1",
        "username": "alice",
        "iss": ISSUER,
        "exp": int(time.time()) + 60,
        "token_use": "access",
        "client_id": "app",
        "cognito:groups": ["operator", "bogus"],
    }
    return jwt.encode({**body, **claims}, key, algorithm="RS256")


def test_cognito_access_token_maps_groups_to_roles(signing_key):
    verifier = cognito.CognitoVerifier(ISSUER, "app")
    who = auth.authenticate(_token(signing_key), keys=MemoryApiKeyStore(), verify_jwt=verifier)
    assert who == Principal("alice", frozenset({"operator"}))


@pytest.mark.parametrize(
    "claims",
    [
        {"exp": int(time.time()) - 5},
        {"iss": "https://evil"},
        {"token_use": "id"},
        {"client_id": "other"},
    ],
)
def test_cognito_rejects_bad_tokens(signing_key, claims):
    verifier = cognito.CognitoVerifier(ISSUER, "app")
    with pytest.raises(Unauthorized):
        auth.authenticate(
            _token(signing_key, **claims), keys=MemoryApiKeyStore(), verify_jwt=verifier
        )


def test_jwt_refused_where_no_pool_is_configured(signing_key):
    with pytest.raises(Unauthorized):
        auth.authenticate(_token(signing_key), keys=MemoryApiKeyStore(), verify_jwt=None)
