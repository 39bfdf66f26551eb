"""The NAB scorer on hand-computed tiny cases (no NAB data: tests never read ../shared)."""

import math

import numpy as np
import pytest

from omp.analytics import nab

T0 = np.datetime64("2024-01-01T00:00:00", "us")


def stamps(n):
    return T0 + np.arange(n) * np.timedelta64(5, "m")


def window(a, b):
    ts = stamps(1000)
    return (ts[a], ts[b])


def S(x):
    return 2 / (1 + math.exp(5 * x)) - 1


def test_scaled_sigmoid_and_probation():
    assert nab.scaled_sigmoid(-1.0) == pytest.approx(0.98661, abs=1e-5)
    assert nab.scaled_sigmoid(0.0) == pytest.approx(0.0)
    assert nab.scaled_sigmoid(1.0) == pytest.approx(-0.98661, abs=1e-5)
    assert nab.scaled_sigmoid(3.5) == -1.0
    assert nab.probation_length(20) == 3
    assert nab.probation_length(1000) == 150
    assert nab.probation_length(10_000) == 750  # capped at 0.15 * 5000


def test_profiles_have_nab_weights():
    std, low_fp, low_fn = (
        nab.PROFILES[k] for k in ("standard", "reward_low_FP_rate", "reward_low_FN_rate")
    )
    assert (std.tp, std.fp, std.fn, std.tn) == (1.0, 0.11, 1.0, 1.0)
    assert (low_fp.tp, low_fp.fp, low_fp.fn) == (1.0, 0.22, 1.0)
    assert (low_fn.tp, low_fn.fp, low_fn.fn) == (1.0, 0.11, 2.0)


def tiny(detect_rows, n=20, win=(10, 14)):
    scores = np.zeros(n)
    scores[list(detect_rows)] = 1.0
    return nab.sweep_file("f.csv", stamps(n), scores, [window(*win)])


def test_detection_at_window_start_earns_full_tp():
    r = nab.score_file(tiny([10]), nab.PROFILES["standard"], 0.5)
    assert r.score == pytest.approx(1.0)
    assert (r.tp, r.fp, r.detected_windows) == (1, 0, 1)


def test_only_the_earliest_detection_in_a_window_counts():
    late = nab.score_file(tiny([14]), nab.PROFILES["standard"], 0.5)
    both = nab.score_file(tiny([12, 14]), nab.PROFILES["standard"], 0.5)
    assert late.score == pytest.approx(S(-1 / 5) / S(-1))  # 0.46839
    assert both.score == pytest.approx(S(-3 / 5) / S(-1))


def test_false_positives_before_and_after_a_window():
    cost = nab.PROFILES["standard"]
    before = nab.score_file(tiny([5]), cost, 0.5)
    assert before.score == pytest.approx(-0.11 - 1.0)  # an FP before any window, the window missed
    after = nab.score_file(tiny([10, 16]), cost, 0.5)
    # row 16: 2 rows past the right edge (14) of a 5-row window -> S(2 / 4)
    assert after.score == pytest.approx(1.0 + 0.11 * S(0.5))
    low_fn = nab.score_file(tiny([]), nab.PROFILES["reward_low_FN_rate"], 0.5)
    assert low_fn.score == pytest.approx(-2.0)


def test_probationary_rows_are_not_scored():
    r = nab.score_file(tiny([1]), nab.PROFILES["standard"], 0.5)
    assert r.fp == 0 and r.score == pytest.approx(-1.0)


def test_normalisation_null_and_perfect():
    cost = nab.PROFILES["standard"]
    null = nab.score_corpus([tiny([])], cost, threshold=0.5)
    perfect = nab.score_corpus([tiny([10])], cost, threshold=0.5)
    assert null.score == pytest.approx(0.0)
    assert perfect.score == pytest.approx(100.0)
    half = nab.score_corpus([tiny([14])], cost, threshold=0.5)
    assert half.score == pytest.approx(100 * (S(-1 / 5) / S(-1) + 1) / 2)


def test_threshold_optimisation_picks_the_best_threshold():
    n = 40
    scores = np.zeros(n)
    scores[20] = 0.9  # in the window
    scores[[8, 9, 30]] = 0.6  # false positives if the threshold goes down to 0.6
    rows = nab.sweep_file("f.csv", stamps(n), scores, [window(18, 24)])
    r = nab.score_corpus([rows], nab.PROFILES["standard"])
    assert r.threshold == pytest.approx(0.9)
    thresholds, raw = nab.sweep_thresholds([rows], nab.PROFILES["standard"])
    assert thresholds[0] == np.inf and raw[0] == pytest.approx(-1.0)
    assert list(thresholds[1:]) == [0.9, 0.6, 0.0]
    # At 0.6 the three FPs cost 0.11 each (8, 9 before the window; 30 after it).
    expected_06 = raw[1] - 0.11 - 0.11 + 0.11 * S(abs(24 - 30) / 6)
    assert raw[2] == pytest.approx(expected_06)


def test_sweep_matches_score_file_at_every_threshold():
    rng = np.random.default_rng(3)
    files = []
    for k in range(3):
        n = 200
        sc = np.round(rng.random(n), 2)
        files.append(
            nab.sweep_file(
                f"f{k}.csv", stamps(n), sc, [window(60, 70), window(120, 140)] if k else []
            )
        )
    cost = nab.PROFILES["reward_low_FP_rate"]
    thresholds, raw = nab.sweep_thresholds(files, cost)
    for t, r in zip(thresholds[1:], raw[1:], strict=True):
        assert sum(nab.score_file(f, cost, t).score for f in files) == pytest.approx(r)
