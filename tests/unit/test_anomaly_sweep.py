"""omp.services.anomaly_sweep with the ports in memory: which open alarms are silent, the
no-data resolve payload (and how the pipeline reads it), the stale index, races with the
scorer, the bounds of a run."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from omp.domain import anomaly as a
from omp.domain import dedup
from omp.domain.detector_settings import DetectorConfig
from omp.domain.errors import Conflict
from omp.domain.metrics import SeriesRecord
from omp.domain.pagination import Page
from omp.domain.signals import SignalStatus
from omp.services import anomaly_sweep as sw
from omp.sources import anomaly as source

NOW = datetime(2026, 3, 2, 12, 0, 0, tzinfo=UTC)
T0 = int(NOW.timestamp())
POLICY = sw.NoDataPolicy()


def _state(sid: str, *, scored_at: int, step_s: float = 60.0, alarm: bool = True, version=4):
    return a.DetectorState(
        series_id=sid,
        detector={"kept": True},
        step_s=step_s,
        last_ts=scored_at - 120,
        scored_at=scored_at,
        alarm={"fingerprint": f"{sid}/spike", "detector": "spike", "started_at": T0 - 7200}
        if alarm
        else None,
        version=version,
    )


class Store:
    """The BaselineStore's sweep methods in memory; the index can lag behind (`index`)."""

    def __init__(self, states):
        self.states = {s.series_id: s for s in states}
        self.index: list[a.DetectorState] | None = None  # a stale snapshot, when set
        self.before_clear = None  # called once before the first clear (a racing scorer)
        self.queries = 0

    def open_alarms(self, scored_before, *, limit=100, next_token=None):
        self.queries += 1
        source_ = self.index if self.index is not None else list(self.states.values())

        def key(s):
            return f"{sw.last_activity(s):012d}#{s.series_id}"

        rows = sorted(
            (s for s in source_ if s.alarm is not None and sw.last_activity(s) < scored_before),
            key=key,
        )
        # like ExclusiveStartKey: a position in key order, not an offset
        rows = [s for s in rows if next_token is None or key(s) > next_token]
        page = rows[:limit]
        more = len(rows) > limit
        return Page([replace(s, detector=None) for s in page], key(page[-1]) if more else None)

    def get_alarm_states(self, series_ids):
        return {
            sid: replace(self.states[sid], detector=None)
            for sid in series_ids
            if sid in self.states
        }

    def clear_alarm(self, series_id, expected_version):
        if self.before_clear:
            hook, self.before_clear = self.before_clear, None
            hook(self)
        current = self.states.get(series_id)
        if current is None or current.version != expected_version:
            raise Conflict("moved", code="VERSION_CONFLICT")
        self.states[series_id] = replace(
            current, alarm=None, in_band=0, version=expected_version + 1
        )
        return expected_version + 1


class Metrics:
    def get_series(self, ids):
        return {
            sid: SeriesRecord(sid, "http.latency", {"service": "checkout"}, "key", 0, 0)
            for sid in ids
            if sid != "ser_unregistered"
        }


class Alerts:
    def __init__(self):
        self.sent = []

    def submit(self, envelope, raw):
        assert envelope.source == "anomaly" and envelope.principal == a.ANOMALY_PRINCIPAL
        self.sent.append(envelope)


def _run(store, **kwargs):
    alerts = Alerts()
    ports = sw.SweepPorts(baselines=store, metrics=Metrics(), alerts=alerts)
    out = sw.resolve_silent(ports, DetectorConfig(), NOW, **kwargs)
    return out, [e.payload for e in alerts.sent], alerts.sent


@pytest.mark.parametrize(
    ("step_s", "after"), [(60.0, 1800), (300.0, 3000), (0.0, 1800), (3600.0, 36000), (1.5, 1800)]
)
def test_the_silence_is_ten_steps_and_at_least_half_an_hour(step_s, after):
    assert POLICY.after_s(step_s) == after
    assert not sw.is_silent(_state("s", scored_at=T0 - after + 1, step_s=step_s), T0, after)
    assert sw.is_silent(_state("s", scored_at=T0 - after, step_s=step_s), T0, after)
    assert not sw.is_silent(
        _state("s", scored_at=T0 - after, step_s=step_s, alarm=False), T0, after
    )
    assert POLICY.after_s(step_s, 600) == 600 and POLICY.after_s(step_s, 0) is None
    assert not sw.is_silent(_state("s", scored_at=0, step_s=step_s), T0, None)  # never


