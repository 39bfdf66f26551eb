"""Dynamic baselines: robust Holt-Winters fitted with numpy, vectorised across many series.

`fit(values, step_s)` takes a matrix of series (one row per series, equally spaced points,
NaN for gaps) and returns a `Baseline`: per series the seasonality found in the data (daily,
weekly or none), the Holt-Winters variant (additive or multiplicative seasonality, damped trend
or none), its smoothing parameters, the state after the last point, and a band from the
distribution of its one-step residuals. `forecast` and `band` extend it forward.

How it is fitted (every step is one numpy operation over all series x all grid candidates):

- Seasonality: the autocorrelation, after removing a moving average of one period, at the daily
  and weekly lag (needs two full cycles); weekly wins only when clearly stronger than daily.
- Additive or multiplicative: multiplicative when the series is positive and the spread of each
  cycle grows with its mean (correlation of per-cycle mean and standard deviation).
- Robustness (Gelper, Fried & Croux's robust Holt-Winters): each one-step error is clipped to
  `HUBER_K` times an online robust scale before it updates the state, so a spike does not drag
  the level or the season; a real level shift still gets in, a clipped step at a time, while the
  scale grows. A gap (NaN) updates nothing: the state runs on its own forecast.
- Parameters: a small grid of (alpha, beta, phi, gamma) run side by side; each series keeps the
  candidate with the smallest Huber loss of its one-step errors.
- Band: quantiles of the chosen model's one-step residuals (relative residuals for the
  multiplicative variant), which are not assumed Gaussian, plus a MAD-based scale.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

DAY_S = 86_400
WEEK_S = 7 * DAY_S
HUBER_K = 3.0
SCALE_LAMBDA = 0.05  # smoothing of the online robust scale
MAD_TO_SIGMA = 1.4826
ACF_MIN = 0.3  # autocorrelation needed to call a series seasonal
ACF_WEEKLY_MARGIN = 0.1  # weekly must beat daily by this much
BAND_QUANTILES = (0.005, 0.995)
MAX_PERIOD = 2_100  # longest season kept (a week at 5 minutes is 2,016 points)

# (alpha, beta, phi, gamma): level, trend, damping, season. beta = 0 is "no trend".
GRID: tuple[tuple[float, float, float, float], ...] = tuple(
    (a, b, phi, g)
    for a in (0.05, 0.2, 0.5)
    for (b, phi) in ((0.0, 1.0), (0.02, 0.95))
    for g in (0.05, 0.2)
)


@dataclass
class Baseline:
    """Per-series model, all arrays of length S (season: S x max period)."""

    period: IntArray  # points per season cycle, 0 for none
    multiplicative: BoolArray
    alpha: FloatArray
    beta: FloatArray
    phi: FloatArray
    gamma: FloatArray
    level: FloatArray
    trend: FloatArray
    season: FloatArray  # slot j of the cycle, valid for j < period
    phase: IntArray  # season slot of the next point
    scale: FloatArray  # robust one-step error scale (absolute, or relative if multiplicative)
    q_low: FloatArray  # residual quantiles (absolute, or relative if multiplicative)
    q_high: FloatArray
    n_points: IntArray
    # The state at the start of the fitted grid (level, trend, season, scale) and the grid's
    # length: enough to replay the recursion over the stored points of the fitted window in
    # plain Python (omp.analytics.hw_replay), for the band at past times.
    start_level: FloatArray | None = None
    start_trend: FloatArray | None = None
    start_season: FloatArray | None = None
    start_scale: FloatArray | None = None
    grid_points: int = 0

    def __len__(self) -> int:
        return len(self.level)

    def one(self, i: int) -> dict[str, object]:
        """Series i as plain JSON-able values (what a store keeps per series)."""
        p = int(self.period[i])
        out: dict[str, object] = {
            "period": p,
            "multiplicative": bool(self.multiplicative[i]),
            "alpha": float(self.alpha[i]),
            "beta": float(self.beta[i]),
            "phi": float(self.phi[i]),
            "gamma": float(self.gamma[i]),
            "level": float(self.level[i]),
            "trend": float(self.trend[i]),
            "season": [float(v) for v in self.season[i, :p]],
            "phase": int(self.phase[i]),
            "scale": float(self.scale[i]),
            "q_low": float(self.q_low[i]),
            "q_high": float(self.q_high[i]),
            "n_points": int(self.n_points[i]),
        }
        if self.start_level is not None:
            assert self.start_trend is not None and self.start_scale is not None
            assert self.start_season is not None
            out["start"] = {
                "level": float(self.start_level[i]),
                "trend": float(self.start_trend[i]),
                "season": [float(v) for v in self.start_season[i, :p]],
                "scale": float(self.start_scale[i]),
                "grid_points": self.grid_points,
            }
        return out


def step_seconds(timestamps_s: FloatArray) -> float:
    """The sampling step of a series: the median gap between its timestamps (seconds)."""
    gaps = np.diff(np.asarray(timestamps_s, dtype=np.float64))
    gaps = gaps[gaps > 0]
    return float(np.median(gaps)) if len(gaps) else 0.0


def candidate_periods(step_s: float) -> tuple[int, int]:
    if step_s <= 0:
        return 0, 0
    day = round(DAY_S / step_s)
    week = round(WEEK_S / step_s)
    return (day if day >= 4 else 0), (week if 4 <= week <= MAX_PERIOD else 0)


def _robust_clip(x: FloatArray) -> FloatArray:
    med = np.nanmedian(x, axis=1, keepdims=True)
    mad = np.nanmedian(np.abs(x - med), axis=1, keepdims=True) * MAD_TO_SIGMA
    mad = np.where(mad > 0, mad, np.nanstd(x, axis=1, keepdims=True) + 1e-12)
    out: FloatArray = np.clip(x, med - 4 * mad, med + 4 * mad)
    return out


def _moving_average(x: FloatArray, n: int) -> FloatArray:
    """Centred moving average of n points along axis 1 (NaN-aware, edges shortened)."""
    valid = ~np.isnan(x)
    xs = np.where(valid, x, 0.0)
    c = np.cumsum(np.pad(xs, ((0, 0), (1, 0))), axis=1)
    k = np.cumsum(np.pad(valid.astype(np.float64), ((0, 0), (1, 0))), axis=1)
    t = x.shape[1]
    lo = np.clip(np.arange(t) - n // 2, 0, t)
    hi = np.clip(np.arange(t) - n // 2 + n, 0, t)
    cnt = k[:, hi] - k[:, lo]
    out: FloatArray = (c[:, hi] - c[:, lo]) / np.maximum(cnt, 1.0)
    return np.where(cnt > 0, out, np.nan)


def _acf_at(x: FloatArray, lag: int) -> FloatArray:
    """Autocorrelation at `lag` along axis 1, NaN-aware; -1 where there is too little data."""
    if lag <= 0 or lag >= x.shape[1]:
        return np.full(x.shape[0], -1.0)
    xc = x - np.nanmean(x, axis=1, keepdims=True)
    a, b = xc[:, lag:], xc[:, :-lag]
    both = ~(np.isnan(a) | np.isnan(b))
    num = np.sum(np.where(both, a * b, 0.0), axis=1)
    den = np.sqrt(
        np.sum(np.where(both, a * a, 0.0), axis=1) * np.sum(np.where(both, b * b, 0.0), axis=1)
    )
    out: FloatArray = np.where(den > 0, num / np.where(den > 0, den, 1.0), -1.0)
    return out


def detect_period(values: FloatArray, step_s: float) -> IntArray:
    """Per series: the daily period, the weekly period or 0, from the data's autocorrelation."""
    y = np.atleast_2d(np.asarray(values, dtype=np.float64))
    s, t = y.shape
    day, week = candidate_periods(step_s)
    out = np.zeros(s, dtype=np.int64)
    if s == 0:
        return out
    yc = _robust_clip(y)
    acf_d = np.full(s, -1.0)
    acf_w = np.full(s, -1.0)
    if day and t >= 2 * day:
        xd = yc - _moving_average(yc, day)
        # Best of lags day-1..day+1: tolerate a period that is not a whole number of steps.
        acf_d = np.max(np.stack([_acf_at(xd, day + d) for d in (-1, 0, 1)]), axis=0)
    if week and t >= 2 * week:
        xw = yc - _moving_average(yc, week)
        acf_w = np.max(np.stack([_acf_at(xw, week + d) for d in (-1, 0, 1)]), axis=0)
    weekly = (acf_w >= ACF_MIN) & (acf_w > acf_d + ACF_WEEKLY_MARGIN)
    daily = ~weekly & (acf_d >= ACF_MIN)
    out[weekly] = week
    out[daily] = day
    return out


