"""Anomaly detection in the platform with in-memory fakes: settings matching, the score message
format, the refit grid, streaming scoring (one model read per series per batch, anomaly ->
firing signal, back in band -> resolve, replays and conflicts) and the anomaly normaliser."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import numpy as np
import pytest
from pydantic import ValidationError

from omp.domain import anomaly as a
from omp.domain.detector_settings import DetectorConfig, PutDetectorConfig
from omp.domain.errors import Conflict, PayloadTooLarge, ValidationFailed
from omp.domain.signals import SignalStatus
from omp.services import anomaly, scoring
from omp.sources import anomaly as anomaly_source
from omp.sources import normalise

NOW = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)
T0 = int(NOW.timestamp())
SID = "ser_" + "ab" * 12
STEP = 60


# ---- settings -------------------------------------------------------------------------------


def test_the_first_matching_rule_wins_and_unmatched_series_get_the_default():
    config = DetectorConfig.model_validate(
        {
            "rules": [
                {"name": "http.*", "dimensions": {"service": "check*"}, "sensitivity": 0.9},
                {"name": "http.server.latency", "sensitivity": 0.2, "direction": "up"},
                {"name": "AWS/EC2/*", "min_duration": 5},
            ],
            "default": {"sensitivity": 0.4},
        }
    )
    assert config.settings_for("http.server.latency", {"service": "checkout"}).sensitivity == 0.9
    other = config.settings_for("http.server.latency", {"service": "search"})
    assert other.sensitivity == 0.2 and other.direction == "up"
    # a dimension matcher needs the key
    assert config.settings_for("http.server.latency", {}).sensitivity == 0.2
    assert config.settings_for("AWS/EC2/CPUUtilization", {}).min_duration == 5
    assert config.settings_for("queue.depth", {"q": "x"}).sensitivity == 0.4
    # globs are case-sensitive
    assert config.settings_for("HTTP.server", {}).sensitivity == 0.4


def test_excluded_ranges_become_epoch_ranges():
    config = DetectorConfig.model_validate(
        {
            "rules": [
                {
                    "name": "*",
                    "excluded": [{"from": "2026-03-02T10:00:00Z", "to": "2026-03-02T11:00:00Z"}],
                }
            ]
        }
    )
    settings = config.settings_for("x", {})
    assert settings.excluded == ((T0 - 7200.0, T0 - 3600.0),)
    assert settings.is_excluded(T0 - 5000) and not settings.is_excluded(T0 - 100)


@pytest.mark.parametrize(
    "body",
    [
        {"version": 0, "rules": [{"name": "x", "sensitivity": 0}]},
        {"version": 0, "rules": [{"name": "x", "sensitivity": 1.5}]},
        {"version": 0, "rules": [{"name": "x", "direction": "sideways"}]},
        {"version": 0, "rules": [{"name": "x", "min_duration": 0}]},
        {"version": 0, "rules": [{"name": ""}]},
        {"version": 0, "rules": [{"sensitivity": 0.5}]},
        {"version": 0, "rules": [{"name": "x", "colour": "red"}]},
        {"version": -1},
        {"rules": []},
        {
            "version": 0,
            "rules": [
                {
                    "name": "x",
                    "excluded": [{"from": "2026-03-02T11:00:00Z", "to": "2026-03-02T10:00:00Z"}],
                }
            ],
        },
        {
            "version": 0,
            "rules": [
                {
                    "name": "x",
                    "excluded": [{"from": "2026-03-02T10:00:00", "to": "2026-03-02T11:00:00"}],
                }
            ],
        },
    ],
)
def test_bad_settings_are_refused(body):
    with pytest.raises(ValidationError):
        PutDetectorConfig.model_validate(body)


# ---- messages -------------------------------------------------------------------------------


def test_score_messages_round_trip_and_stay_under_the_sqs_limit():
    series = [
        a.SeriesPoints(
            f"ser_{i:024x}", "cpu", {"host": f"h{i}"}, [(T0 + j, j * 1.5) for j in range(3000)]
        )
        for i in range(6)
    ]
    bodies = a.encode_messages(series)
    assert len(bodies) > 1
    assert all(len(b.encode()) <= a.MAX_MESSAGE_BYTES for b in bodies)
    merged = a.merge([g for b in bodies for g in a.decode_message(b)])
    assert {sid: s.points for sid, s in merged.items()} == {s.series_id: s.points for s in series}
    assert merged[series[2].series_id].dimensions == {"host": "h2"}


def test_merge_orders_points_and_keeps_the_first_value_of_a_second():
    groups = [
        a.SeriesPoints(SID, "cpu", {}, [(T0 + 2, 2.0), (T0, 0.0)]),
        a.SeriesPoints(SID, "cpu", {}, [(T0 + 1, 1.0), (T0 + 2, 99.0)]),
    ]
    assert a.merge(groups)[SID].points == [(T0, 0.0), (T0 + 1, 1.0), (T0 + 2, 2.0)]


@pytest.mark.parametrize(
    "body", ["", "[]", '{"v": 2, "series": []}', '{"v": 1, "series": [{"id": "x"}]}']
)
def test_a_malformed_message_is_refused(body):
    with pytest.raises((ValueError, TypeError, KeyError)):
        a.decode_message(body)


# ---- refit ----------------------------------------------------------------------------------


def test_the_refit_grid_puts_points_in_their_slots_with_gaps_as_nan():
    ts = np.array([T0 - 300, T0 - 240, T0 - 120, T0 - 60, T0 + 1], dtype=np.int64)
    step, last, grid = anomaly.to_grid(ts, np.array([1.0, 2.0, 3.0, 4.0, 5.0]))
    assert step == 60 and last == T0 + 1
    assert np.isnan(grid[2]) and list(grid[[0, 1, 3, 4, 5]]) == [1.0, 2.0, 3.0, 4.0, 5.0]
    _, _, capped = anomaly.to_grid(ts, np.arange(5.0), max_points=3)
    assert len(capped) == 3


def _history(n: int, end: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ts = np.arange(end - (n - 1) * STEP, end + 1, STEP, dtype=np.int64)
    return ts, 100.0 + rng.normal(0, 1.0, n)


def test_fit_series_skips_short_series_and_groups_the_rest():
    ts, vs = _history(600, T0)
    fitted, short = anomaly.fit_series(
        [(SID, ts, vs), ("ser_" + "cd" * 12, ts[:50], vs[:50]), ("ser_" + "ef" * 12, ts, vs * 2)],
        T0,
    )
    assert short == 1 and [b.series_id for b in fitted] == [SID, "ser_" + "ef" * 12]
    assert fitted[0].fitted_through == T0 and fitted[0].step_s == STEP
    assert 95 < fitted[0].model["level"] < 105


class FakeMetrics:
    def __init__(self, series: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        self.series = series
        self.reads: list[str] = []

    def list_series(self, *, active_since=None, limit=50, next_token=None, **_):
        from omp.domain.metrics import SeriesRecord
        from omp.domain.pagination import Page

        ids = sorted(self.series)
        start = int(next_token or 0)
        page = ids[start : start + limit]
        items = [SeriesRecord(s, "cpu", {}, "k", T0, T0) for s in page]
        more = start + limit < len(ids)
        return Page(items, str(start + limit) if more else None)

    def read(self, sid, start, end):
        self.reads.append(sid)
        ts, vs = self.series[sid]
        keep = (ts >= start) & (ts <= end)
        return ts[keep], vs[keep]


class FakeStore:
    """The BaselineStore port in memory; counts model reads; can fail a state write."""

    def __init__(self) -> None:
        self.baselines: dict[str, a.StoredBaseline] = {}
        self.states: dict[str, a.DetectorState] = {}
        self.model_reads: list[list[str]] = []
        self.conflicts = 0  # the next n put_state calls fail as if another scorer wrote first
        self.cursor: str | None = None
        self.config: dict | None = None

    def put_baselines(self, baselines):
        from dataclasses import replace

        for b in baselines:
            old = self.baselines.get(b.series_id)
            self.baselines[b.series_id] = replace(b, version=(old.version if old else 0) + 1)

    def get_baseline(self, sid):
        return self.baselines.get(sid)

    def get_fit_info(self, sids):
        return {
            s: (b.fitted_at, int(b.model["n_points"]))
            for s in sids
            if (b := self.baselines.get(s)) is not None
        }

    def get_models(self, sids):
        self.model_reads.append(list(sids))
        return {
            s: (self.baselines.get(s), self._copy(s) if s in self.states else None) for s in sids
        }

    def _copy(self, sid):
        from copy import deepcopy

        return deepcopy(self.states[sid])

    def put_state(self, state):
        from copy import deepcopy

        stored = self.states.get(state.series_id)
        if self.conflicts:
            self.conflicts -= 1
            raise Conflict("moved", code="VERSION_CONFLICT")
        if (stored.version if stored else 0) != state.version:
            raise Conflict("moved", code="VERSION_CONFLICT")
        new = deepcopy(state)
        new.version = state.version + 1
        self.states[state.series_id] = new
        return new.version

    def get_refit_cursor(self):
        return self.cursor

    def put_refit_cursor(self, token):
        self.cursor = token


class FakeAlerts:
    def __init__(self) -> None:
        self.envelopes = []

    def submit(self, envelope, raw):
        self.envelopes.append(envelope)
        return f"m{len(self.envelopes)}"

    def payloads(self):
        return [e.payload for e in self.envelopes]


def test_refit_pages_through_the_series_and_continues_where_it_stopped():
    series = {f"ser_{i:024x}": _history(300, T0, seed=i) for i in range(5)}
    metrics, store = FakeMetrics(series), FakeStore()
    first = anomaly.refit(metrics, store, T0, lambda: False, page_size=2)
    # out of time after the first page: its place is saved
    assert (first.series, first.fitted, first.pass_complete) == (2, 2, False)
    assert store.cursor == "2"
    second = anomaly.refit(metrics, store, T0, lambda: True, page_size=2)
    assert (second.series, second.pass_complete) == (3, True) and store.cursor is None
    assert sorted(store.baselines) == sorted(series)
    assert all(b.version == 1 for b in store.baselines.values())
    again = anomaly.refit(metrics, store, T0 + 60, lambda: True, page_size=10)
    assert (again.not_due, again.fitted) == (5, 0)
    # young baselines (fewer points than the history holds) are refitted within the hour
    later = T0 + anomaly.YOUNG_REFIT_S
    assert anomaly.refit(metrics, store, later, lambda: True, page_size=10).fitted == 5
    assert all(b.version == 2 and b.fitted_at == later for b in store.baselines.values())


def test_a_baseline_is_due_when_missing_a_day_old_or_young_and_an_hour_old():
    full = anomaly.MAX_FIT_POINTS
    info = {"fresh": (T0 - 60, full), "old": (T0 - 86_400, full), "young": (T0 - 3_000, 500)}
    assert anomaly.due(info, ["fresh", "old", "young", "new"], T0) == ["old", "young", "new"]
    assert anomaly.due({"young": (T0 - 600, 500)}, ["young"], T0) == []


# ---- the baseline over a range --------------------------------------------------------------


def _stored(n: int = 600) -> a.StoredBaseline:
    ts, vs = _history(n, T0)
    fitted, _ = anomaly.fit_series([(SID, ts, vs)], T0)
    from dataclasses import replace

    return replace(fitted[0], version=1)


def test_the_baseline_range_runs_forward_from_the_last_fitted_point():
    stored = _stored()
    points = anomaly.baseline_range(stored, T0 - 3600, T0 + 600)
    assert [p.timestamp for p in points] == [T0 + STEP * h for h in range(1, 11)]
    assert all(p.lower < p.expected < p.upper for p in points)
    assert all(95 < p.expected < 105 for p in points)
    assert anomaly.baseline_range(stored, T0 - 600, T0) == []
    with pytest.raises(ValidationFailed) as err:
        anomaly.baseline_range(stored, T0, T0 + 60 * 20_000)
    assert err.value.code == "QUERY_TOO_LARGE"


# ---- scoring --------------------------------------------------------------------------------


def _points(start: int, values) -> list[tuple[int, float]]:
    return [(start + i * STEP, float(v)) for i, v in enumerate(values)]


def _score(store, alerts, points, config=None, sid=SID):
    series = {sid: a.SeriesPoints(sid, "http.latency", {"service": "checkout"}, points)}
    ports = scoring.ScoringPorts(baselines=store, alerts=alerts)
    return scoring.score(series, config or DetectorConfig(), ports, NOW)


@pytest.fixture
def warmed():
    """A series with a baseline and 450 normal points scored (the detector's rarity needs a few
    hundred points before a surprise reaches the default alarm level)."""
    store, alerts = FakeStore(), FakeAlerts()
    store.baselines[SID] = _stored()
    rng = np.random.default_rng(7)
    out = _score(store, alerts, _points(T0 + STEP, 100 + rng.normal(0, 1, 450)))
    assert out.scored == 450 and alerts.envelopes == []
    return store, alerts


def test_without_a_baseline_nothing_is_scored_or_stored():
    store, alerts = FakeStore(), FakeAlerts()
    out = _score(store, alerts, _points(T0, [1, 2, 3]))
    assert out.no_baseline == 1 and out.scored == 0 and store.states == {}


def test_one_model_read_and_one_state_write_per_series_per_batch(warmed):
    store, alerts = warmed
    store.model_reads.clear()
    other = "ser_" + "cd" * 12
    store.baselines[other] = a.StoredBaseline(**{**_stored().__dict__, "series_id": other})
    groups = {
        sid: a.SeriesPoints(sid, "m", {}, _points(T0 + STEP * 451, [100.0] * 20))
        for sid in (SID, other)
    }
    versions = {sid: (store.states[sid].version if sid in store.states else 0) for sid in groups}
    scoring.score(groups, DetectorConfig(), scoring.ScoringPorts(store, alerts), NOW)
    assert len(store.model_reads) == 1 and sorted(store.model_reads[0]) == sorted(groups)
    assert {sid: store.states[sid].version for sid in groups} == {
        sid: v + 1 for sid, v in versions.items()
    }


def test_an_anomaly_fires_once_and_back_in_band_resolves_it(warmed):
    store, alerts = warmed
    start = T0 + STEP * 451
    out = _score(store, alerts, _points(start, [100.2, 160.0, 161.0, 159.0]))
    assert out.fired == 1
    [fired] = alerts.payloads()
    assert fired["status"] == "firing" and fired["series_id"] == SID
    assert fired["timestamp"] == datetime.fromtimestamp(start + STEP, UTC).strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    assert fired["value"] == 160.0 and fired["lower"] < fired["expected"] < fired["upper"] < 160.0
    assert fired["score"] >= fired["threshold"] == 0.7
    assert store.states[SID].alarm["fingerprint"] == fired["fingerprint"]

    out = _score(store, alerts, _points(start + 4 * STEP, [100.0, 100.5, 99.8]))
    assert out.resolved == 1 and store.states[SID].alarm is None
    resolved = alerts.payloads()[-1]
    assert resolved["status"] == "resolved" and resolved["fingerprint"] == fired["fingerprint"]
    assert resolved["started_at"] == fired["timestamp"]


def test_a_replayed_batch_scores_nothing_and_sends_nothing(warmed):
    store, alerts = warmed
    spike = _points(T0 + STEP * 451, [100.2, 160.0, 161.0])
    _score(store, alerts, spike)
    sent, state = len(alerts.envelopes), store.states[SID]
    out = _score(store, alerts, spike)
    assert out.skipped == 3 and out.scored == 0
    assert len(alerts.envelopes) == sent and store.states[SID] is state


def test_min_duration_holds_the_alarm_until_the_anomaly_lasts(warmed):
    store, alerts = warmed
    config = DetectorConfig.model_validate({"default": {"min_duration": 3}})
    _score(store, alerts, _points(T0 + STEP * 451, [160.0, 100.0]), config)
    assert alerts.envelopes == []


def test_a_write_conflict_rereads_and_rescores(warmed):
    store, alerts = warmed
    store.conflicts = 1
    reads = len(store.model_reads)
    out = _score(store, alerts, _points(T0 + STEP * 451, [100.0, 100.1]))
    assert out.conflicts == 1 and out.scored == 2 and not out.failed
    assert len(store.model_reads) == reads + 2  # the batch read, then the series again
    store.conflicts = 5
    out = _score(store, alerts, _points(T0 + STEP * 460, [100.0]))
    assert out.failed == {SID}


def test_a_refit_is_loaded_on_the_next_batch_past_the_points_already_scored(warmed):
    store, alerts = warmed
    before = store.states[SID]
    from dataclasses import replace

    store.baselines[SID] = replace(store.baselines[SID], version=2)
    _score(store, alerts, _points(T0 + STEP * 451, [100.0]))
    after = store.states[SID]
    assert before.baseline_version == 1 and after.baseline_version == 2
    assert after.grid_pos == 451


# ---- the anomaly source ---------------------------------------------------------------------


def test_the_anomaly_payload_normalises_to_a_signal():
    series = a.SeriesPoints(SID, "http.latency", {"service": "checkout", "metric": "x"})
    payload = a.alarm_payload(
        status="firing",
        series=series,
        detector="spike",
        timestamp=T0,
        value=160.0,
        expected=100.0,
        lower=97.0,
        upper=103.0,
        score=0.93,
        threshold=0.7,
        started_at=T0,
        settings={"sensitivity": 0.5},
    )
    [signal] = normalise("anomaly", payload, NOW)
    assert signal.source == "anomaly" and signal.status is SignalStatus.FIRING
    assert signal.fingerprint == f"{SID}/spike" and signal.observed_at == NOW
    assert signal.labels["service"] == "checkout" and signal.labels["dim_metric"] == "x"
    assert signal.labels["metric"] == "http.latency" and signal.labels["series_id"] == SID
    assert signal.annotations["observed"] == "160" and signal.annotations["upper"] == "103"
    resolved = dict(payload, status="resolved", timestamp="2026-03-02T12:05:00Z")
    [res] = anomaly_source.normalise(resolved)
    assert res.status is SignalStatus.RESOLVED and res.fingerprint == signal.fingerprint
    assert res.observed_at == datetime(2026, 3, 2, 12, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    "change",
    [
        {"kind": "x"},
        {"status": "open"},
        {"series_id": 5},
        {"timestamp": "yesterday"},
        {"value": "high"},
    ],
)
def test_a_malformed_anomaly_payload_is_unparseable(change):
    from omp.domain.signals import UnparseablePayload

    payload = json.loads(
        (
            __import__("pathlib").Path(__file__).parents[2] / "events/sources/anomaly_firing.json"
        ).read_text()
    )
    with pytest.raises(UnparseablePayload):
        anomaly_source.normalise({**payload, **change})


def test_the_anomaly_source_is_not_a_webhook_source():
    from omp.domain.signals import INGEST_SOURCES

    assert "anomaly" not in INGEST_SOURCES


# ---- backtest bounds --------------------------------------------------------------------------


def test_backtest_bounds_the_work():
    from omp.analytics.detectors import DetectorSettings

    big = FakeMetrics({SID: _history(300, T0)})
    with pytest.raises(PayloadTooLarge) as err:
        anomaly.run_backtest(big, SID, 0, T0, [], DetectorSettings(), max_points=100)
    assert err.value.code == "BACKTEST_TOO_LARGE"
    small = FakeMetrics({SID: _history(10, T0)})
    with pytest.raises(ValidationFailed) as err2:
        anomaly.run_backtest(small, SID, 0, T0, [], DetectorSettings())
    assert err2.value.code == "BACKTEST_TOO_FEW_POINTS"


def test_backtest_scores_labelled_windows_with_the_nab_rules():
    from omp.analytics.detectors import DetectorSettings

    ts, vs = _history(2000, T0, seed=3)
    vs[1500:1510] += 40.0
    result = anomaly.run_backtest(
        FakeMetrics({SID: (ts, vs)}),
        SID,
        0,
        T0,
        [(int(ts[1490]), int(ts[1530]))],
        DetectorSettings(),
    )
    assert result.points == 2000 and result.threshold == 0.7
    assert result.alarms and result.alarms[0]["timestamp"] >= datetime.fromtimestamp(
        int(ts[1500]), UTC
    ).strftime("%Y-%m-%dT%H:%M:%SZ")
    std = result.nab["standard"]
    assert std["windows"] == 1 and std["detected_windows"] == 1 and std["score"] > 50


def test_the_alert_consumer_still_starts_without_numpy():
    """process-alerts normalises `anomaly` payloads without importing numpy (cold start)."""
    import subprocess
    import sys

    from tests.support import ROOT

    code = (
        "import importlib.util, json, sys\n"
        "from datetime import UTC, datetime\n"
        "spec = importlib.util.spec_from_file_location('pa', 'functions/monitoring/process_alerts.py')\n"
        "spec.loader.exec_module(importlib.util.module_from_spec(spec))\n"
        "from omp import sources\n"
        "import omp.services.pipeline\n"
        "body = json.load(open('events/sources/anomaly_firing.json'))\n"
        "assert sources.normalise('anomaly', body, datetime.now(UTC))\n"
        "print('numpy' in sys.modules)\n"
    )
    env = {"PYTHONPATH": f"{ROOT}:{ROOT}/layers/core/python", "PATH": "/usr/bin:/bin"}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"
