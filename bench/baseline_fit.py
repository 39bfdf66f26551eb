"""Baseline fitting: speed at scale, speed against statsmodels, and next-day forecast error.

`python -m bench.baseline_fit [NAB data dir] [--series 10000] [--statsmodels-sample 20]`

1. Fits `--series` synthetic series of 2,016 points (one week at 5 minutes: a daily season,
   noise, outliers, a gap, some multiplicative, some trending) with `omp.analytics.baselines.fit`
   on one core (BLAS/OpenMP threads pinned to 1). Target: < 30 s for 10,000.
2. Fits a sample of the same series with statsmodels' ExponentialSmoothing (additive trend,
   damped, additive daily season: the same family) in the same run; compares seconds per
   series. Target: ours >= 50x faster per series.
3. Next-day forecast error on the NAB series (default ../shared/data/nab/data): at two forecast
   origins per file (the middle and one day before the end) both models are fitted on up to the
   previous 4,032 points and forecast the next day; MASE = MAE / in-sample MAE of the seasonal
   naive forecast (lag one day, or one step when the series has under two days). Target: our
   mean MASE no worse than statsmodels'.

statsmodels is a bench-only dependency (requirements.txt), never in the Lambda layer.
"""

from __future__ import annotations

import os

for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_v] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from bench.common import ROOT, report, table  # noqa: E402
from omp.analytics import backtest, baselines  # noqa: E402

STEP_S = 300
POINTS = 2_016
DAY = 288
HISTORY = 4_032


