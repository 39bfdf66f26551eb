"""The `cmdb-anchors` bucket: Object Lock per stage, and put-only grants (never delete)."""

from __future__ import annotations

import json

from tests.infra.checks import lambda_by_name, role_statements
from tests.infra.synth import Synth


def _anchor_bucket(s: Synth) -> dict:
    found = [
        res for _, lid, res in s.resources("AWS::S3::Bucket") if lid.startswith("BucketCmdbAnchors")
    ]
    assert len(found) == 1, [lid for _, lid, _ in s.resources("AWS::S3::Bucket")]
    return found[0]["Properties"]


def test_anchor_bucket_is_locked_per_stage(dev: Synth, prod: Synth) -> None:
    for s, mode, days in ((dev, "GOVERNANCE", 7), (prod, "COMPLIANCE", 365)):
        props = _anchor_bucket(s)
        assert props["ObjectLockEnabled"] is True
        rule = props["ObjectLockConfiguration"]["Rule"]["DefaultRetention"]
        assert rule == {"Mode": mode, "Days": days}
        assert props["VersioningConfiguration"] == {"Status": "Enabled"}
        assert "LifecycleConfiguration" not in props  # anchors never expire
        enc = props["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert enc["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
    other = next(
        res["Properties"]
        for _, lid, res in dev.resources("AWS::S3::Bucket")
        if lid.startswith("BucketCmdbImports")
    )
    assert "ObjectLockEnabled" not in other


def _actions(s: Synth, name: str) -> set[str]:
    stack, _, res = lambda_by_name(s, f"omp-dev-{name}")[0]
    out: set[str] = set()
    for st in role_statements(s, stack, res)[0]:
        if "anchors" in json.dumps(st.get("Resource")) and st.get("Effect") == "Allow":
            actions = st["Action"]
            out |= {actions} if isinstance(actions, str) else set(actions)
    return out


def test_anchor_writer_can_put_and_read_but_never_delete(dev: Synth) -> None:
    writer = _actions(dev, "anchor-ci-history")
    assert "s3:PutObject" in writer and "s3:PutObjectRetention" in writer
    assert not any(a.startswith("s3:Delete") for a in writer)
    assert not any("BypassGovernance" in a for a in writer)
    for reader in ("verify-ci-history", "verify-history-anchors"):
        actions = _actions(dev, reader)
        assert actions and not any(a.startswith(("s3:Put", "s3:Delete")) for a in actions)
