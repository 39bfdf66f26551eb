from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from omp.api.params import ListParams
from omp.domain.audit import entry_from_event
from omp.domain.errors import BadRequest, ValidationFailed
from omp.domain.pagination import decode_token, encode_token
from omp.domain.queries import TimeRange

NOW = datetime(2026, 3, 10, 8, 0, tzinfo=UTC)


def test_default_window_is_thirty_days_and_days_are_newest_first():
    window = TimeRange.build(None, None, NOW)
    assert window.end - window.start == timedelta(days=30)
    days = window.days()
    assert days[0] == "2026-03-10" and days[-1] == "2026-02-08" and len(days) == 31


@pytest.mark.parametrize(
    ("start", "end"),
    [
        (NOW, NOW - timedelta(seconds=1)),
        (NOW - timedelta(days=400), NOW),
        (datetime(2026, 1, 1), None),
    ],
)
def test_bad_windows_are_422(start, end):
    with pytest.raises(ValidationFailed):
        TimeRange.build(start, end, NOW)


@pytest.mark.parametrize("limit", [0, -1, 201])
def test_limit_bounds(limit):
    with pytest.raises(ValidationError):
        ListParams.model_validate({"limit": limit})
    assert ListParams().limit == 50
    assert ListParams.model_validate({"limit": "200", "from": "2026-01-01T00:00:00Z"}).limit == 200


@pytest.mark.parametrize("token", ["", "!!!", "bm90IGpzb24", encode_token({"x": 1}), "W10"])
def test_foreign_tokens_are_400(token):
    with pytest.raises(BadRequest) as err:
        decode_token(token, required_keys=("d", "k"))
    assert err.value.code == "INVALID_NEXT_TOKEN"


def test_token_round_trip():
    state = {"d": "ALARMS#2026-03-10", "k": {"pk": {"S": "x"}}}
    assert decode_token(encode_token(state), required_keys=("d", "k")) == state


def test_audit_entry_from_event():
    event = {
        "id": "e-1",
        "time": "2026-03-10T08:00:00Z",
        "source": "omp.monitoring",
        "detail-type": "AlarmRaised",
        "detail": {"actor": "me", "alarm": {}},
        "resources": [],
    }
    entry = entry_from_event(event)
    assert (entry.actor, entry.detail_type) == ("me", "AlarmRaised")
    with pytest.raises(KeyError):
        entry_from_event({"id": "x"})
    with pytest.raises(ValueError):
        entry_from_event({**event, "detail": "text"})