def synthetic(n: int, seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(POINTS)
    level = rng.uniform(50, 500, (n, 1))
    amp = rng.uniform(0.0, 0.4, (n, 1)) * level
    phase = rng.uniform(0, 2 * np.pi, (n, 1))
    season = np.sin(2 * np.pi * t / DAY + phase)
    trend = rng.normal(0, 0.02, (n, 1)) * level / DAY * t
    mult = rng.random((n, 1)) < 0.3
    growth = 1 + 0.5 * t / POINTS
    y = np.where(mult, (level + trend) * (1 + 0.3 * season) * growth, level + trend + amp * season)
    y = y + rng.normal(0, 1, (n, POINTS)) * 0.05 * level
    spikes = rng.random((n, POINTS)) < 0.002
    y = np.where(spikes, y + 8 * 0.05 * level * rng.choice([-1, 1], (n, POINTS)), y)
    gap = rng.integers(0, POINTS - 30, n)
    for i in np.nonzero(rng.random(n) < 0.2)[0]:
        y[i, gap[i] : gap[i] + 24] = np.nan
    return y


def statsmodels_fit(y: np.ndarray, period: int) -> object:
    from statsmodels.tsa.holtwinters import ExponentialSmoothing

    seasonal = "add" if period and len(y) >= 2 * period else None
    model = ExponentialSmoothing(
        y,
        trend="add",
        damped_trend=True,
        seasonal=seasonal,
        seasonal_periods=period if seasonal else None,
        initialization_method="estimated",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return model.fit()


def _fill(y: np.ndarray) -> np.ndarray:
    """statsmodels does not take NaN: carry the last value (ours takes the gaps as they are)."""
    out = y.copy()
    idx = np.where(~np.isnan(out), np.arange(len(out)), 0)
    np.maximum.accumulate(idx, out=idx)
    out = out[idx]
    return np.where(np.isnan(out), np.nanmean(y), out)


def mase(actual: np.ndarray, fc: np.ndarray, history: np.ndarray, lag: int) -> float:
    h = history[~np.isnan(history)]
    if len(h) <= lag:
        lag = 1
    scale = float(np.mean(np.abs(h[lag:] - h[:-lag]))) if len(h) > lag else 0.0
    ok = ~np.isnan(actual)
    err = float(np.mean(np.abs(actual[ok] - fc[ok])))
    return err / scale if scale > 0 else float("nan")


def nab_mase(data: Path) -> tuple[list[list[str]], float, float]:
    rows: list[list[str]] = []
    ours_all: list[float] = []
    sm_all: list[float] = []
    for path in sorted(data.glob("*/*.csv")):
        _, epoch, values = backtest.read_csv(path)
        step = baselines.step_seconds(epoch)
        day = round(86_400 / step) if step else 1
        n = len(values)
        for origin in (n // 2, n - day):
            if origin < 2 * day + 10 or origin + day > n:
                continue
            hist = values[max(0, origin - HISTORY) : origin]
            actual = values[origin : origin + day]
            b = baselines.fit(hist[None, :], step)
            ours = baselines.forecast(b, day)[0]
            period = int(b.period[0])
            sm = statsmodels_fit(_fill(hist), day).forecast(day)  # type: ignore[attr-defined]
            lag = day if len(hist) >= 2 * day else 1
            m_o, m_s = mase(actual, ours, hist, lag), mase(actual, np.asarray(sm), hist, lag)
            ours_all.append(m_o)
            sm_all.append(m_s)
            rows.append(
                [
                    str(path.relative_to(data)),
                    str(origin),
                    str(period),
                    f"{m_o:.3f}",
                    f"{m_s:.3f}",
                ]
            )
    return rows, float(np.nanmean(ours_all)), float(np.nanmean(sm_all))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", nargs="?", type=Path, default=ROOT.parent / "shared/data/nab/data")
    parser.add_argument("--series", type=int, default=10_000)
    parser.add_argument("--statsmodels-sample", type=int, default=20)
    parser.add_argument("--skip-mase", action="store_true")
    args = parser.parse_args(argv)
    started = time.perf_counter()

    y = synthetic(args.series)
    t0 = time.perf_counter()
    fitted = baselines.fit(y, STEP_S)
    ours_s = time.perf_counter() - t0
    per_ours = ours_s / args.series

    k = args.statsmodels_sample
    t0 = time.perf_counter()
    for i in range(k):
        statsmodels_fit(_fill(y[i]), DAY)
    sm_s = time.perf_counter() - t0
    per_sm = sm_s / k
    speedup = per_sm / per_ours

    result: dict[str, object] = {
        "series": args.series,
        "points": POINTS,
        "fit_s": round(ours_s, 2),
        "fit_target_met": ours_s < 30,
        "seasonal_found": int(np.sum(fitted.period > 0)),
        "multiplicative_found": int(np.sum(fitted.multiplicative)),
        "statsmodels_sample": k,
        "statsmodels_s_per_series": round(per_sm, 4),
        "ours_s_per_series": round(per_ours, 6),
        "speedup": round(speedup, 1),
        "speedup_target_met": speedup >= 50,
    }
    lines = [
        f"fit {args.series} series x {POINTS} points: {ours_s:.1f} s (target < 30 s), "
        f"{np.sum(fitted.period > 0)} seasonal, {np.sum(fitted.multiplicative)} multiplicative",
        f"statsmodels ExponentialSmoothing: {per_sm * 1000:.1f} ms/series over {k} series; ours "
        f"{per_ours * 1000:.3f} ms/series: {speedup:.0f}x (target >= 50x)",
    ]
    if not args.skip_mase and args.data.is_dir():
        rows, m_ours, m_sm = nab_mase(args.data)
        result.update({"mase_ours": round(m_ours, 4), "mase_statsmodels": round(m_sm, 4)})
        result["mase_target_met"] = m_ours <= m_sm
        lines.append(
            f"next-day MASE on NAB ({len(rows)} forecasts): ours {m_ours:.3f}, "
            f"statsmodels {m_sm:.3f} (target: ours <= statsmodels)"
        )
        lines.append(table(["file", "origin", "period", "MASE ours", "MASE statsmodels"], rows))
    return report("baseline_fit", result, "\n".join(lines), started)


if __name__ == "__main__":
    sys.exit(main())
