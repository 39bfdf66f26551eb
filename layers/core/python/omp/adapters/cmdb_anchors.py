"""Anchoring CI history heads: which CIs changed (the cmdb table's gsi3 change index, and gsi2
for the first full pass) and the anchor objects in the Object Lock bucket.

gsi3 (written with every CI version, omp.adapters.dynamo_cmdb): `CICHG#<YYYY-MM-DDTHH>` /
`<updated_at>#<ci id>`: a CI sits in the hour bucket of its newest change, so a window of time
is one query per hour bucket, and a CI changed twice in a window appears once, at its newest.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from omp.adapters.aws import client, translate
from omp.adapters.dynamo import call, from_item
from omp.domain.cmdb.anchors import ANCHOR_PREFIX, HEAD_PREFIX, head_key
from omp.domain.errors import Conflict

_PROJECTION = "pk, version, head_hash, gsi3sk"


def _hours(after: str, upto: str) -> list[str]:
    start = datetime.fromisoformat(after[:13] + ":00:00+00:00")
    end = datetime.fromisoformat(upto[:13] + ":00:00+00:00")
    out = []
    while start <= end:
        out.append(start.strftime("%Y-%m-%dT%H"))
        start += timedelta(hours=1)
    return out


def _head(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "ci_id": str(values["pk"]).removeprefix("CI#"),
        "version": int(values["version"]),
        "head_hash": str(values.get("head_hash", "")),
    }


class DynamoCiChanges:
    """Reads only; the anchor function has read access to the cmdb table."""

    def __init__(self, table: str) -> None:
        self.table = table

    def changed(self, after: str, upto: str, limit: int) -> tuple[list[dict[str, Any]], str]:
        """Heads of the CIs whose newest change is in (after, upto], oldest first: at least
        `limit` of them (or all), whole milliseconds only; and the stamp read up to."""
        out: list[dict[str, Any]] = []
        for hour in _hours(after, upto):
            kwargs: dict[str, Any] = {
                "TableName": self.table,
                "IndexName": "gsi3",
                "KeyConditionExpression": "gsi3pk = :p AND gsi3sk BETWEEN :a AND :b",
                # "#~" sorts after every "#ci_..." suffix: a stamp is taken whole or not at all.
                "ExpressionAttributeValues": {
                    ":p": {"S": f"CICHG#{hour}"},
                    ":a": {"S": after + "#~"},
                    ":b": {"S": upto + "#~"},
                },
                "ProjectionExpression": _PROJECTION,
            }
            while True:
                page = call("query", **kwargs)
                for item in page.get("Items", []):
                    values = from_item(item)
                    stamp = str(values["gsi3sk"]).split("#", 1)[0]
                    if len(out) >= limit and stamp != out[-1]["at"]:
                        return out, out[-1]["at"]
                    out.append(_head(values) | {"at": stamp})
                last = page.get("LastEvaluatedKey")
                if not last:
                    break
                kwargs["ExclusiveStartKey"] = last
        return out, upto

    def all_cis(
        self, start_key: dict[str, Any] | None, limit: int
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """One page of every CI's head (gsi2, the first pass) and where the next one starts."""
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": "gsi2",
            "KeyConditionExpression": "gsi2pk = :p",
            "ExpressionAttributeValues": {":p": {"S": "CIS"}},
            "ProjectionExpression": "pk, version, head_hash",
            "Limit": limit,
        }
        if start_key:
            kwargs["ExclusiveStartKey"] = start_key
        page = call("query", **kwargs)
        return [_head(from_item(i)) for i in page.get("Items", [])], page.get("LastEvaluatedKey")


class S3AnchorStore:
    """Anchor and head objects. Objects are only ever created (IfNoneMatch); the bucket's
    default retention locks each one."""

    def __init__(self, bucket: str, workers: int = 16) -> None:
        self.bucket = bucket
        self.workers = workers

    def _get_json(self, key: str) -> dict[str, Any]:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            body = client("s3").get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc) from exc
        return json.loads(body)  # type: ignore[no-any-return]

    def _keys(self, prefix: str, limit: int, start_after: str | None = None) -> list[str]:
        from botocore.exceptions import BotoCoreError, ClientError

        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": prefix, "MaxKeys": limit}
        if start_after:
            kwargs["StartAfter"] = start_after
        try:
            page = client("s3").list_objects_v2(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise translate(exc) from exc
        return [str(o["Key"]) for o in page.get("Contents", [])]

    def _put(self, key: str, value: dict[str, Any], *, create_only: bool) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        kwargs: dict[str, Any] = {"IfNoneMatch": "*"} if create_only else {}
        try:
            client("s3").put_object(
                Bucket=self.bucket,
                Key=key,
                Body=json.dumps(value, separators=(",", ":"), sort_keys=True).encode(),
                ContentType="application/json",
                # Object Lock needs an integrity checksum on every PUT.
                ChecksumAlgorithm="SHA256",
                **kwargs,
            )
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "PreconditionFailed":
                raise Conflict(f"{key} exists", code="ANCHOR_EXISTS") from exc
            raise translate(exc) from exc
        except BotoCoreError as exc:
            raise translate(exc) from exc

    # ---- the anchor chain ----

    def latest(self) -> dict[str, Any] | None:
        keys = self._keys(ANCHOR_PREFIX, 1)
        return self._get_json(keys[0]) if keys else None

    def anchors(self, limit: int, start_after: str | None = None) -> list[dict[str, Any]]:
        """Anchors newest first."""
        keys = self._keys(ANCHOR_PREFIX, limit, start_after)
        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            return list(pool.map(self._get_json, keys))

    def put_anchor(self, anchor: dict[str, Any]) -> None:
        """Create the anchor; ANCHOR_EXISTS when another run wrote this number first (the
        anchors never fork)."""
        self._put(str(anchor["key"]), anchor, create_only=True)

    def put_heads(self, anchor: dict[str, Any]) -> None:
        """One small object per anchored CI, written before the anchor itself. A run stopped in
        between leaves heads that the next run writes again under the same keys: a new version
        of the object (the locked old one stays)."""
        seq, key, at = int(anchor["seq"]), str(anchor["key"]), str(anchor["at"])

        def put(entry: dict[str, Any]) -> None:
            value = entry | {"anchor_key": key, "seq": seq, "at": at}
            self._put(head_key(entry["ci_id"], seq), value, create_only=False)

        with ThreadPoolExecutor(max_workers=self.workers) as pool:
            list(pool.map(put, anchor["entries"]))

    # ---- per CI ----

    def latest_head(self, ci_id: str) -> dict[str, Any] | None:
        keys = self._keys(f"{HEAD_PREFIX}{ci_id}/", 1)
        return self._get_json(keys[0]) if keys else None