def test_a_state_without_scored_at_falls_back_to_its_last_point():
    old = replace(_state("s", scored_at=0), last_ts=T0 - 1800)
    assert sw.last_activity(old) == T0 - 1800 and sw.is_silent(old, T0, 1800)


def test_silent_alarms_are_resolved_with_reason_no_data_and_cleared():
    store = Store(
        [
            _state("ser_a", scored_at=T0 - 4000),
            _state("ser_b", scored_at=T0 - 100),  # reported recently
            _state("ser_c", scored_at=T0 - 2000, step_s=300),  # 10 steps: 3000 s, not yet
            _state("ser_d", scored_at=T0 - 9000, alarm=False),  # nothing open
        ]
    )
    out, payloads, envelopes = _run(store)
    assert (out.resolved, out.superseded, out.failed, out.complete) == (1, 0, 0, True)
    assert out.candidates == 2  # a and c: last scored before the shortest silence
    [p] = payloads
    assert p["status"] == "resolved" and p["reason"] == "no_data"
    assert p["fingerprint"] == "ser_a/spike" and p["detector"] == "spike"
    assert p["started_at"] == a.epoch_iso(T0 - 7200)
    assert p["timestamp"] == a.epoch_iso(T0 - 4000 + 1800)  # when the silence began to count
    assert p["last_data_at"] == a.epoch_iso(T0 - 4000) and p["silence_s"] == 1800
    assert p["metric"] == "http.latency" and p["dimensions"] == {"service": "checkout"}
    assert p["value"] is None and p["lower"] is None and p["threshold"] == 0.7
    assert envelopes[0].request_id == f"ser_a/spike@{p['timestamp']}:resolved"
    assert store.states["ser_a"].alarm is None and store.states["ser_a"].version == 5
    assert store.states["ser_a"].detector == {"kept": True}  # only the alarm goes
    assert store.states["ser_b"].alarm is not None and store.states["ser_c"].alarm is not None

    # a re-run finds nothing to do
    out, payloads, _ = _run(store)
    assert (out.resolved, payloads) == (0, [])


def test_the_payload_normalises_to_a_resolve_whose_timeline_says_why():
    state = _state("ser_a", scored_at=T0 - 4000)
    payload = sw.no_data_payload(state, None, DetectorConfig(), 1800, T0)
    assert payload["metric"] == "ser_a"  # an unregistered series: its id stands in
    [signal] = source.normalise(payload)
    assert signal.status is SignalStatus.RESOLVED and signal.fingerprint == "ser_a/spike"
    assert signal.annotations["resolve_reason"].startswith("no_data: no points since")
    assert "silence 1800 s" in signal.annotations["resolve_reason"]
    assert "no data since" in signal.message
    assert "anomaly_observed" not in signal.labels
    firing = source.normalise({**payload, "status": "firing", "value": 170.0})[0]
    first = dedup.apply(None, firing, NOW)
    assert first.state is not None
    decision = dedup.apply(first.state, signal, NOW)
    assert decision.action is dedup.Action.RESOLVE
    assert decision.reason.startswith("resolved by anomaly: no_data: no points since")
    # a resolve without a reason reads as before
    plain = source.normalise({k: v for k, v in payload.items() if k != "reason"})[0]
    assert "resolve_reason" not in plain.annotations
    assert dedup.apply(first.state, plain, NOW).reason == ("resolved by anomaly")


def test_a_stale_index_entry_of_a_series_that_came_back_is_left_alone():
    store = Store([_state("ser_a", scored_at=T0 - 4000)])
    store.index = list(store.states.values())  # the index still shows the old write
    store.states["ser_a"] = replace(store.states["ser_a"], scored_at=T0 - 30, version=5)
    out, payloads, _ = _run(store)
    assert (out.resolved, out.superseded, payloads) == (0, 1, [])
    assert store.states["ser_a"].alarm is not None and store.states["ser_a"].version == 5


def test_a_scorer_that_resolves_meanwhile_wins():
    store = Store([_state("ser_a", scored_at=T0 - 4000)])

    def scorer(s):
        s.states["ser_a"] = replace(s.states["ser_a"], alarm=None, scored_at=T0, version=5)

    store.before_clear = scorer
    out, payloads, _ = _run(store)
    assert (out.resolved, out.superseded, out.failed) == (0, 1, 0)
    assert len(payloads) == 1  # already queued: the pipeline ignores a second resolve
    assert store.states["ser_a"].version == 5 and store.states["ser_a"].scored_at == T0


