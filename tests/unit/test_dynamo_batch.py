"""omp.adapters.dynamo.batch_get / batch_write: 100 keys (25 writes) a call, what DynamoDB leaves
unprocessed asked again with backoff, bounded."""

from __future__ import annotations

from typing import Any

import pytest

from omp.adapters import dynamo
from omp.domain.errors import TransientError


def _key(i: int) -> dict[str, Any]:
    return {"pk": {"S": f"K#{i}"}, "sk": {"S": "X"}}


def test_chunks_of_100_and_unprocessed_keys_asked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []

    def fake(operation: str, **kwargs: Any) -> Any:
        spec = kwargs["RequestItems"]["t"]
        calls.append(spec)
        keys = spec["Keys"]
        served, left = keys[: len(keys) // 2 or 1], keys[len(keys) // 2 or 1 :]
        items = [{**k, "n": {"N": "1"}} for k in served]
        answer: dict[str, Any] = {"Responses": {"t": items}}
        if left:
            answer["UnprocessedKeys"] = {"t": {**spec, "Keys": left}}
        return answer

    monkeypatch.setattr(dynamo, "call", fake)
    monkeypatch.setattr(dynamo.time, "sleep", lambda s: None)
    got = dynamo.batch_get("t", [_key(i) for i in range(150)], consistent=True, projection="pk")
    assert sorted(i["pk"] for i in got) == sorted(f"K#{i}" for i in range(150))
    assert [len(c["Keys"]) for c in calls][:2] == [100, 50]
    assert all(c["ConsistentRead"] and c["ProjectionExpression"] == "pk" for c in calls)


def test_keys_left_unprocessed_eight_times_are_a_transient_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    attempts: list[int] = []

    def throttled(operation: str, **kwargs: Any) -> Any:
        attempts.append(1)
        return {"Responses": {"t": []}, "UnprocessedKeys": kwargs["RequestItems"]}

    monkeypatch.setattr(dynamo, "call", throttled)
    monkeypatch.setattr(dynamo.time, "sleep", lambda s: None)
    with pytest.raises(TransientError):
        dynamo.batch_get("t", [_key(1)])
    assert len(attempts) == dynamo.BATCH_GET_ATTEMPTS


def _put(i: int) -> dict[str, Any]:
    return {"PutRequest": {"Item": _key(i)}}


def test_batch_write_sends_25_a_call_and_retries_what_is_left(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sent: list[int] = []
    written: list[dict[str, Any]] = []

    def fake(operation: str, **kwargs: Any) -> Any:
        assert operation == "batch_write_item"
        requests = kwargs["RequestItems"]["t"]
        sent.append(len(requests))
        done, left = requests[: len(requests) // 2 or 1], requests[len(requests) // 2 or 1 :]
        written.extend(done)
        return {"UnprocessedItems": {"t": left}} if left else {}

    slept: list[float] = []
    monkeypatch.setattr(dynamo, "call", fake)
    monkeypatch.setattr(dynamo.time, "sleep", slept.append)
    dynamo.batch_write("t", [_put(i) for i in range(30)])
    assert sorted(r["PutRequest"]["Item"]["pk"]["S"] for r in written) == sorted(
        f"K#{i}" for i in range(30)
    )
    assert sent[0] == 25 and max(sent) == 25
    assert slept[:2] == [0.05, 0.1]  # exponential backoff between tries


def test_writes_left_unprocessed_eight_times_are_a_transient_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    attempts: list[int] = []

    def throttled(operation: str, **kwargs: Any) -> Any:
        attempts.append(1)
        return {"UnprocessedItems": kwargs["RequestItems"]}

    monkeypatch.setattr(dynamo, "call", throttled)
    monkeypatch.setattr(dynamo.time, "sleep", lambda s: None)
    with pytest.raises(TransientError):
        dynamo.batch_write("t", [_put(1)])
    assert len(attempts) == dynamo.BATCH_GET_ATTEMPTS
