"""Causal, point-by-point anomaly scoring against a series' baseline plus short-horizon detectors.

`SeriesDetector` is the streaming state of one series: give it each new point (`score(ts, v)`)
and it answers a `PointScore` with an anomaly score in [0, 1], using only the past. Its baseline
(`omp.analytics.baselines.Baseline`, refitted on a schedule) is loaded once (`load_baseline`);
between refits the Holt-Winters state advances point by point, so scoring a batch costs one
baseline read per series (the caller caches `SeriesDetector` objects, or their `to_dict()`).

Per point, five detectors each give a surprise in standard deviations:
- residual: the value against the baseline's one-step forecast, in units of its robust scale;
- spike: the forecast error against the median of the last `SPIKE_WINDOW` errors (MAD scale);
- level shift: the mean of the last few standardised residuals against the ones before;
- trend change: the mean residual of the last `TREND_WINDOW` points against its expected spread;
- variance change: the ratio of a fast and a slow running variance of the residuals.
A point whose strongest surprise in the configured `direction` passes `SURPRISE_MIN` standard
deviations has its forecast error, in the series' own units, ranked against the series' own
last `RARITY_WINDOW` such errors (point rarity; points under the gate count as 0), and the mean
of the last `DENSITY_WINDOW` point rarities against its own history (density rarity, in the
spirit of Numenta's anomaly likelihood); the score is the larger. Then a causal suppression:
after an alarm the score is held just under the alarm level for `cooldown_s` seconds of series
time (12 hours), because one anomaly should make one alarm.

Settings (`DetectorSettings`): `sensitivity` in (0, 1] (higher flags more), `direction` (up,
down, both), `min_duration` (points the surprise must stay high before the score rises), and
`excluded` time ranges (epoch seconds) scored 0 and kept out of the learned statistics.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from omp.analytics import hw_replay

if TYPE_CHECKING:
    from omp.analytics.baselines import Baseline


SPIKE_WINDOW = 24
COOLDOWN_S = 43_200.0  # 12 hours of series time after an alarm held under the alarm level
TREND_WINDOW = 12
SHIFT_SHORT = 6
SHIFT_LONG = 36
DENSITY_WINDOW = 10  # points in the recent mean of point rarities
DENSE_WEIGHT = 1.0  # how much the density score counts against the point score
RARITY_MIN = 50  # values needed before rarity is scored
VAR_FAST = 0.1
VAR_SLOW = 0.005
VAR_FLOOR = 0.1  # in squared standard deviations
HUBER_K = 3.0
SCALE_LAMBDA = 0.05
RARITY_WINDOW = 5_000
# A record over n past values reads log10(n + 1) / log10(max(n, RARITY_NORM_MIN) + 1): a young
# series' records count nearly as much as an old one's (its first weeks are when it is watched).
RARITY_NORM_MIN = 2_000
RECORD_BONUS = 0.2
RAW_CAP = 1e300  # finite: an overflowing forecast must not put inf among the ranked errors
SURPRISE_MIN = 4.5  # surprises above this many standard deviations count the same
SPREAD_LAMBDA = 0.01  # slow running spread of the values, for a floor on the scale
SCALE_FLOOR_FRAC = 0.05  # the residual scale is never below this share of that spread


class Direction(StrEnum):
    UP = "up"
    DOWN = "down"
    BOTH = "both"


@dataclass(frozen=True)
class DetectorSettings:
    sensitivity: float = 0.5
    direction: Direction = Direction.BOTH
    min_duration: int = 1
    excluded: tuple[tuple[float, float], ...] = ()
    cooldown_s: float = COOLDOWN_S  # series time after an alarm held under the alarm level

    def __post_init__(self) -> None:
        if not 0.0 < self.sensitivity <= 1.0:
            raise ValueError("sensitivity must be in (0, 1]")
        if self.min_duration < 1:
            raise ValueError("min_duration must be >= 1")
        if self.cooldown_s < 0:
            raise ValueError("cooldown_s must be >= 0")
        for lo, hi in self.excluded:
            if hi < lo:
                raise ValueError("an excluded range ends before it starts")

    def is_excluded(self, ts: float) -> bool:
        return any(lo <= ts <= hi for lo, hi in self.excluded)

    @property
    def alarm_threshold(self) -> float:
        """The score at which the platform raises an alarm: 0.7 at the default sensitivity (0.5),
        0.4 at the most sensitive (1.0). A score of 0.7 is a surprise rarer than any of the last
        ~390 points' surprises (a record over the last 5,000 scores 1)."""
        return 1.0 - 0.6 * self.sensitivity


