"""Domain errors: each carries a stable code and the HTTP status the API maps it to.

Codes are part of the public contract and listed in docs/errors.md; never rename one.
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    status = 400
    code = "BAD_REQUEST"

    def __init__(
        self, message: str, *, code: str | None = None, details: Any | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.details = details


class BadRequest(DomainError):
    status = 400
    code = "BAD_REQUEST"


class Unauthorized(DomainError):
    status = 401
    code = "UNAUTHORIZED"


class Forbidden(DomainError):
    status = 403
    code = "FORBIDDEN"


class NotFound(DomainError):
    status = 404
    code = "NOT_FOUND"


class Conflict(DomainError):
    """A conditional write failed: a stale version, a duplicate, or a state that forbids it."""

    status = 409
    code = "CONFLICT"


class PayloadTooLarge(DomainError):
    status = 413
    code = "PAYLOAD_TOO_LARGE"


class ValidationFailed(DomainError):
    status = 422
    code = "VALIDATION_FAILED"


class RateLimited(DomainError):
    status = 429
    code = "RATE_LIMITED"


class TransientError(DomainError):
    """A dependency is throttling or unavailable; the client may retry."""

    status = 503
    code = "SERVICE_UNAVAILABLE"