def detect_multiplicative(values: FloatArray, period: int) -> BoolArray:
    """Positive series whose per-cycle spread grows with the per-cycle mean."""
    y = np.atleast_2d(np.asarray(values, dtype=np.float64))
    s, t = y.shape
    cycles = t // period if period else 0
    if cycles < 3:
        return np.zeros(s, dtype=bool)
    c = y[:, : cycles * period].reshape(s, cycles, period)
    m = np.nanmean(c, axis=2)
    sd = np.nanstd(c, axis=2)
    mc = m - np.nanmean(m, axis=1, keepdims=True)
    sc = sd - np.nanmean(sd, axis=1, keepdims=True)
    den = np.sqrt(np.nansum(mc * mc, axis=1) * np.nansum(sc * sc, axis=1))
    corr = np.where(den > 0, np.nansum(mc * sc, axis=1) / np.where(den > 0, den, 1.0), 0.0)
    spread = np.nanmax(m, axis=1) / np.maximum(np.nanmin(m, axis=1), 1e-12)
    positive = np.nanmin(y, axis=1) > 0
    out: BoolArray = positive & (corr > 0.7) & (spread > 1.3)
    return out


def _initial_state(
    y: FloatArray, period: int, mult: BoolArray
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    """Level, trend, season (S x max(period,1)) and scale at the start, from the first cycles."""
    s, t = y.shape
    if period:
        cycles = max(1, min(t // period, 4))
        head = y[:, : cycles * period]
        # Seasonal indices against a centred moving average, so growth inside a cycle does
        # not leak into the season.
        ma = _moving_average(head, period)
        # Only full windows: a shortened one at the edges is biased by the season itself.
        tt = np.arange(head.shape[1], dtype=np.float64)
        full = (tt >= period // 2) & (tt < head.shape[1] - (period - period // 2) + 1)
        ma = np.where(full[None, :], ma, np.nan)
        detr = np.where(mult[:, None], head / np.where(ma != 0, ma, 1.0), head - ma)
        season = np.nanmedian(detr.reshape(s, cycles, period), axis=1)
        season = np.where(np.isnan(season), np.where(mult[:, None], 1.0, 0.0), season)
        centre = np.where(mult, np.mean(season, axis=1), 0.0)
        season = np.where(
            mult[:, None],
            season / np.where(centre != 0, centre, 1.0)[:, None],
            season - np.mean(season, axis=1, keepdims=True),
        )
        # Level and trend at t = 0: a straight line through the moving average.
        ok = ~np.isnan(ma)
        cnt = np.maximum(ok.sum(axis=1), 1)
        t_mean = np.sum(np.where(ok, tt, 0.0), axis=1) / cnt
        m_mean = np.sum(np.where(ok, ma, 0.0), axis=1) / cnt
        dt = np.where(ok, tt - t_mean[:, None], 0.0)
        var_t = np.sum(dt * dt, axis=1)
        cov = np.sum(dt * np.where(ok, ma - m_mean[:, None], 0.0), axis=1)
        trend = np.where(var_t > 0, cov / np.where(var_t > 0, var_t, 1.0), 0.0)
        level = np.where(ok.any(axis=1), m_mean - trend * t_mean, np.nan)
        diffs = y[:, period:] - y[:, :-period] if t > period else np.diff(y, axis=1)
    else:
        season = np.zeros((s, 1))
        level = np.nanmedian(y[:, : min(t, 12)], axis=1)
        trend = np.zeros(s)
        diffs = np.diff(y, axis=1)
    level = np.where(np.isnan(level), np.nanmedian(y, axis=1), level)
    level = np.where(np.isnan(level), 0.0, level)
    trend = np.where(np.isnan(trend), 0.0, trend)
    # One-step scale from differences: MAD / sqrt(2) (a difference carries two errors).
    if diffs.shape[1]:
        med = np.nanmedian(diffs, axis=1, keepdims=True)
        scale = np.nanmedian(np.abs(diffs - med), axis=1) * MAD_TO_SIGMA / np.sqrt(2.0)
    else:
        scale = np.zeros(s)
    scale = np.where(np.isnan(scale), 0.0, scale)
    floor = 1e-6 * (np.abs(level) + 1.0)
    scale = np.maximum(scale, floor)
    rel = scale / np.maximum(np.abs(level), 1e-12)
    scale = np.where(mult, rel, scale)
    return level, trend, season, scale


def _run(
    y: FloatArray,
    period: int,
    mult: BoolArray,
    params: FloatArray,
    init: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
    keep_residuals: bool,
) -> tuple[
    FloatArray, FloatArray, FloatArray, FloatArray, FloatArray, npt.NDArray[np.float32] | None
]:
    """Robust Holt-Winters recursion over the T points of y (S x T) for G candidates at once.

    `params` is (S or 1) x G x 4 (alpha, beta, phi, gamma); state is S x G (season S x G x P),
    so y broadcasts and is never copied per candidate. Returns level, trend, season, scale,
    the Huber loss per (series, candidate), and the one-step residuals (S x G x T, relative for
    multiplicative series) when asked."""
    s, t = y.shape
    g = params.shape[1]
    alpha, beta, phi, gamma = (params[:, :, c] for c in range(4))
    lv0, tr0, se0, sc0 = init
    level = np.repeat(lv0[:, None], g, axis=1)
    # A candidate without a trend (beta = 0) starts without one too.
    trend = np.where(beta > 0, tr0[:, None], 0.0) * np.ones((1, g))
    # Season stored slot-major (P x S x G): each step reads and writes one contiguous slab.
    season = np.ascontiguousarray(np.repeat(se0.T[:, :, None], g, axis=2))
    scale = np.repeat(sc0[:, None], g, axis=1)
    loss = np.zeros((s, g))
    resid: npt.NDArray[np.float32] | None = (
        np.full((s, g, t), np.nan, dtype=np.float32) if keep_residuals else None
    )
    p = max(period, 1)
    burn = min(p if period else 12, t // 2)
    k = HUBER_K
    lam = SCALE_LAMBDA
    if mult.any() and not mult.all():
        raise ValueError("_run takes series of one kind: all multiplicative or all additive")
    is_mult = bool(mult.any())
    # The loss clips at a fixed limit per series (from its initial scale), the same for every
    # candidate, so the candidates of one series are compared on one yardstick.
    lim0 = (k * sc0)[:, None]
    # E|e| = sigma * sqrt(2 / pi) for Gaussian errors: the scale tracks sigma.
    gain = lam * float(np.sqrt(np.pi / 2.0))
    col_gap = np.asarray(np.isnan(y).any(axis=0), dtype=bool).tolist()
    for i in range(t):
        j = i % p
        yi = y[:, i : i + 1]
        s_j = season[j]
        damped = phi * trend
        base = level + damped
        if not period:
            fc = base
        elif is_mult:
            fc = base * s_j
        else:
            fc = base + s_j
        e = yi - fc
        if is_mult:
            e = e / np.maximum(np.abs(fc), 1e-12)
        gap = col_gap[i]
        if gap:
            missing = np.isnan(e)
            e = np.where(missing, 0.0, e)
        ae = np.abs(e)
        lim = k * scale
        ec = np.minimum(np.maximum(e, -lim), lim)
        if i >= burn:
            h = np.minimum(ae, lim0)  # Huber: e^2 inside the limit, linear outside
            loss += h * (2 * ae - h)
            if resid is not None:
                resid[:, :, i] = np.where(missing, np.nan, e) if gap else e
        # Online robust scale: a bounded update, so one spike moves it by at most lam * k.
        new_scale = scale + gain * np.minimum(ae, lim) - lam * scale
        scale = np.where(missing, scale, new_scale) if gap else new_scale
        if is_mult:
            # Error-correction form of ETS(A,Ad,M): absolute innovations for level and trend.
            abs_ec = ec * np.abs(fc)
            lvl_ec = abs_ec / np.where(np.abs(s_j) > 1e-12, s_j, 1.0)
            season_ec = abs_ec / np.where(base != 0, base, 1.0)
        else:
            lvl_ec = season_ec = ec
        level = base + alpha * lvl_ec
        trend = damped + beta * lvl_ec
        if period:
            season[j] = s_j + gamma * season_ec
    return level, trend, np.moveaxis(season, 0, 2), scale, loss, resid


def fit(
    values: FloatArray,
    step_s: float,
    period: IntArray | None = None,
    grid: tuple[tuple[float, float, float, float], ...] = GRID,
) -> Baseline:
    """Fit every row of `values` (S x T, NaN for gaps) sampled every `step_s` seconds."""
    y = np.atleast_2d(np.asarray(values, dtype=np.float64))
    s, t = y.shape
    periods = detect_period(y, step_s) if period is None else np.asarray(period, dtype=np.int64)
    pmax = max(1, int(periods.max()) if s else 1)
    out = Baseline(
        period=periods.copy(),
        multiplicative=np.zeros(s, dtype=bool),
        alpha=np.zeros(s),
        beta=np.zeros(s),
        phi=np.ones(s),
        gamma=np.zeros(s),
        level=np.zeros(s),
        trend=np.zeros(s),
        season=np.zeros((s, pmax)),
        phase=np.zeros(s, dtype=np.int64),
        scale=np.zeros(s),
        q_low=np.zeros(s),
        q_high=np.zeros(s),
        n_points=np.sum(~np.isnan(y), axis=1).astype(np.int64),
        start_level=np.zeros(s),
        start_trend=np.zeros(s),
        start_season=np.zeros((s, pmax)),
        start_scale=np.zeros(s),
        grid_points=t,
    )
    assert out.start_level is not None and out.start_trend is not None
    assert out.start_season is not None and out.start_scale is not None
    g_all = np.array(grid, dtype=np.float64)
    kinds = np.zeros(s, dtype=bool)
    for p in np.unique(periods):
        rows = np.nonzero(periods == p)[0]
        if p:
            kinds[rows] = detect_multiplicative(y[rows], int(p))
    for p, is_mult in sorted({(int(a), bool(b)) for a, b in zip(periods, kinds, strict=True)}):
        rows = np.nonzero((periods == p) & (kinds == is_mult))[0]
        yg = y[rows]
        mult = np.full(len(rows), is_mult)
        cand = g_all if p else g_all[g_all[:, 3] == g_all[0, 3]]  # gamma is moot without a season
        init = _initial_state(yg, p, mult)
        *_, loss, _ = _run(yg, p, mult, cand[None, :, :], init, keep_residuals=False)
        best = np.argmin(np.where(np.isfinite(loss), loss, np.inf), axis=1)
        chosen = cand[best]
        lv, tr, se, sc, _, res3 = _run(yg, p, mult, chosen[:, None, :], init, keep_residuals=True)
        assert res3 is not None
        res = res3[:, 0, :]
        out.multiplicative[rows] = mult
        out.alpha[rows], out.beta[rows] = chosen[:, 0], chosen[:, 1]
        out.phi[rows], out.gamma[rows] = chosen[:, 2], chosen[:, 3]
        out.level[rows], out.trend[rows], out.scale[rows] = lv[:, 0], tr[:, 0], sc[:, 0]
        # The start state as _run uses it (a candidate without a trend starts without one).
        out.start_level[rows], out.start_scale[rows] = init[0], init[3]
        out.start_trend[rows] = np.where(chosen[:, 1] > 0, init[1], 0.0)
        if p:
            out.season[rows, :p] = se[:, 0, :]
            out.start_season[rows, :p] = init[2][:, :p]
            out.phase[rows] = t % p
        enough = np.sum(~np.isnan(res), axis=1) >= 10
        if enough.any():
            qs = np.nanquantile(res[enough].astype(np.float64), BAND_QUANTILES, axis=1)
            idx = rows[enough]
            out.q_low[idx], out.q_high[idx] = qs[0], qs[1]
        few = rows[~enough]
        out.q_low[few] = -HUBER_K * sc[~enough, 0]
        out.q_high[few] = HUBER_K * sc[~enough, 0]
    return out


def forecast(b: Baseline, horizon: int) -> FloatArray:
    """Expected values for the next `horizon` points of every series (S x horizon)."""
    h = np.arange(1, horizon + 1, dtype=np.float64)
    phi = b.phi[:, None]
    # Sum of phi^1..phi^h (h itself when phi == 1).
    damp = np.where(
        np.isclose(phi, 1.0),
        h[None, :],
        phi * (1 - phi ** h[None, :]) / np.where(phi == 1, 1, 1 - phi),
    )
    base = b.level[:, None] + damp * b.trend[:, None]
    p = np.maximum(b.period, 1)[:, None]
    slot = (b.phase[:, None] + np.arange(horizon)[None, :]) % p
    s = np.take_along_axis(b.season, slot, axis=1)
    has = (b.period > 0)[:, None]
    mult = b.multiplicative[:, None]
    out: FloatArray = np.where(has, np.where(mult, base * s, base + s), base)
    return out


def band(
    b: Baseline, horizon: int, width: float = 1.0
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(expected, lower, upper) for the next `horizon` points; `width` scales the band."""
    exp = forecast(b, horizon)
    lo_q = (b.q_low * width)[:, None]
    hi_q = (b.q_high * width)[:, None]
    mult = b.multiplicative[:, None]
    lower = np.where(mult, exp * (1 + lo_q), exp + lo_q)
    upper = np.where(mult, exp * (1 + hi_q), exp + hi_q)
    return exp, lower, upper
