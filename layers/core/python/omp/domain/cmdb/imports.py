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
    cis_total: int | None = Field(
        default=None, description="CIs the file maps to (known once the file is read)"
    )
    cis_done: int = Field(
        default=0,
        description="CIs processed so far (saved after every 500); a run cut short by its "
        "time limit goes on from here",
    )
    error: str | None = None
    created_by: str
    created_at: str
    updated_at: str


class ImportJobResponse(Model):
    job: ImportJob