@dataclass(frozen=True)
class PointScore:
    score: float
    expected: float
    lower: float
    upper: float
    surprise: float  # strongest detector, in standard deviations (signed)
    detector: str  # which one


@dataclass
class _Baseline:
    """The per-point Holt-Winters state of one series (plain floats: fast in a loop)."""

    period: int = 0
    multiplicative: bool = False
    alpha: float = 0.2
    beta: float = 0.0
    phi: float = 1.0
    gamma: float = 0.0
    level: float = math.nan
    trend: float = 0.0
    season: list[float] = field(default_factory=list)
    phase: int = 0
    scale: float = math.nan
    q_low: float = -3.0
    q_high: float = 3.0


class _Rarity:
    """How rare a value is against the last `size` values: -log10 of its empirical upper tail,
    scaled so that a new record over `norm_min` or more values reads about 1. Records are ranked
    further by how far they exceed the previous maximum."""

    def __init__(self, size: int, norm_min: int | None = None) -> None:
        self.size = size
        self.norm = min(RARITY_NORM_MIN if norm_min is None else norm_min, size)
        self.sorted: list[float] = []
        self.order: deque[float] = deque()

    def load(self, values: Sequence[float]) -> None:
        self.order = deque(float(v) for v in values[-self.size :])
        self.sorted = sorted(self.order)

    def __call__(self, x: float) -> float:
        past = self.sorted
        n = len(past)
        score = 0.0
        if n >= RARITY_MIN:
            ge = n - bisect.bisect_left(past, x)
            score = math.log10((n + 1) / (ge + 1)) / math.log10(max(n, self.norm) + 1)
            if ge == 0 and past[-1] > 0:
                score += RECORD_BONUS * (1.0 - past[-1] / x)
            score = min(1.0, max(0.0, score))
        self.order.append(x)
        bisect.insort(past, x)
        if len(self.order) > self.size:
            del past[bisect.bisect_left(past, self.order.popleft())]
        return score


