"""The baseline/detector-state/settings store on moto: versions, conditional writes, batched
reads, the refit cursor."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from omp.adapters.dynamo_baselines import DynamoBaselineStore
from omp.domain.anomaly import DetectorState, StoredBaseline
from omp.domain.errors import Conflict
from tests import support

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
MODEL = {"period": 2, "season": [1.5, -1.5], "level": 10.0, "n_points": 700, "q_low": -1e-05}


@pytest.fixture
def store(dynamodb):
    return DynamoBaselineStore(support.PREFIX + "metrics")


def _sid(i: int) -> str:
    return f"ser_{i:024x}"


def test_baselines_are_versioned_and_read_with_their_states_in_one_batch(store):
    store.put_baselines([StoredBaseline(_sid(i), MODEL, 60.0, 1000, 2000) for i in range(120)])
    store.put_baselines([StoredBaseline(_sid(0), {**MODEL, "level": 11.0}, 30.5, 1100, 2100)])
    first = store.get_baseline(_sid(0))
    assert (first.version, first.model["level"], first.step_s, first.fitted_through) == (
        2,
        11.0,
        30.5,
        1100,
    )
    assert store.get_baseline(_sid(999)) is None
    info = store.get_fit_info([_sid(i) for i in range(130)])
    assert len(info) == 120 and info[_sid(0)] == (2100, 700) and info[_sid(5)] == (2000, 700)

    state = DetectorState(_sid(3), detector={"n": 5, "xs": [0.0] * 5000}, baseline_version=1)
    state.last_ts, state.alarm = 1234, {"fingerprint": "f", "started_at": 1200, "detector": "spike"}
    assert store.put_state(state) == 1
    models = store.get_models([_sid(i) for i in range(125)])
    assert len(models) == 125
    baseline, got = models[_sid(3)]
    assert baseline.model == MODEL and got.detector == state.detector
    assert (got.version, got.last_ts, got.alarm) == (1, 1234, state.alarm)
    assert models[_sid(4)][1] is None and models[_sid(124)] == (None, None)


def test_a_state_write_is_conditional_on_its_version(store):
    state = DetectorState(_sid(1), detector={"n": 1})
    assert store.put_state(state) == 1
    with pytest.raises(Conflict):
        store.put_state(state)  # still version 0: someone else wrote first
    state.version = 1
    assert store.put_state(state) == 2
    with pytest.raises(Conflict):
        store.put_state(state)


def test_the_scored_timestamps_of_late_points_round_trip(store):
    seen = [1_000_000 + 60 * i for i in range(1_440)] + [1_086_400 + 7]
    state = DetectorState(_sid(2), detector={"n": 1}, last_ts=seen[-1], seen=seen, seen_from=999)
    assert store.put_state(state) == 1
    [(_, got)] = store.get_models([_sid(2)]).values()
    assert (got.seen, got.seen_from) == (seen, 999)
    old = DetectorState(_sid(3), detector={"n": 1}, last_ts=5)  # written before tracking
    store.put_state(old)
    [(_, got)] = store.get_models([_sid(3)]).values()
    assert (got.seen, got.seen_from) == ([], None)
    # the silence sweep's alarm clear keeps them
    state.version, state.alarm = 1, {"fingerprint": "f", "started_at": 1, "detector": "late"}
    assert store.put_state(state) == 2
    store.clear_alarm(_sid(2), 2)
    [(_, got)] = store.get_models([_sid(2)]).values()
    assert got.alarm is None and got.seen == seen


def test_settings_are_versioned(store):
    assert store.get_config() is None
    record = store.put_config({"rules": []}, 0, actor="me", now=NOW)
    assert record["version"] == 1
    with pytest.raises(Conflict) as err:
        store.put_config({"rules": []}, 0, actor="me", now=NOW)
    assert err.value.code == "VERSION_CONFLICT" and err.value.details == {"version": 1}
    store.put_config({"rules": [{"name": "x"}]}, 1, actor="you", now=NOW)
    stored = store.get_config()
    assert stored["version"] == 2 and stored["updated_by"] == "you"
    assert stored["config"] == {"rules": [{"name": "x"}]}


def test_the_refit_cursor_round_trips(store):
    assert store.get_refit_cursor() is None
    store.put_refit_cursor("abc")
    assert store.get_refit_cursor() == "abc"
    store.put_refit_cursor(None)
    assert store.get_refit_cursor() is None
