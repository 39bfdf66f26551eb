"""Baselines on synthetic series with known seasonality, outliers and gaps."""

import numpy as np
import pytest

from omp.analytics import baselines

DAY = 288  # points per day at 5 minutes
STEP = 300


def daily(n_days=4, amp=10.0, level=100.0, noise=1.0, seed=0, series=1):
    rng = np.random.default_rng(seed)
    t = np.arange(n_days * DAY)
    y = level + amp * np.sin(2 * np.pi * t / DAY) + rng.normal(0, noise, (series, len(t)))
    return y


def truth_next_day(n_days=4, amp=10.0, level=100.0):
    t = np.arange(n_days * DAY, (n_days + 1) * DAY)
    return level + amp * np.sin(2 * np.pi * t / DAY)


def test_seasonality_found_from_the_data():
    rng = np.random.default_rng(1)
    y_daily = daily(series=2)
    noise = rng.normal(0, 1, (1, 4 * DAY))
    hourly = np.arange(21 * 24)
    # Weekdays busy, weekends quiet: a weekly pattern at one point per hour.
    weekly = 50 + 30 * ((hourly // 24) % 7 < 5) + rng.normal(0, 1, len(hourly))
    assert list(baselines.detect_period(np.vstack([y_daily, noise]), STEP)) == [DAY, DAY, 0]
    assert baselines.detect_period(weekly[None, :], 3600)[0] == 168
    # Under two cycles of history, no season is claimed.
    assert baselines.detect_period(y_daily[:, : DAY + 10], STEP)[0] == 0


def test_forecast_follows_the_season():
    b = baselines.fit(daily(), STEP)
    assert b.period[0] == DAY and not b.multiplicative[0]
    fc = baselines.forecast(b, DAY)[0]
    assert np.mean(np.abs(fc - truth_next_day())) < 1.0


def test_outliers_do_not_drag_the_baseline():
    y = daily()
    rng = np.random.default_rng(2)
    idx = rng.choice(y.shape[1], 20, replace=False)
    y[0, idx] += rng.choice([-1, 1], 20) * 60  # 60 sigma spikes
    y[0, -2:] += 80  # even at the very end
    b = baselines.fit(y, STEP)
    fc = baselines.forecast(b, DAY)[0]
    assert np.mean(np.abs(fc - truth_next_day())) < 1.5
    assert b.scale[0] < 2.0


def test_gaps_are_skipped():
    y = daily()
    y[0, 300:420] = np.nan
    y[0, -3:] = np.nan
    b = baselines.fit(y, STEP)
    assert np.isfinite(b.level[0]) and np.isfinite(b.scale[0])
    assert b.n_points[0] == y.shape[1] - 123
    fc = baselines.forecast(b, DAY)[0]
    assert b.phase[0] == (4 * DAY) % DAY
    assert np.mean(np.abs(fc - truth_next_day())) < 1.5


def test_multiplicative_season_when_the_swing_grows_with_the_level():
    rng = np.random.default_rng(4)
    t = np.arange(6 * DAY)
    growth = 100 * (1 + t / DAY)
    y = growth * (1 + 0.3 * np.sin(2 * np.pi * t / DAY)) + rng.normal(0, 1, len(t))
    add = 100 + 30 * np.sin(2 * np.pi * t / DAY) + rng.normal(0, 1, len(t))
    b = baselines.fit(np.vstack([y, add]), STEP)
    assert list(b.multiplicative) == [True, False]
    fc = baselines.forecast(b, DAY)[0]
    tt = np.arange(6 * DAY, 7 * DAY)
    truth = 100 * (1 + tt / DAY) * (1 + 0.3 * np.sin(2 * np.pi * tt / DAY))
    # A damped trend gives up part of a steep growth over a day ahead; the shape is right.
    assert np.mean(np.abs(fc - truth) / truth) < 0.1
    assert np.corrcoef(fc, truth - 100 * (1 + tt / DAY))[0, 1] > 0.9


def test_damped_trend_is_picked_for_a_trending_series():
    rng = np.random.default_rng(5)
    t = np.arange(600)
    y = 10 + 0.5 * t + rng.normal(0, 1, len(t))
    b = baselines.fit(y[None, :], STEP)
    assert b.period[0] == 0
    assert b.beta[0] > 0 and b.phi[0] < 1
    assert baselines.forecast(b, 1)[0, 0] == pytest.approx(10 + 0.5 * 600, abs=3)


def test_band_covers_the_noise():
    y = daily(n_days=5)
    b = baselines.fit(y[:, : 4 * DAY], STEP)
    exp, lo, hi = baselines.band(b, DAY)
    nxt = y[0, 4 * DAY :]
    inside = np.mean((nxt >= lo[0]) & (nxt <= hi[0]))
    assert inside > 0.95
    assert np.all(lo <= exp) and np.all(exp <= hi)
    # A wider band is wider.
    _, lo2, hi2 = baselines.band(b, DAY, width=2.0)
    assert np.all(hi2 - lo2 > hi - lo)


def test_fitting_together_equals_fitting_alone():
    y = daily(series=3, seed=9)
    y[1] *= 3
    together = baselines.fit(y, STEP)
    for i in range(3):
        alone = baselines.fit(y[i : i + 1], STEP)
        assert alone.alpha[0] == together.alpha[i]
        assert alone.level[0] == pytest.approx(together.level[i])
        assert alone.q_high[0] == pytest.approx(together.q_high[i])


def test_one_series_as_plain_values():
    b = baselines.fit(daily(), STEP)
    d = b.one(0)
    assert d["period"] == DAY and len(d["season"]) == DAY
    assert isinstance(d["level"], float)
