"""EventBridge (CiCreated, CiChanged, CiRetired on the platform bus): (re)index the CI for
full-text search (SQLite FTS5 locally, OpenSearch in AWS). CisImported (a chunk of an import):
every CI it names, in one bulk put."""

from typing import Any

from omp.runtime import container
from omp.services import cmdb


def lambda_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    # A malformed event raises: Lambda retries the async invocation, then its failure
    # destination keeps it.
    if event.get("detail-type") == "CisImported":
        from omp.services import cmdb_import

        ids = cmdb_import.changed_ids(event["detail"])
        count = cmdb_import.index_search(ids, repo=container.cis(), search=container.search())
        return {"ci_ids": len(ids), "indexed": count}
    ci_id = str(event["detail"]["ci"]["id"])
    indexed = cmdb.index_ci(ci_id, repo=container.cis(), search=container.search())
    return {"ci_id": ci_id, "indexed": indexed}
