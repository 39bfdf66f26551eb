"""Integration keys: long-lived bearer tokens for webhooks and automation.

The token is shown once, at creation; only its SHA-256 hash is stored. A key may be scoped to
one alert source, so a leaked Grafana key cannot post as CloudWatch.
"""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import ConfigDict, Field, StringConstraints

from omp.domain.model import Model
from omp.domain.signals import INGEST_SOURCES

ID_PREFIX = "ik"
TOKEN_PREFIX = "omp_"
ANY_SOURCE: Final = "*"
# Keys are for machines: they can never carry the admin role.
GRANTABLE_ROLES = ("integration", "operator", "viewer", "auditor")

Source = Literal["cloudwatch", "alertmanager", "grafana", "pagerduty", "generic", "*"]
Role = Literal["integration", "operator", "viewer", "auditor"]
assert set(Source.__args__) == {*INGEST_SOURCES, ANY_SOURCE}  # type: ignore[attr-defined]

# A label name in a key's `fingerprint_labels`: no commas or spaces (the authorizer passes the
# list on as one comma-separated string).
LabelName = Annotated[str, StringConstraints(pattern=r"^[^,\s]{1,128}$")]
MAX_FINGERPRINT_LABELS = 20


class CreateIntegrationKey(Model):
    """The body of `POST /v1/integration-keys`."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]
    source: Source = Field(default="*", description="The one source it may post as (* = any)")
    roles: list[Role] = Field(default=["integration"], min_length=1, max_length=4)
    fingerprint_labels: list[LabelName] | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_FINGERPRINT_LABELS,
        description="Generic alerts posted with this key that carry no `fingerprint` (and no "
        "`fingerprint_labels` of their own) are identified by these labels (`name` and "
        "`resource` mean those fields); see docs/sources.md",
    )


class IntegrationKey(Model):
    id: str
    name: str
    source: str
    roles: list[str]
    principal: str
    hint: str = Field(description="The last 4 characters of the token, to tell keys apart")
    created_at: str
    created_by: str
    revoked: bool = False
    revoked_at: str | None = None
    revoked_by: str | None = None
    fingerprint_labels: list[str] | None = None


class CreatedIntegrationKey(IntegrationKey):
    key: str = Field(description="The bearer token: shown this once, stored only as a hash")


class IntegrationKeyResponse(Model):
    integration_key: IntegrationKey


class CreatedIntegrationKeyResponse(Model):
    integration_key: CreatedIntegrationKey


class IntegrationKeyList(Model):
    integration_keys: list[IntegrationKey]
    next_token: str | None = None
