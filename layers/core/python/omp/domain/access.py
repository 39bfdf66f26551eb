"""Who may do what: roles (Cognito groups, integration-key roles) grant permissions.

A permission is `<resource>:<action>` (`alarms:write`). Role grants are patterns: `*` matches
everything, `*:read` every read. The decision is a pure function so the authorizer, the
handlers and the tests share it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from fnmatch import fnmatchcase

from omp.domain.errors import Forbidden

ROLE_GRANTS: dict[str, tuple[str, ...]] = {
    "admin": ("*",),
    "operator": (
        "*:read",
        "alarms:write",
        "incidents:write",
        "silences:write",  # silences, maintenance windows, inhibition rules
        "tickets:write",
        "runbooks:run",
    ),
    "viewer": (
        "alarms:read",
        "incidents:read",
        "silences:read",
        "cis:read",
        "metrics:read",
        "tickets:read",
    ),
    "auditor": ("audit:read",),
    "integration": ("ingest:write",),
}
ROLES = frozenset(ROLE_GRANTS)
PUBLIC = "public"


@dataclass(frozen=True)
class Principal:
    id: str
    roles: frozenset[str]
    attributes: dict[str, str] = field(default_factory=dict)


def allows(roles: Iterable[str], permission: str) -> bool:
    if permission == PUBLIC:
        return True
    return any(
        fnmatchcase(permission, grant) for role in roles for grant in ROLE_GRANTS.get(role, ())
    )


def require(principal: Principal, permission: str) -> None:
    if not allows(principal.roles, permission):
        raise Forbidden(
            f"{principal.id} lacks the permission {permission}",
            details={"permission": permission, "roles": sorted(principal.roles)},
        )
