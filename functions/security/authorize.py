"""The API's one Lambda REQUEST authorizer: who is calling (401 if nobody we know).

What the caller may do is decided per route by the handler from the roles passed on here, so a
cached authorizer result (keyed on the token) is valid for every route.
"""

from typing import Any

from omp.domain.errors import Unauthorized
from omp.runtime import container, env
from omp.services import auth


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    try:
        token = auth.bearer(headers.get("authorization"))
        principal = auth.authenticate(
            token, keys=container.api_keys(), verify_jwt=container.jwt_verifier()
        )
    except Unauthorized:
        # API Gateway answers 401 (its UNAUTHORIZED gateway response) for exactly this message.
        raise Exception("Unauthorized") from None
    arn = str(event.get("methodArn", ""))
    api_arn = "/".join(arn.split("/")[:2]) if "/" in arn else arn
    return {
        "principalId": principal.id,
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": f"{api_arn}/*"}
            ],
        },
        "context": {
            "principal": principal.id,
            "roles": ",".join(sorted(principal.roles)),
            "source": principal.attributes.get("source", ""),  # an integration key's scope
            # the key's generic fingerprint label set, comma-separated ("" = none)
            "fingerprint_labels": principal.attributes.get(auth.FINGERPRINT_LABELS, ""),
            "stage": env.get("OMP_STAGE") or "",
        },
    }
