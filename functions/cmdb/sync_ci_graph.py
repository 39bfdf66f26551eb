"""EventBridge (CiCreated, CiChanged, CiRetired on the platform bus): keep the CI's graph vertex
in step and add the relations its attribute values imply (the types' derivation rules).
CisImported (a chunk of an import): the same for every CI it names, vertices in one commit.

Asynchronous on purpose: the CI writes stay out of the VPC and never wait for the graph."""

from typing import Any

from omp.api.cmdb import types
from omp.domain.cmdb.cis import Ci
from omp.runtime import container
from omp.services import topology


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # A malformed event raises: Lambda retries the async invocation, then its failure
    # destination keeps it.
    if event.get("detail-type") == "CisImported":
        from omp.services import cmdb_import

        ids = cmdb_import.changed_ids(event["detail"])
        derived = cmdb_import.sync_graph(
            ids,
            types=types(),
            repo=container.cis(),
            graph=container.graph(),
            events=container.publisher(),
            clock=container.clock(),
        )
        return {"ci_ids": len(ids), "derived": derived}
    ci = Ci.model_validate(event["detail"]["ci"])
    added = topology.sync_ci(
        ci,
        types=types(),
        repo=container.cis(),
        graph=container.graph(),
        events=container.publisher(),
        clock=container.clock(),
    )
    return {"ci_id": ci.id, "derived": [r.id for r in added]}