class SeriesDetector:
    """Streaming anomaly scoring of one series."""

    def __init__(self, settings: DetectorSettings | None = None) -> None:
        self.settings = settings or DetectorSettings()
        self.b = _Baseline()
        self.n = 0
        self.recent: deque[float] = deque(maxlen=SPIKE_WINDOW)
        self.resid: deque[float] = deque(maxlen=SHIFT_SHORT + SHIFT_LONG)
        self.var_fast = math.nan
        self.var_slow = math.nan
        self.short: deque[float] = deque(maxlen=DENSITY_WINDOW)
        self.above = 0  # consecutive points over the detection level (min_duration)
        self.last_alarm_ts = -math.inf  # series time of the last alarm-level score let through
        self.point_rarity = _Rarity(RARITY_WINDOW)
        self.dense_rarity = _Rarity(RARITY_WINDOW)
        self.slow_mean = math.nan
        self.slow_spread = 0.0

    # -- state that survives between invocations ---------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """The whole streaming state as JSON-able values (what the platform stores per series;
        `NaN` is kept as None)."""

        def num(x: float) -> float | None:
            return None if math.isnan(x) else x

        b = self.b
        return {
            "v": 2,
            "baseline": {
                "period": b.period,
                "multiplicative": b.multiplicative,
                "alpha": b.alpha,
                "beta": b.beta,
                "phi": b.phi,
                "gamma": b.gamma,
                "level": num(b.level),
                "trend": b.trend,
                "season": list(b.season),
                "phase": b.phase,
                "scale": num(b.scale),
                "q_low": b.q_low,
                "q_high": b.q_high,
            },
            "n": self.n,
            "recent": list(self.recent),
            "resid": list(self.resid),
            "var_fast": num(self.var_fast),
            "var_slow": num(self.var_slow),
            "short": list(self.short),
            "above": self.above,
            "last_alarm_ts": None if math.isinf(self.last_alarm_ts) else self.last_alarm_ts,
            "point_rarity": list(self.point_rarity.order),
            "dense_rarity": list(self.dense_rarity.order),
            "slow_mean": num(self.slow_mean),
            "slow_spread": self.slow_spread,
        }

    @classmethod
    def from_dict(
        cls, data: dict[str, Any], settings: DetectorSettings | None = None
    ) -> SeriesDetector:
        def num(x: float | None) -> float:
            return math.nan if x is None else float(x)

        det = cls(settings)
        bd = dict(data["baseline"])
        bd["level"], bd["scale"] = num(bd["level"]), num(bd["scale"])
        bd["season"] = [float(v) for v in bd["season"]]
        det.b = _Baseline(**bd)
        det.n = int(data["n"])
        det.recent.extend(data["recent"])
        det.resid.extend(data["resid"])
        det.var_fast, det.var_slow = num(data["var_fast"]), num(data["var_slow"])
        det.short.extend(data["short"])
        det.above = int(data["above"])
        # A v1 state counted points since the alarm; its cooldown is simply forgotten.
        last = data.get("last_alarm_ts")
        det.last_alarm_ts = -math.inf if last is None else float(last)
        det.point_rarity.load(data["point_rarity"])
        det.dense_rarity.load(data["dense_rarity"])
        det.slow_mean, det.slow_spread = num(data["slow_mean"]), float(data["slow_spread"])
        return det

    # -- baseline ----------------------------------------------------------------------------

    def load_baseline(self, b: Baseline, i: int = 0) -> None:
        """Take series i of a fitted Baseline (its state is the one after its last point)."""
        self.load_model(b.one(i))

    def load_model(self, model: Mapping[str, Any], ahead: int = 0) -> None:
        """Take one series' stored baseline (`Baseline.one`), advanced `ahead` steps past its
        last fitted point with no data in between (the forecast state). Plain Python, so the
        scoring path never imports numpy."""
        # The errors ranked before the first baseline are kept: they are in the series' units
        # like the later ones, and larger (a crude model), so they only make the first alarms
        # after the fit more conservative.
        p = int(model["period"])
        phi, trend, k = float(model["phi"]), float(model["trend"]), max(0, ahead)
        damp = hw_replay.damped_steps(phi, k)
        self.b = _Baseline(
            period=p,
            multiplicative=bool(model["multiplicative"]),
            alpha=float(model["alpha"]),
            beta=float(model["beta"]),
            phi=phi,
            gamma=float(model["gamma"]),
            level=float(model["level"]) + damp * trend,
            trend=trend * phi**k,
            season=[float(v) for v in list(model["season"])[:p]],
            phase=(int(model["phase"]) + k) % p if p else int(model["phase"]),
            scale=float(model["scale"]),
            q_low=float(model["q_low"]),
            q_high=float(model["q_high"]),
        )

    def _forecast(self) -> float:
        b = self.b
        base = b.level + b.phi * b.trend
        if b.period:
            s = b.season[b.phase]
            return base * s if b.multiplicative else base + s
        return base

    def _advance(self, value: float, fc: float, learn: bool) -> float:
        """One robust Holt-Winters step; returns the standardised residual."""
        b = self.b
        if math.isnan(b.level):
            b.level, b.scale = value, max(abs(value) * 1e-3, 1e-6)
            return 0.0
        err = value - fc
        e = err / max(abs(fc), 1e-12) if b.multiplicative else err
        if math.isnan(b.scale) or b.scale <= 0:
            b.scale = max(abs(e), 1e-6)
        # A near-constant stretch shrinks the scale towards 0; the floor (a share of the series'
        # slow spread) keeps a small wiggle from reading as thousands of deviations.
        if math.isnan(self.slow_mean):
            self.slow_mean = value
        self.slow_spread += SPREAD_LAMBDA * (abs(value - self.slow_mean) - self.slow_spread)
        self.slow_mean += SPREAD_LAMBDA * (value - self.slow_mean)
        floor = SCALE_FLOOR_FRAC * self.slow_spread
        if b.multiplicative:
            floor /= max(abs(fc), 1e-12)
        lim = HUBER_K * b.scale
        z = e / max(b.scale, floor, 1e-12)
        if learn:
            ec = min(max(e, -lim), lim)
            b.scale = max(
                (1 - SCALE_LAMBDA) * b.scale + SCALE_LAMBDA * 1.2533 * min(abs(e), lim), 1e-9
            )
            base = b.level + b.phi * b.trend
            if b.multiplicative and b.period:
                a_ec = ec * abs(fc)
                s = b.season[b.phase]
                lvl_ec = a_ec / s if abs(s) > 1e-12 else a_ec
                s_ec = a_ec / base if base != 0 else a_ec
            else:
                lvl_ec = s_ec = ec
            b.level = base + b.alpha * lvl_ec
            b.trend = b.phi * b.trend + b.beta * lvl_ec
            if b.period:
                b.season[b.phase] += b.gamma * s_ec
        if b.period:
            b.phase = (b.phase + 1) % b.period
        return z

    # -- scoring -----------------------------------------------------------------------------

    def score(self, ts: float, value: float) -> PointScore:
        st = self.settings
        fc = self._forecast() if not math.isnan(self.b.level) else value
        lower, upper = self._band(fc)
        if value is None or math.isnan(value):
            self._advance_gap()
            return PointScore(0.0, fc, lower, upper, 0.0, "gap")
        excluded = st.is_excluded(ts)
        z_res = self._advance(value, fc, learn=not excluded)
        if excluded:
            return PointScore(0.0, fc, lower, upper, 0.0, "excluded")
        self.n += 1
        err = value - fc
        surprises = self._surprises(err, z_res)
        sign = {Direction.UP: 1.0, Direction.DOWN: -1.0}.get(st.direction, 0.0)
        best_name, best = "none", 0.0
        for name, z in surprises:
            mag = z * sign if sign else abs(z)
            if mag > best:
                best_name, best = name, mag
        # Below SURPRISE_MIN standard deviations nothing is an anomaly, however rare: a very
        # clean series would otherwise turn its tiniest wiggle into a record. Above it, what is
        # ranked is the size of the error in the series' own units, not in standard deviations:
        # a burst in a quiet hour is many deviations yet small beside the series' real
        # incidents (on NAB, 55.97 -> 69.9 with the changes of that run, docs/benchmarks.md).
        raw = 0.0
        if best > SURPRISE_MIN:
            raw = min(abs(err) if not sign else max(err * sign, 0.0), RAW_CAP)
        point = self.point_rarity(raw)
        # The density of surprises: the recent mean of point rarities, itself ranked against
        # its own history (many moderate surprises close together are an anomaly too).
        self.short.append(point)
        dense = self.dense_rarity(sum(self.short) / len(self.short))
        score = max(point, dense * DENSE_WEIGHT)
        score = self._suppress(ts, score, best > SURPRISE_MIN)
        signed = best if sign >= 0 else -best
        return PointScore(score, fc, lower, upper, signed, best_name)

    def _band(self, fc: float) -> tuple[float, float]:
        b = self.b
        if math.isnan(fc):
            return math.nan, math.nan
        if b.multiplicative:
            return fc * (1 + b.q_low), fc * (1 + b.q_high)
        return fc + b.q_low, fc + b.q_high

    def _advance_gap(self) -> None:
        if self.b.period:
            self.b.phase = (self.b.phase + 1) % self.b.period

    def _surprises(self, err: float, z_res: float) -> list[tuple[str, float]]:
        out: list[tuple[str, float]] = [("residual", z_res)]
        # Spike: the error against the median of the recent errors, in their MAD (floored by
        # the baseline scale): local volatility sets the yardstick, the baseline the season.
        if len(self.recent) >= 5:
            srt = sorted(self.recent)
            med = srt[len(srt) // 2]
            mad = sorted(abs(v - med) for v in srt)[len(srt) // 2] * 1.4826
            floor = self.b.scale * (abs(self.b.level) if self.b.multiplicative else 1.0)
            spread = SCALE_FLOOR_FRAC * self.slow_spread
            out.append(("spike", (err - med) / max(mad, floor, spread, 1e-9)))
        self.recent.append(err)
        # Windowed detectors see residuals clipped at HUBER_K, so one spike inside their window
        # does not pass for a shift or a drift.
        zc = max(min(z_res, HUBER_K), -HUBER_K)
        self.resid.append(zc)
        hist = self.resid
        if len(hist) == hist.maxlen:
            # Level shift: the mean of the last SHIFT_SHORT residuals against the mean of the
            # ones before them (a two-sample statistic: bounded, it does not accumulate).
            vals = list(hist)
            short = vals[-SHIFT_SHORT:]
            long = vals[:-SHIFT_SHORT]
            diff = sum(short) / len(short) - sum(long) / len(long)
            out.append(("level_shift", diff / math.sqrt(1.0 / len(short) + 1.0 / len(long))))
            # Trend change: the recent residuals drift away from the baseline together.
            recent = vals[-TREND_WINDOW:]
            out.append(("trend_change", sum(recent) / math.sqrt(TREND_WINDOW)))
        # Variance change: log ratio of fast to slow running variance.
        z2 = zc * zc
        if math.isnan(self.var_fast):
            self.var_fast = self.var_slow = max(z2, 1.0)
        self.var_fast += VAR_FAST * (z2 - self.var_fast)
        self.var_slow += VAR_SLOW * (z2 - self.var_slow)
        # Floored: a stretch of exact repeats would otherwise read as a huge variance drop.
        ratio = max(self.var_fast, VAR_FLOOR) / max(self.var_slow, VAR_FLOOR)
        out.append(("variance_change", 2.0 * math.log(max(ratio, 1e-9))))
        return out

    def _suppress(self, ts: float, score: float, surprising: bool) -> float:
        """Hold the score under the alarm level until it has lasted `min_duration` points (with
        more than one, each out of the noise itself: the density score echoes one spike for a
        few points, which is not an anomaly lasting), and for `cooldown_s` after an alarm."""
        st = self.settings
        level = st.alarm_threshold
        if score >= level and (surprising or st.min_duration == 1):
            self.above += 1
        else:
            self.above = 0
        if self.above < st.min_duration:
            return min(score, level * 0.999) if score >= level else score
        if ts - self.last_alarm_ts < st.cooldown_s:
            return min(score, level * 0.999)
        self.last_alarm_ts = ts
        return score


def score_series(
    timestamps: Sequence[float],
    values: Sequence[float],
    settings: DetectorSettings | None = None,
) -> list[PointScore]:
    """Score a series with no baseline refits (a convenience for tests and small series)."""
    det = SeriesDetector(settings)
    return [det.score(t, v) for t, v in zip(timestamps, values, strict=True)]