def test_a_scorer_that_kept_the_same_alarm_open_is_kept_and_the_alarm_closed():
    store = Store([_state("ser_a", scored_at=T0 - 4000)])

    def scorer(s):
        s.states["ser_a"] = replace(s.states["ser_a"], last_ts=T0 - 10, version=5)

    store.before_clear = scorer
    out, payloads, _ = _run(store)
    assert (out.resolved, out.superseded, len(payloads)) == (1, 0, 1)
    new = store.states["ser_a"]
    assert new.alarm is None and new.version == 6 and new.last_ts == T0 - 10


def test_a_new_alarm_opened_meanwhile_is_not_touched():
    store = Store([_state("ser_a", scored_at=T0 - 4000)])

    def scorer(s):
        alarm = {"fingerprint": "ser_a/level_shift", "detector": "level_shift", "started_at": T0}
        s.states["ser_a"] = replace(s.states["ser_a"], alarm=alarm, version=5)

    store.before_clear = scorer
    out, _, _ = _run(store)
    assert (out.resolved, out.superseded) == (0, 1)
    assert store.states["ser_a"].alarm["started_at"] == T0


def test_a_state_that_keeps_moving_is_reported_failed():
    store = Store([_state("ser_a", scored_at=T0 - 4000)])
    original = store.clear_alarm

    def always_moved(series_id, expected_version):
        current = store.states[series_id]
        store.states[series_id] = replace(current, version=current.version + 1)
        return original(series_id, expected_version)

    store.clear_alarm = always_moved
    out, payloads, _ = _run(store)
    assert (out.resolved, out.failed, len(payloads)) == (0, 1, 1)


def test_pages_are_followed_and_a_run_is_bounded(monkeypatch):
    states = [_state(f"ser_{i:03d}", scored_at=T0 - 4000 - i) for i in range(250)]
    store = Store(states)
    out, payloads, _ = _run(store)
    assert out.resolved == 250 and len(payloads) == 250 and out.complete
    assert store.queries == 3

    monkeypatch.setattr(sw, "MAX_RESOLVED", 100)
    store = Store([_state(f"ser_{i:03d}", scored_at=T0 - 4000 - i) for i in range(250)])
    out, _, _ = _run(store)
    assert out.resolved == 100 and not out.complete  # the next run takes the rest
    out, _, _ = _run(store)
    assert out.resolved == 100
    out, _, _ = _run(store)
    assert out.resolved == 50 and out.complete

    store = Store(states)
    out, payloads, _ = _run(store, time_left=lambda: False)
    assert (out.resolved, out.complete, store.queries, payloads) == (0, False, 0, [])


def _config(rules, default=None):
    return DetectorConfig.model_validate({"rules": rules, "default": default or {}})


def test_the_silence_is_set_per_rule():
    store = Store(
        [
            _state("ser_a", scored_at=T0 - 700),  # its rule: 600 s
            _state("ser_unregistered", scored_at=T0 - 9000),  # the default: never
        ]
    )
    config = _config(
        [{"name": "http.*", "dimensions": {"service": "checkout"}, "no_data_after_s": 600}],
        {"no_data_after_s": 0},
    )
    assert POLICY.shortest(config) == 600
    alerts = Alerts()
    ports = sw.SweepPorts(baselines=store, metrics=Metrics(), alerts=alerts)
    out = sw.resolve_silent(ports, config, NOW)
    assert (out.candidates, out.resolved) == (2, 1)
    [envelope] = alerts.sent
    assert envelope.payload["fingerprint"] == "ser_a/spike"
    assert envelope.payload["silence_s"] == 600
    assert envelope.payload["timestamp"] == a.epoch_iso(T0 - 100)
    assert store.states["ser_unregistered"].alarm is not None


@pytest.mark.parametrize("bad", [-1, 1, 59, 30 * 86_400 + 1, "x"])
def test_a_bad_silence_setting_is_refused(bad):
    with pytest.raises(ValueError):
        _config([{"name": "x", "no_data_after_s": bad}])
    assert _config([{"name": "x", "no_data_after_s": 60}]).rules[0].no_data_after_s == 60
