"""Cognito access-token verification (RS256 against the user pool's JWKS)."""

from __future__ import annotations

import functools
from typing import Any

from omp.domain.errors import Unauthorized


@functools.cache
def _jwks(issuer: str) -> Any:
    import jwt

    return jwt.PyJWKClient(f"{issuer}/.well-known/jwks.json", cache_keys=True, lifespan=3600)


class CognitoVerifier:
    def __init__(self, issuer: str, client_id: str) -> None:
        self.issuer = issuer
        self.client_id = client_id

    def __call__(self, token: str) -> dict[str, Any]:
        import jwt

        try:
            key = _jwks(self.issuer).get_signing_key_from_jwt(token)
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=["RS256"],
                issuer=self.issuer,
                options={"require": ["exp", "iss", "sub", "token_use"], "verify_aud": False},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized(f"invalid token ({type(exc).__name__})") from exc
        # Access tokens carry client_id, not aud.
        if claims.get("token_use") != "access" or claims.get("client_id") != self.client_id:
            raise Unauthorized("not an access token for this API")
        return claims
