"""Import jobs (NetBox): what `POST /v1/cmdb/imports/netbox` starts and
`GET /v1/cmdb/imports/{job_id}` reports."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from omp.domain.model import Model

ID_PREFIX = "imp"

JobStatus = Literal["queued", "running", "succeeded", "failed"]


class ImportJob(Model):
    id: str
    kind: Literal["netbox"] = "netbox"
    status: JobStatus
    object_key: str = Field(description="where the uploaded file is kept (the imports bucket)")
    counts: dict[str, int] = Field(default_factory=dict)
    error: str | None = None
    created_by: str
    created_at: str
    updated_at: str


class ImportJobResponse(Model):
    job: ImportJob
