"""The search port on Amazon OpenSearch Service (opensearch-py, SigV4).

UNTESTED against a real server: none can run here (docs/cmdb.md says so). It mirrors
`SqliteSearchIndex`: one OpenSearch index per logical index (`omp-<index>`), documents with a
`text` field (full text) and a `filter` object of keyword fields.
"""

from __future__ import annotations

import os
from typing import Any
from urllib.parse import urlparse

from omp.domain.errors import TransientError


class OpenSearchIndex:
    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self._client: Any = None

    def _os(self) -> Any:
        if self._client is None:
            import boto3
            from opensearchpy import OpenSearch, RequestsHttpConnection
            from requests_aws4auth import AWS4Auth

            creds: Any = boto3.Session().get_credentials()
            region = os.environ.get("AWS_REGION", "us-east-1")
            auth = AWS4Auth(
                creds.access_key, creds.secret_key, region, "es", session_token=creds.token
            )
            url = urlparse(self.endpoint)
            self._client = OpenSearch(
                hosts=[{"host": url.hostname, "port": url.port or 443}],
                http_auth=auth,
                use_ssl=True,
                verify_certs=True,
                connection_class=RequestsHttpConnection,
                timeout=5,
            )
        return self._client

    def _call(self, fn: Any, **kwargs: Any) -> Any:
        try:
            return fn(**kwargs)
        except Exception as exc:  # opensearch-py's errors share no base worth naming
            if type(exc).__name__ == "NotFoundError":
                return None
            raise TransientError(
                f"the search service failed ({type(exc).__name__})", code="SEARCH_UNAVAILABLE"
            ) from exc

    def put(self, index: str, doc_id: str, text: str, filters: dict[str, str]) -> None:
        self._call(
            self._os().index,
            index=f"omp-{index}",
            id=doc_id,
            body={"text": text, "filter": filters},
        )

    def put_many(self, index: str, docs: list[tuple[str, str, dict[str, str]]]) -> None:
        """Index many documents (doc_id, text, filters) with one _bulk request per 500."""
        for start in range(0, len(docs), 500):
            body: list[dict[str, Any]] = []
            for doc_id, text, filters in docs[start : start + 500]:
                body.append({"index": {"_index": f"omp-{index}", "_id": doc_id}})
                body.append({"text": text, "filter": filters})
            result = self._call(self._os().bulk, body=body)
            if isinstance(result, dict) and result.get("errors"):
                raise TransientError(
                    "the search service refused documents", code="SEARCH_UNAVAILABLE"
                )

    def delete(self, index: str, doc_id: str) -> None:
        self._call(self._os().delete, index=f"omp-{index}", id=doc_id)

    def search(
        self, index: str, text: str, filters: dict[str, str], limit: int
    ) -> list[tuple[str, float]]:
        query: dict[str, Any] = {
            "bool": {
                "must": [{"match": {"text": {"query": text, "operator": "and"}}}],
                "filter": [{"term": {f"filter.{k}.keyword": v}} for k, v in filters.items()],
            }
        }
        found = self._call(
            self._os().search, index=f"omp-{index}", body={"query": query, "size": limit}
        )
        hits = (found or {}).get("hits", {}).get("hits", [])
        return [(str(h["_id"]), float(h.get("_score") or 0)) for h in hits]
