"""omp.runtime.batch: poison records are parked with their reason; everything else is retried."""

from __future__ import annotations

from typing import Any

import pytest

from omp.runtime import batch


class Poison(Exception):
    pass


def _event(*ids: str) -> dict[str, Any]:
    return {"Records": [{"messageId": i, "body": i} for i in ids]}


def _handle(record: dict[str, Any]) -> None:
    if record["body"].startswith("poison"):
        raise Poison(f"cannot parse {record['body']}")
    if record["body"].startswith("flaky"):
        raise TimeoutError("throttled")


def test_poison_is_parked_with_its_reason_and_not_retried() -> None:
    parked: list[tuple[str, str]] = []
    answer = batch.process_sqs(
        _event("ok", "poison-1", "flaky-1", "ok-2"),
        _handle,
        poison=(Poison,),
        park=lambda record, reason: parked.append((record["messageId"], reason)),
    )
    assert answer == {"batchItemFailures": [{"itemIdentifier": "flaky-1"}]}
    assert parked == [("poison-1", "Poison: cannot parse poison-1")]


def test_a_record_that_cannot_be_parked_fails_like_any_other() -> None:
    def refuse(record: dict[str, Any], reason: str) -> None:
        raise ConnectionError("DLQ unreachable")

    answer = batch.process_sqs(_event("poison-1", "ok"), _handle, poison=(Poison,), park=refuse)
    assert answer == {"batchItemFailures": [{"itemIdentifier": "poison-1"}]}


@pytest.mark.parametrize("park", [None, lambda record, reason: None])
def test_without_poison_types_every_failure_is_retried(park: Any) -> None:
    answer = batch.process_sqs(_event("poison-1", "flaky-1"), _handle, park=park)
    assert answer == {
        "batchItemFailures": [{"itemIdentifier": "poison-1"}, {"itemIdentifier": "flaky-1"}]
    }
