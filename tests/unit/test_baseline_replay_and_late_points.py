"""The baseline at past times (the refit's recursion replayed in plain Python over stored points)
and late points (scored once against the stored baseline projected to their own time, replays
skipped, the streaming state untouched)."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from omp.analytics import baselines, hw_replay
from omp.domain import anomaly as a
from omp.domain.detector_settings import DetectorConfig
from omp.services import baseline_band, scoring
from tests.unit.test_anomaly_platform import STEP, T0, FakeAlerts, FakeStore, _points, _score

SID = "ser_" + "ab" * 12


def _series(n: int, mult: bool, seed: int = 3) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    if mult:
        y = (50 + 0.05 * t) * (1 + 0.3 * np.sin(2 * np.pi * t / 288)) + rng.normal(0, 1, n)
    else:
        y = 100 + 10 * np.sin(2 * np.pi * t / 288) + rng.normal(0, 1, n)
    y[[100, 500, 501]] = np.nan
    y[700] += 80  # an outlier the robust update clips
    return y


# ---- hw_replay --------------------------------------------------------------------------------


def test_the_constants_agree_with_the_numpy_fit():
    assert hw_replay.HUBER_K == baselines.HUBER_K
    assert hw_replay.SCALE_LAMBDA == baselines.SCALE_LAMBDA


@pytest.mark.parametrize("mult", [False, True])
def test_replaying_the_fitted_grid_ends_in_the_stored_state(mult):
    y = _series(2000, mult)
    model = baselines.fit(y[None, :], 300.0).one(0)
    assert model["period"] == 288 and model["multiplicative"] is mult
    assert hw_replay.grid_points(model) == 2000
    final = hw_replay.replay_final(model, list(y))
    assert final["level"] == pytest.approx(model["level"], rel=1e-12)
    assert final["trend"] == pytest.approx(model["trend"], rel=1e-12, abs=1e-12)
    assert final["scale"] == pytest.approx(model["scale"], rel=1e-12)
    assert final["season"] == pytest.approx(model["season"], rel=1e-12, abs=1e-12)
    # and the one-step forecast just past the window is the stored forecast
    [after] = hw_replay.replay(model, list(y), 2000, 2000)
    assert after.expected == pytest.approx(hw_replay.project(model, 1).expected, rel=1e-12)


@pytest.mark.parametrize("mult", [False, True])
def test_the_projection_is_the_numpy_band(mult):
    fitted = baselines.fit(_series(2000, mult)[None, :], 300.0)
    model = fitted.one(0)
    exp, lo, hi = baselines.band(fitted, 300)
    for h in (1, 2, 17, 288, 300):
        b = hw_replay.project(model, h)
        assert (b.expected, b.lower, b.upper) == pytest.approx(
            (exp[0, h - 1], lo[0, h - 1], hi[0, h - 1]), rel=1e-12
        )


def test_a_model_without_a_start_state_cannot_be_replayed():
    model = baselines.fit(_series(2000, False)[None, :], 300.0).one(0)
    del model["start"]
    assert not hw_replay.can_replay(model) and hw_replay.grid_points(model) == 0


# ---- the baseline over a past range -----------------------------------------------------------


class Reader:
    def __init__(self, ts, vs):
        self.ts, self.vs, self.calls = list(ts), list(vs), []

    def read_points(self, series_id, start, end):
        self.calls.append((series_id, start, end))
        pairs = [(t, v) for t, v in zip(self.ts, self.vs, strict=True) if start <= t <= end]
        return [t for t, _ in pairs], [v for _, v in pairs]


def _stored_with_points(n: int = 2000, step: int = 300):
    y = _series(n, False)
    ft = T0
    ts = [ft - (n - 1 - i) * step for i in range(n)]
    model = baselines.fit(y[None, :], float(step)).one(0)
    stored = a.StoredBaseline(SID, model, float(step), ft, ft + 10, version=2)
    keep = [i for i in range(n) if not math.isnan(y[i])]
    return stored, Reader([ts[i] for i in keep], [float(y[i]) for i in keep]), y


def test_a_past_range_is_the_one_step_fit_replayed_from_the_stored_points():
    stored, reader, y = _stored_with_points()
    step, n = 300, 2000
    start, end = T0 - 86_400, T0 - 86_400 + 3_600
    points = baseline_band.baseline_range(stored, start, end, metrics=reader)
    assert [p.timestamp for p in points] == list(range(start, end + 1, step))
    # read once, from the window's start (the recursion's lead-in)
    [(sid, lo, hi)] = reader.calls
    assert sid == SID and lo <= T0 - (n - 1) * step and hi >= end
    i0 = n - 1 - 86_400 // step
    expected = hw_replay.replay(stored.model, list(y), i0, i0 + 12)
    assert [p.expected for p in points] == pytest.approx([b.expected for b in expected])
    assert all(p.lower < p.expected < p.upper for p in points)
    # the seasonal shape is followed (not a flat forecast from the end of the window)
    assert max(p.expected for p in points) - min(p.expected for p in points) > 1.0


def test_a_range_across_the_end_of_the_window_joins_fit_and_forecast():
    stored, reader, _ = _stored_with_points()
    points = baseline_band.baseline_range(stored, T0 - 900, T0 + 900, metrics=reader)
    assert [p.timestamp for p in points] == list(range(T0 - 900, T0 + 901, 300))
    after = [p for p in points if p.timestamp > T0]
    assert [p.expected for p in after] == [
        hw_replay.project(stored.model, h).expected for h in (1, 2, 3)
    ]


def test_before_the_window_nothing_is_answered_and_covered_from_says_so():
    stored, reader, _ = _stored_with_points()
    window_start = T0 - 1999 * 300
    assert baseline_band.covered_from(stored) == window_start
    early = baseline_band.baseline_range(
        stored, window_start - 7_200, window_start + 600, metrics=reader
    )
    assert [p.timestamp for p in early] == [window_start, window_start + 300, window_start + 600]
    assert baseline_band.baseline_range(stored, 0, 3_600, metrics=reader) == []


def test_a_baseline_fitted_before_start_states_were_stored_answers_forward_only():
    stored, reader, _ = _stored_with_points()
    model = dict(stored.model)
    del model["start"]
    old = replace(stored, model=model)
    assert baseline_band.covered_from(old) == T0 + 300
    points = baseline_band.baseline_range(old, T0 - 3_600, T0 + 600, metrics=reader)
    assert [p.timestamp for p in points] == [T0 + 300, T0 + 600] and reader.calls == []


def test_a_past_range_is_bounded_too():
    stored, reader, _ = _stored_with_points(n=2000, step=60)
    with pytest.raises(Exception) as err:
        baseline_band.baseline_range(stored, T0 - 1999 * 60, T0 + 60 * 9_000, metrics=reader)
    assert getattr(err.value, "code", None) == "QUERY_TOO_LARGE"


def test_the_route_answers_a_past_range_without_importing_numpy(tmp_path):
    import json
    import subprocess
    import sys

    from tests.support import ROOT

    stored, reader, _ = _stored_with_points()
    (tmp_path / "m.json").write_text(
        json.dumps({"model": stored.model, "ts": reader.ts, "vs": reader.vs})
    )
    code = (
        "import json, sys\n"
        "import omp.api.baselines\n"
        "from omp.domain.anomaly import StoredBaseline\n"
        "from omp.services import baseline_band\n"
        f"d = json.load(open({str(tmp_path / 'm.json')!r}))\n"
        "class R:\n"
        "    def read_points(self, sid, a, b):\n"
        "        p = [(t, v) for t, v in zip(d['ts'], d['vs']) if a <= t <= b]\n"
        "        return [t for t, _ in p], [v for _, v in p]\n"
        f"s = StoredBaseline('x', d['model'], 300.0, {T0}, {T0})\n"
        f"pts = baseline_band.baseline_range(s, {T0 - 86_400}, {T0 + 600}, metrics=R())\n"
        "assert len(pts) == 291, len(pts)\n"
        "print('numpy' in sys.modules)\n"
    )
    env = {"PYTHONPATH": f"{ROOT}:{ROOT}/layers/core/python", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


# ---- late points ------------------------------------------------------------------------------


@pytest.fixture
def scored():
    """A fitted series (100 +- 1, fitted through T0) with 450 points scored in order."""
    from tests.unit.test_anomaly_platform import _stored

    store, alerts = FakeStore(), FakeAlerts()
    store.baselines[SID] = _stored()
    rng = np.random.default_rng(7)
    out = _score(store, alerts, _points(T0 + STEP, 100 + rng.normal(0, 1, 450)))
    assert out.scored == 450 and alerts.envelopes == []
    return store, alerts


LAST = T0 + 450 * STEP


def _late(ts_values):
    return [(int(t), float(v)) for t, v in ts_values]


def test_a_late_point_in_band_is_scored_once_and_raises_nothing(scored):
    store, alerts = scored
    detector = store.states[SID].detector
    out = _score(store, alerts, _late([(LAST - 30, 100.3)]))  # between two scored points
    assert (out.late_scored, out.scored, out.skipped, out.fired) == (1, 0, 0, 0)
    state = store.states[SID]
    assert state.last_ts == LAST and state.detector == detector  # the detector is not rewound
    assert LAST - 30 in state.seen
    # redelivered: a replay now
    out = _score(store, alerts, _late([(LAST - 30, 100.3)]))
    assert (out.late_scored, out.skipped) == (0, 1) and alerts.envelopes == []


def test_a_late_point_far_outside_the_band_raises_an_alarm_at_its_own_time(scored):
    store, alerts = scored
    late_ts = LAST - 3_600 + 30
    out = _score(store, alerts, _late([(late_ts, 170.0)]))
    assert out.late_scored == 1 and out.fired == 1
    [fired] = alerts.payloads()
    assert fired["status"] == "firing" and fired["detector"] == scoring.LATE_DETECTOR
    assert fired["fingerprint"] == f"{SID}/late"
    assert fired["timestamp"] == fired["started_at"]
    assert fired["timestamp"].startswith("2026-03-02T")
    b = hw_replay.project(store.baselines[SID].model, round((late_ts - T0) / STEP))
    assert fired["expected"] == pytest.approx(b.expected, abs=1e-5)
    assert fired["upper"] == pytest.approx(b.upper, abs=1e-5) and fired["upper"] < 170.0
    assert fired["score"] >= fired["threshold"]
    assert store.states[SID].alarm["started_at"] == late_ts
    # the redelivery raises nothing; the next in-band points in order resolve it
    _score(store, alerts, _late([(late_ts, 170.0)]))
    assert len(alerts.envelopes) == 1
    out = _score(store, alerts, _points(LAST + STEP, [100.0]))
    assert out.resolved == 1 and alerts.payloads()[-1]["fingerprint"] == fired["fingerprint"]


def test_replays_of_points_scored_in_order_stay_skipped(scored):
    store, alerts = scored
    out = _score(store, alerts, _points(T0 + STEP, [100.0, 170.0, 30.0]))  # same timestamps
    assert (out.skipped, out.late_scored, out.fired) == (3, 0, 0)


def test_points_older_than_the_limit_are_too_late(scored):
    store, alerts = scored
    too_old = LAST - scoring.LATE_LIMIT_S - 30
    out = _score(store, alerts, _late([(too_old, 500.0)]))
    assert (out.too_late, out.late_scored, out.fired) == (1, 0, 0)


@pytest.mark.parametrize(
    ("settings", "value"),
    [
        ({"direction": "down"}, 170.0),  # up is not watched
        ({"direction": "up"}, 30.0),  # down is not watched
        (
            {
                "sensitivity": 0.5,
                "excluded": [{"from": "2026-03-02T12:00:00Z", "to": "2026-03-02T23:00:00Z"}],
            },
            170.0,
        ),
    ],
)
def test_late_points_respect_direction_and_excluded_ranges(scored, settings, value):
    store, alerts = scored
    config = DetectorConfig.model_validate({"default": settings})
    out = _score(store, alerts, _late([(LAST - 3_570, value)]), config)
    assert out.late_scored == 1 and out.fired == 0 and alerts.envelopes == []


def test_sensitivity_moves_the_late_alarm_level(scored):
    store, _ = scored
    stored = store.baselines[SID]
    b = hw_replay.project(stored.model, 300)
    half = b.upper - b.expected
    value = b.upper + 1.15 * half  # beyond the band by 1.15 half-widths: score 0.68
    lax = DetectorConfig.model_validate({"default": {"sensitivity": 1.0}}).settings_for("m", {})
    strict = DetectorConfig().settings_for("m", {})
    ts = T0 + 300 * STEP
    assert scoring.late_score(stored, lax, ts, value).surprise >= scoring.LATE_SURPRISE_MIN
    for settings, fires in ((lax, True), (strict, False)):
        ps = scoring.late_score(stored, settings, ts, value)
        assert (ps.score >= settings.alarm_threshold) is fires
    assert scoring.late_score(stored, strict, ts, b.expected).score == 0.0


def test_min_duration_needs_that_many_late_points_at_the_alarm_level(scored):
    store, alerts = scored
    config = DetectorConfig.model_validate({"default": {"min_duration": 2}})
    out = _score(store, alerts, _late([(LAST - 3_570, 170.0)]), config)
    assert out.fired == 0
    out = _score(store, alerts, _late([(LAST - 3_510, 170.0), (LAST - 3_450, 171.0)]), config)
    assert out.fired == 1
    [fired] = alerts.payloads()
    assert fired["timestamp"] == a.epoch_iso(LAST - 3_450)  # the point that made it last


def test_the_tracked_timestamps_stay_within_the_limit():
    state = a.DetectorState(SID, last_ts=200_000, seen=[1, 100_000, 120_000, 199_000, 200_000])
    state.seen_from = 1
    scoring._prune_seen(state)
    assert state.seen == [120_000, 199_000, 200_000]
    assert state.seen_from == 200_000 - scoring.LATE_LIMIT_S
    many = a.DetectorState(SID, last_ts=10_000, seen=list(range(10_001 - 6_000, 10_001)))
    many.seen_from = 0
    scoring._prune_seen(many)
    assert len(many.seen) == scoring.MAX_SEEN and many.seen_from == many.seen[0]


def test_a_state_from_before_tracking_scores_only_newer_points_late(scored):
    store, alerts = scored
    old = replace(store.states[SID], seen=[], seen_from=None)
    store.states[SID] = old
    out = _score(store, alerts, _late([(LAST - 30, 100.0)]))  # could be a replay: not scored
    assert (out.too_late, out.late_scored) == (1, 0)
    out = _score(store, alerts, _points(LAST + STEP, [100.0, 100.2]))
    out = _score(store, alerts, _late([(LAST + STEP + 30, 100.1)]))
    assert out.late_scored == 1


def test_late_points_alone_do_not_reset_the_silence_clock(scored):
    store, alerts = scored
    store.states[SID] = replace(store.states[SID], scored_at=1)
    out = _score(store, alerts, _late([(LAST - 90, 100.0)]))
    assert out.late_scored == 1 and store.states[SID].scored_at == 1
    _score(store, alerts, _points(LAST + STEP, [100.0]))
    assert store.states[SID].scored_at > 1
