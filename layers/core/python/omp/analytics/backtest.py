"""Backtest: run the platform's detector causally, point by point, over CSV series (NAB layout).

`python -m omp.analytics.backtest DATA OUT [--windows combined_windows.json]` reads every
`DATA/<category>/<file>.csv` (columns `timestamp,value`), scores it with the same
`SeriesDetector` the platform runs, and writes `OUT/<category>/<file>.csv` with
`timestamp,value,anomaly_score`. With `--windows` it prints the NAB score (this project's own
scorer, `omp.analytics.nab`) for the standard, reward_low_FP_rate and reward_low_FN_rate
profiles, and a per-file breakdown.

Causality: the baseline is refitted the way the platform's scheduled refit does it, from the
points seen so far only (the last `history` points), first after `first_fit` points and then
every `refit_every` points; between refits the detector advances its state point by point.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from omp.analytics import baselines, nab
from omp.analytics.baselines import FloatArray
from omp.analytics.detectors import DetectorSettings, PointScore, SeriesDetector


@dataclass(frozen=True)
class RefitPolicy:
    first_fit: int = 300  # points before the first baseline fit; refits at 2x, 4x... until
    # the cadence below is reached (a young series gets its season as soon as it shows)
    refit_every_s: float = 86_400  # the platform's refit cadence (daily), in series time
    min_refit_points: int = 500
    history: int = 8_064  # points of history a refit reads (4 weeks at 5 minutes)


def read_csv(path: Path) -> tuple[list[str], FloatArray, FloatArray]:
    """(timestamp strings, epoch seconds, values) of a `timestamp,value` CSV."""
    lines = path.read_text().splitlines()
    header = [h.strip() for h in lines[0].split(",")]
    ti, vi = header.index("timestamp"), header.index("value")
    raw_ts: list[str] = []
    vals: list[float] = []
    for line in lines[1:]:
        if not line.strip():
            continue
        cells = line.split(",")
        raw_ts.append(cells[ti].strip())
        try:
            vals.append(float(cells[vi]))
        except ValueError:
            vals.append(math.nan)
    ts = np.array([t.replace(" ", "T") for t in raw_ts], dtype="datetime64[s]")
    return raw_ts, ts.astype(np.int64).astype(np.float64), np.array(vals, dtype=np.float64)


def run_series(
    epoch_s: FloatArray,
    values: FloatArray,
    settings: DetectorSettings | None = None,
    policy: RefitPolicy | None = None,
) -> list[PointScore]:
    """Score one series causally: each point sees only the points before it."""
    pol = policy or RefitPolicy()
    det = SeriesDetector(settings)
    step = baselines.step_seconds(epoch_s[: max(pol.first_fit, 2)])
    refit_every = max(pol.min_refit_points, round(pol.refit_every_s / step) if step else 0)
    out: list[PointScore] = []
    next_fit = pol.first_fit
    for i in range(len(values)):
        if i == next_fit:
            lo = max(0, i - pol.history)
            fitted = baselines.fit(values[None, lo:i], step)
            det.load_baseline(fitted, 0)
            next_fit = i + min(refit_every, max(i, 1))
        out.append(det.score(float(epoch_s[i]), float(values[i])))
    return out


def write_scores(
    path: Path, raw_ts: Sequence[str], values: FloatArray, scores: Sequence[float]
) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    rows = ["timestamp,value,anomaly_score"]
    rows += [f"{t},{v:.10g},{s:.6f}" for t, v, s in zip(raw_ts, values, scores, strict=True)]
    path.write_text("\n".join(rows) + "\n")


def run(
    data: Path,
    out: Path | None,
    windows_path: Path | None,
    settings: DetectorSettings | None = None,
    policy: RefitPolicy | None = None,
    only: Sequence[str] = (),
) -> dict[str, nab.CorpusScore] | None:
    files = sorted(p for p in data.glob("*/*.csv"))
    windows = nab.load_windows(windows_path) if windows_path else None
    swept: list[nab.FileRows] = []
    for path in files:
        rel = str(path.relative_to(data))
        if only and not any(o in rel for o in only):
            continue
        raw_ts, epoch, values = read_csv(path)
        scores = [p.score for p in run_series(epoch, values, settings, policy)]
        if out is not None:
            write_scores(out / rel, raw_ts, values, scores)
        if windows is not None:
            ts = np.array([t.replace(" ", "T") for t in raw_ts], dtype="datetime64[us]")
            swept.append(nab.sweep_file(rel, ts, scores, windows.get(rel, [])))
    if windows is None:
        return None
    return nab.score_all_profiles(swept)


def format_results(results: dict[str, nab.CorpusScore]) -> str:
    lines = ["NAB scores (omp.analytics.nab; threshold optimised over the corpus per profile)"]
    lines.append(f"{'profile':<20} {'score':>7} {'threshold':>10}")
    for name, r in results.items():
        lines.append(f"{name:<20} {r.score:7.2f} {r.threshold:10.4f}")
    std = results.get("standard") or next(iter(results.values()))
    lines.append("")
    lines.append(f"per file (profile {std.profile}, threshold {std.threshold:.4f})")
    lines.append(f"{'file':<58} {'raw':>7} {'windows':>7} {'found':>5} {'FP rows':>7}")
    for f in std.files:
        lines.append(
            f"{f.name:<58} {f.score:7.3f} {f.windows:7d} {f.detected_windows:5d} {f.fp:7d}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m omp.analytics.backtest", description=__doc__.splitlines()[0]
    )
    parser.add_argument("data", type=Path, help="folder of <category>/<file>.csv")
    parser.add_argument("out", type=Path, nargs="?", default=None, help="folder for the scores")
    parser.add_argument("--windows", type=Path, default=None, help="combined_windows.json")
    parser.add_argument("--sensitivity", type=float, default=0.5)
    parser.add_argument("--only", action="append", default=[], help="substring of files to run")
    args = parser.parse_args(argv)
    if not args.data.is_dir():
        print(f"no such folder: {args.data}", file=sys.stderr)
        return 2
    results = run(
        args.data,
        args.out,
        args.windows,
        DetectorSettings(sensitivity=args.sensitivity),
        None,
        args.only,
    )
    if results is not None:
        print(format_results(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
