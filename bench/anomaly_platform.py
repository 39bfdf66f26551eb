"""Anomaly detection in the platform: what the refit and the scorer cost per series and point.

    python -m bench.anomaly_platform DATA [--batch 60] [--limit N]

DATA: a folder of `<category>/<file>.csv` (`timestamp,value`, the NAB layout, e.g.
`../shared/data/nab/data`). Per file the first half is history: `omp.services.anomaly.fit_series`
fits it (the refit's grid and fit); the second half is streamed through
`omp.services.scoring.score` in batches of `--batch` points per series, against an in-memory
store that encodes the detector state exactly as the DynamoDB adapter does (zlib-compressed
JSON, decoded again on the next batch), so the figures include the state's (de)serialisation
but no network. Reported: refit time per series, scoring points/s, the per-batch cost of one
series, the stored state size, and the anomaly alarms raised (firing/resolved payloads).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import zlib
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import machine
from omp.analytics.backtest import read_csv
from omp.domain import anomaly as a
from omp.domain.detector_settings import DetectorConfig
from omp.domain.errors import Conflict
from omp.services import anomaly, scoring


class PackedStore:
    """BaselineStore in memory, states kept as the adapter stores them (compressed JSON)."""

    def __init__(self) -> None:
        self.baselines: dict[str, a.StoredBaseline] = {}
        self.states: dict[str, tuple[bytes, a.DetectorState]] = {}
        self.sizes: dict[str, int] = {}

    def get_models(self, sids: list[str]) -> dict[str, Any]:
        out = {}
        for sid in sids:
            state = None
            if sid in self.states:
                blob, meta = self.states[sid]
                state = replace(meta, detector=json.loads(zlib.decompress(blob)))
            out[sid] = (self.baselines.get(sid), state)
        return out

    def put_state(self, state: a.DetectorState) -> int:
        old = self.states.get(state.series_id)
        if (old[1].version if old else 0) != state.version:
            raise Conflict("moved")
        blob = zlib.compress(json.dumps(state.detector, separators=(",", ":")).encode(), 6)
        self.sizes[state.series_id] = len(blob)
        self.states[state.series_id] = (
            blob,
            replace(state, detector=None, version=state.version + 1),
        )
        return state.version + 1


class Alerts:
    def __init__(self) -> None:
        self.payloads: list[dict[str, Any]] = []

    def submit(self, envelope: Any, raw: bytes) -> str:
        self.payloads.append(envelope.payload)
        return "m"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.anomaly_platform")
    parser.add_argument("data", type=Path)
    parser.add_argument("--batch", type=int, default=60, help="points per series per batch")
    parser.add_argument("--limit", type=int, default=0, help="at most this many files")
    args = parser.parse_args(argv)
    files = sorted(args.data.glob("*/*.csv"))
    if args.limit:
        files = files[: args.limit]
    if not files:
        print(f"no <category>/<file>.csv under {args.data}", file=sys.stderr)
        return 2
    store, alerts = PackedStore(), Alerts()
    streams: dict[str, a.SeriesPoints] = {}
    histories = []
    for i, path in enumerate(files):
        _, epoch, values = read_csv(path)
        sid = f"ser_{i:024x}"
        half = len(epoch) // 2
        histories.append((sid, epoch[:half].astype("int64"), values[:half]))
        rest = [(int(t), float(v)) for t, v in zip(epoch[half:], values[half:], strict=True)]
        streams[sid] = a.SeriesPoints(sid, path.stem, {"category": path.parent.name}, rest)
    now_s = int(max(h[1][-1] for h in histories))
    t0 = time.perf_counter()
    fitted, short = anomaly.fit_series(histories, now_s)
    refit_s = time.perf_counter() - t0
    for b in fitted:
        store.baselines[b.series_id] = replace(b, version=1)
    ports = scoring.ScoringPorts(baselines=store, alerts=alerts)  # type: ignore[arg-type]
    config = DetectorConfig()
    now = datetime.now(UTC)
    points = batches = 0
    t0 = time.perf_counter()
    longest = max(len(s.points) for s in streams.values())
    for start in range(0, longest, args.batch):
        groups = {
            sid: a.SeriesPoints(
                s.series_id, s.name, s.dimensions, s.points[start : start + args.batch]
            )
            for sid, s in streams.items()
            if start < len(s.points)
        }
        out = scoring.score(groups, config, ports, now)
        points += out.scored
        batches += len(groups)
    score_s = time.perf_counter() - t0
    sizes = sorted(store.sizes.values())
    fired = sum(p["status"] == "firing" for p in alerts.payloads)
    resolved = len(alerts.payloads) - fired
    print(f"machine: {machine()}")
    print(
        f"files: {len(files)} ({short} too short to fit), history points: "
        f"{sum(len(h[1]) for h in histories)}"
    )
    print(
        f"refit (grid + fit, no I/O): {refit_s:.2f} s, "
        f"{1000 * refit_s / max(1, len(fitted)):.1f} ms per series"
    )
    print(
        f"scoring: {points} points in {score_s:.2f} s = {points / score_s:,.0f} points/s; "
        f"{batches} series-batches of <= {args.batch} points, "
        f"{1000 * score_s / max(1, batches):.2f} ms each"
    )
    if sizes:
        print(f"stored state (zlib JSON): median {sizes[len(sizes) // 2]} B, max {sizes[-1]} B")
    print(f"alarms: {fired} firing, {resolved} resolved")
    return 0


if __name__ == "__main__":
    sys.exit(main())
