"""The project's own NAB scorer, written from the Numenta Anomaly Benchmark's published rules.

Rules as implemented (NAB v1.1, `nab/sweeper.py` semantics):

- Each file's first `min(floor(0.15 * n), 0.15 * 5000)` rows are probationary and not scored.
- A labelled window `[start, end]` covers the rows whose timestamps fall inside it; with `r` the
  index of its last row and `w` its width in rows, a detection at row `i` inside it is worth
  `A_TP * S(-(r - i + 1) / w) / S(-1)` where `S(x) = 2 / (1 + exp(5x)) - 1` (the scaled sigmoid,
  `S(x) = -1` for `x > 3`). Only the best (earliest) detection in a window counts; a window with
  no detection costs `-A_FN`.
- A detection outside every window costs `A_FP * S(|i - r_prev| / (w_prev - 1))` with `r_prev`,
  `w_prev` the previous window's last row and width, or `-A_FP` before the first window. Every
  such row counts (there is no merging of consecutive detections).
- A row is a detection when its anomaly score is `>= threshold`; one threshold is chosen for the
  whole corpus (per profile) as the one giving the highest raw score (ties: the highest
  threshold), sweeping every distinct score, plus "no detection at all".
- Normalised score: `100 * (raw - raw_null) / (raw_perfect - raw_null)` with the null detector
  detecting nothing (`-A_FN` per scored window) and the perfect one earning `A_TP` per window.

True negatives (`A_TN`) carry no weight in NAB's score; the weight is kept for completeness.
Pure numpy, no I/O except the small JSON loaders.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

PROBATION_PERCENT = 0.15


@dataclass(frozen=True)
class CostMatrix:
    tp: float
    fp: float
    fn: float
    tn: float = 1.0


# config/profiles.json of NAB v1.1.
PROFILES: dict[str, CostMatrix] = {
    "standard": CostMatrix(tp=1.0, fp=0.11, fn=1.0, tn=1.0),
    "reward_low_FP_rate": CostMatrix(tp=1.0, fp=0.22, fn=1.0, tn=1.0),
    "reward_low_FN_rate": CostMatrix(tp=1.0, fp=0.11, fn=2.0, tn=1.0),
}


def load_profiles(path: str | Path) -> dict[str, CostMatrix]:
    raw = json.loads(Path(path).read_text())
    out: dict[str, CostMatrix] = {}
    for name, body in raw.items():
        cm = body["CostMatrix"]
        out[name] = CostMatrix(
            tp=float(cm["tpWeight"]),
            fp=float(cm["fpWeight"]),
            fn=float(cm["fnWeight"]),
            tn=float(cm.get("tnWeight", 1.0)),
        )
    return out


def load_windows(path: str | Path) -> dict[str, list[tuple[np.datetime64, np.datetime64]]]:
    """`combined_windows.json`: relative file path -> list of (start, end) timestamps."""
    raw = json.loads(Path(path).read_text())
    return {key: [(_ts(a), _ts(b)) for a, b in windows] for key, windows in raw.items()}


def _ts(text: str) -> np.datetime64:
    return np.datetime64(text.strip().replace(" ", "T"), "us")


def scaled_sigmoid(x: float) -> float:
    if x > 3.0:
        return -1.0
    return 2.0 / (1.0 + math.exp(5.0 * x)) - 1.0


def probation_length(n: int, percent: float = PROBATION_PERCENT) -> int:
    # NAB: min(floor(p * n), p * 5000); rows with index >= this are scored.
    return math.ceil(min(math.floor(percent * n), percent * 5000))


@dataclass
class FileRows:
    """One file's scorable rows: its anomaly scores, which window each row is in (-1: none) and
    the unweighted sweep value (a TP value inside a window, an FP cost outside)."""

    name: str
    scores: FloatArray
    window: IntArray
    unweighted: FloatArray
    n_windows: int
    scored_windows: list[int] = field(default_factory=list)


def sweep_file(
    name: str,
    timestamps: npt.NDArray[np.datetime64],
    scores: Sequence[float] | FloatArray,
    windows: Sequence[tuple[np.datetime64, np.datetime64]],
    probation_percent: float = PROBATION_PERCENT,
) -> FileRows:
    ts = np.asarray(timestamps).astype("datetime64[us]")
    sc = np.asarray(scores, dtype=np.float64)
    n = len(ts)
    if len(sc) != n:
        raise ValueError(f"{name}: {n} timestamps but {len(sc)} scores")
    window = np.full(n, -1, dtype=np.int64)
    unweighted = np.empty(n, dtype=np.float64)
    max_tp = scaled_sigmoid(-1.0)
    idx = np.arange(n, dtype=np.float64)
    prev_right: int | None = None
    prev_width = 0.0
    cursor = 0  # first row not yet assigned
    for k, (start, end) in enumerate(sorted(windows)):
        left = int(np.searchsorted(ts, start, side="left"))
        right = int(np.searchsorted(ts, end, side="right")) - 1
        if right < left:
            continue
        _fill_fp(unweighted, idx, cursor, left, prev_right, prev_width)
        width = float(right - left + 1)
        pos = -(right - idx[left : right + 1] + 1) / width
        unweighted[left : right + 1] = _sigmoid_vec(pos) / max_tp
        window[left : right + 1] = k
        prev_right, prev_width, cursor = right, width, right + 1
    _fill_fp(unweighted, idx, cursor, n, prev_right, prev_width)
    start_row = probation_length(n, probation_percent)
    keep = slice(start_row, n)
    scored = sorted({int(w) for w in window[keep] if w >= 0})
    return FileRows(
        name=name,
        scores=sc[keep],
        window=window[keep],
        unweighted=unweighted[keep],
        n_windows=len(windows),
        scored_windows=scored,
    )


def _sigmoid_vec(x: FloatArray) -> FloatArray:
    out: FloatArray = 2.0 / (1.0 + np.exp(np.minimum(5.0 * x, 700.0))) - 1.0
    return np.where(x > 3.0, -1.0, out)


def _fill_fp(
    out: FloatArray, idx: FloatArray, lo: int, hi: int, prev_right: int | None, prev_width: float
) -> None:
    if hi <= lo:
        return
    if prev_right is None:
        out[lo:hi] = -1.0
        return
    # NAB divides by (width - 1); a one-row window would divide by zero: treat as far away.
    if prev_width <= 1.0:
        out[lo:hi] = -1.0
        return
    out[lo:hi] = _sigmoid_vec(np.abs(prev_right - idx[lo:hi]) / (prev_width - 1.0))


@dataclass(frozen=True)
class FileScore:
    name: str
    score: float
    tp: int
    fp: int
    fn: int
    tn: int
    windows: int
    detected_windows: int


def score_file(rows: FileRows, cost: CostMatrix, threshold: float) -> FileScore:
    det = rows.scores >= threshold
    inw = rows.window >= 0
    fp_sum = float(np.sum(rows.unweighted[det & ~inw])) * cost.fp
    total = fp_sum
    detected = 0
    for w in rows.scored_windows:
        hits = det & (rows.window == w)
        if hits.any():
            best = float(np.max(rows.unweighted[hits])) * cost.tp
            total += max(best, -cost.fn)
            detected += 1
        else:
            total -= cost.fn
    return FileScore(
        name=rows.name,
        score=total,
        tp=int(np.sum(det & inw)),
        fp=int(np.sum(det & ~inw)),
        fn=int(np.sum(~det & inw)),
        tn=int(np.sum(~det & ~inw)),
        windows=len(rows.scored_windows),
        detected_windows=detected,
    )


def sweep_thresholds(files: Sequence[FileRows], cost: CostMatrix) -> tuple[FloatArray, FloatArray]:
    """Raw corpus score at every distinct anomaly score used as threshold (descending), the first
    entry being 'no detection' (threshold +inf). Vectorised over rows."""
    scores = np.concatenate([f.scores for f in files]) if files else np.zeros(0)
    unw = np.concatenate([f.unweighted for f in files]) if files else np.zeros(0)
    offsets = np.cumsum([0] + [len(f.scored_windows) for f in files])
    # Global window ids: a file's k-th scored window -> offsets[file] + rank.
    gwin_parts = []
    for f, off in zip(files, offsets[:-1], strict=False):
        remap = {w: off + i for i, w in enumerate(f.scored_windows)}
        gwin_parts.append(np.array([remap.get(int(w), -1) for w in f.window], dtype=np.int64))
    gwin = np.concatenate(gwin_parts) if gwin_parts else np.zeros(0, dtype=np.int64)
    n_windows = int(offsets[-1])
    null = -cost.fn * n_windows
    order = np.argsort(-scores, kind="stable")
    s_sorted = scores[order]
    w_sorted = gwin[order]
    u_sorted = unw[order]
    # Per-row increments of the corpus score when that row becomes a detection.
    inc = np.where(w_sorted < 0, u_sorted * cost.fp, 0.0)
    # Windows: the running best per window only improves; add the improvement.
    best = np.full(n_windows, -cost.fn)
    in_rows = np.nonzero(w_sorted >= 0)[0]
    for i in in_rows:
        w = w_sorted[i]
        v = u_sorted[i] * cost.tp
        if v > best[w]:
            inc[i] = v - best[w]
            best[w] = v
    cum = null + np.cumsum(inc)
    # A threshold t detects every row with score >= t: take the last row of each group of ties.
    if len(s_sorted) == 0:
        return np.array([np.inf]), np.array([null])
    last_of_group = np.append(s_sorted[1:] != s_sorted[:-1], True)
    thresholds = np.concatenate([[np.inf], s_sorted[last_of_group]])
    raw = np.concatenate([[null], cum[last_of_group]])
    return thresholds, raw


@dataclass(frozen=True)
class CorpusScore:
    profile: str
    threshold: float
    raw: float
    null: float
    perfect: float
    score: float
    files: list[FileScore]


def score_corpus(
    files: Sequence[FileRows],
    cost: CostMatrix,
    profile: str = "",
    threshold: float | None = None,
) -> CorpusScore:
    """Normalised NAB score; with no threshold given, the best one for the corpus is chosen."""
    n_windows = sum(len(f.scored_windows) for f in files)
    null = -cost.fn * n_windows
    perfect = cost.tp * sum(f.n_windows for f in files)
    if threshold is None:
        thresholds, raw = sweep_thresholds(files, cost)
        best = int(np.argmax(raw))  # first maximum: the highest threshold among ties
        threshold = float(thresholds[best])
    per_file = [score_file(f, cost, threshold) for f in files]
    total = float(sum(p.score for p in per_file))
    denom = perfect - null
    norm = 100.0 * (total - null) / denom if denom else 0.0
    return CorpusScore(profile, threshold, total, null, perfect, norm, per_file)


def score_all_profiles(
    files: Sequence[FileRows], profiles: Mapping[str, CostMatrix] | None = None
) -> dict[str, CorpusScore]:
    chosen = PROFILES if profiles is None else profiles
    return {name: score_corpus(files, cost, name) for name, cost in chosen.items()}


def read_scored_csv(path: str | Path) -> tuple[npt.NDArray[np.datetime64], FloatArray]:
    """A results CSV with a `timestamp` column and an `anomaly_score` column."""
    lines = Path(path).read_text().splitlines()
    header = [h.strip() for h in lines[0].split(",")]
    ti, si = header.index("timestamp"), header.index("anomaly_score")
    ts: list[np.datetime64] = []
    sc: list[float] = []
    for line in lines[1:]:
        if not line.strip():
            continue
        cells = line.split(",")
        ts.append(_ts(cells[ti]))
        sc.append(float(cells[si]))
    return np.array(ts, dtype="datetime64[us]"), np.array(sc, dtype=np.float64)


def format_report(results: Mapping[str, CorpusScore], per_file: Iterable[str] = ()) -> str:
    lines = [f"{'profile':<20} {'score':>8} {'threshold':>10} {'raw':>9}"]
    for name, r in results.items():
        lines.append(f"{name:<20} {r.score:8.2f} {r.threshold:10.4f} {r.raw:9.3f}")
    return "\n".join(lines)
