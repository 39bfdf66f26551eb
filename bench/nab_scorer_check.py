"""Validate the project's NAB scorer (omp.analytics.nab) against NAB's own published results.

`python -m bench.nab_scorer_check <NAB checkout>` reads the published per-row result CSVs of
each detector under `<NAB>/results/<detector>/<category>/<detector>_<file>.csv`, scores them with
`omp.analytics.nab`, once at the threshold NAB's optimizer chose (`config/thresholds.json`) and
once at the threshold our exhaustive sweep picks, normalised against the null detector, with
`<NAB>/labels/combined_windows.json`, and compares the normalised
scores with `<NAB>/results/final_results.json`. The NAB checkout is e.g. a clone of
github.com/numenta/NAB (only `results/`, `labels/` and `config/` are read).

With `--subset <dir>` (the NAB layout `<category>/<file>.csv`, e.g. ../shared/data/nab/data) it
also scores each published detector on only those files: a reference for the backtest's score.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from bench.common import report, table
from omp.analytics import nab


def _files(
    root: Path,
    detector: str,
    windows: dict[str, list[tuple[object, object]]],
    subset: set[str] | None,
) -> list[nab.FileRows]:
    out = []
    for rel, wins in sorted(windows.items()):
        if subset is not None and rel not in subset:
            continue
        cat, fname = rel.split("/", 1)
        path = root / "results" / detector / cat / f"{detector}_{fname}"
        ts, scores = nab.read_scored_csv(path)
        out.append(nab.sweep_file(rel, ts, scores, wins))  # type: ignore[arg-type]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("nab_root", type=Path)
    parser.add_argument("--subset", type=Path, default=None)
    parser.add_argument(
        "--detectors",
        default="null,random,numenta,contextOSE,ARTime,randomCutForest,windowedGaussian",
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    windows = nab.load_windows(args.nab_root / "labels" / "combined_windows.json")
    profiles = nab.load_profiles(args.nab_root / "config" / "profiles.json")
    published = json.loads((args.nab_root / "results" / "final_results.json").read_text())
    # NAB's own optimizer is a local search; its chosen thresholds are in config/thresholds.json.
    nab_thresholds = json.loads((args.nab_root / "config" / "thresholds.json").read_text())
    subset = None
    if args.subset is not None:
        subset = {str(p.relative_to(args.subset)) for p in args.subset.glob("*/*.csv")}
    rows = []
    worst = 0.0
    for det in args.detectors.split(","):
        files = _files(args.nab_root, det, windows, None)  # type: ignore[arg-type]
        res = nab.score_all_profiles(files, profiles)
        sub = None
        if subset is not None:
            sub_files = [f for f in files if f.name in subset]
            sub = nab.score_all_profiles(sub_files, profiles)
        for prof, r in res.items():
            pub = float(published[det][prof])
            at_theirs = nab.score_corpus(
                files, profiles[prof], prof, float(nab_thresholds[det][prof]["threshold"])
            )
            worst = max(worst, abs(at_theirs.score - pub))
            rows.append(
                [
                    det,
                    prof,
                    f"{pub:.4f}",
                    f"{at_theirs.score:.4f}",
                    f"{at_theirs.score - pub:+.6f}",
                    f"{r.score:.2f}",
                    f"{r.threshold:.4f}",
                    f"{sub[prof].score:.2f}" if sub else "",
                ]
            )
    headers = [
        "detector",
        "profile",
        "published",
        "ours at NAB's threshold",
        "diff",
        "ours, own sweep",
        "own threshold",
        "subset (own sweep)",
    ]
    summary = (
        table(headers, rows)
        + f"\n\nlargest |ours at NAB's threshold - published|: {worst:.6f}"
        + "\n(own sweep: every distinct score tried, so it can only find an equal or higher score)"
    )
    result = {"rows": [dict(zip(headers, r, strict=True)) for r in rows], "max_abs_diff": worst}
    return report("nab_scorer_check", result, summary, started)


if __name__ == "__main__":
    sys.exit(main())
