"""Calibration metrics and calibrators (reportx.eval.calibration) pinned on hand-made cases and a seeded
synthetic set whose true accuracy is confidence**3."""

import json
import math
from itertools import pairwise

import numpy as np
import pytest

from reportx.eval.calibration import (
    Calibrator,
    accuracy_at_coverage,
    auroc,
    expected_calibration_error,
    fit_isotonic,
    fit_platt,
    reliability_bins,
    write_coverage_chart,
    write_reliability_chart,
)


def miscalibrated(n: int, seed: int) -> tuple[list[float], list[bool]]:
    """Raw confidence uniform on [0, 1], correct with probability confidence**3: overconfident everywhere."""
    rng = np.random.default_rng(seed)
    conf = rng.uniform(0, 1, n)
    return conf.tolist(), (rng.uniform(0, 1, n) < conf**3).tolist()


# --- ECE and reliability bins ---------------------------------------------------------------------------------


def test_ece_of_a_perfectly_calibrated_set_is_zero():
    conf = [0.25] * 4 + [0.75] * 4 + [1.0] * 3 + [0.0] * 2
    correct = [1, 0, 0, 0] + [1, 1, 1, 0] + [1, 1, 1] + [0, 0]
    assert expected_calibration_error(conf, correct) == pytest.approx(0.0, abs=1e-12)


def test_ece_matches_a_hand_computed_value():
    conf = [0.1, 0.15, 0.9, 0.95, 1.0]
    correct = [True, False, True, False, True]
    # bin [0.1, 0.2): mean 0.125, accuracy 1/2 -> 2/5 * 0.375 = 0.15
    # bin [0.9, 1.0]: mean 0.95, accuracy 2/3 -> 3/5 * (0.95 - 2/3) = 0.17
    assert expected_calibration_error(conf, correct) == pytest.approx(0.32)
    # one bin: mean 0.62, accuracy 0.6
    assert expected_calibration_error(conf, correct, bins=1) == pytest.approx(0.02)


def test_reliability_bins_list_only_non_empty_bins_and_put_one_in_the_last():
    cells = reliability_bins([0.1, 0.15, 0.9, 0.95, 1.0], [1, 0, 1, 0, 1])
    assert [(c["lo"], c["hi"], c["count"]) for c in cells] == [(0.1, 0.2, 2), (0.9, 1.0, 3)]
    assert cells[0]["mean_confidence"] == pytest.approx(0.125)
    assert cells[0]["accuracy"] == pytest.approx(0.5)
    assert cells[1]["mean_confidence"] == pytest.approx(0.95)
    assert cells[1]["accuracy"] == pytest.approx(2 / 3)


def test_metrics_refuse_empty_or_mismatched_input():
    for fn in (expected_calibration_error, auroc, reliability_bins, fit_isotonic, fit_platt):
        with pytest.raises(ValueError):
            fn([], [])
    with pytest.raises(ValueError):
        expected_calibration_error([0.5, 0.6], [True])
    with pytest.raises(ValueError):
        expected_calibration_error([1.5], [True])
    with pytest.raises(ValueError):
        accuracy_at_coverage([], [], 0.5)


# --- AUROC ----------------------------------------------------------------------------------------------------


def test_auroc_perfect_reversed_and_uninformative():
    assert auroc([0.9, 0.8, 0.2, 0.1], [1, 1, 0, 0]) == 1.0
    assert auroc([0.1, 0.2, 0.8, 0.9], [1, 1, 0, 0]) == 0.0
    assert auroc([0.5] * 4, [1, 0, 1, 0]) == 0.5


def test_auroc_is_none_when_one_class_is_missing():
    assert auroc([0.9, 0.1], [True, True]) is None
    assert auroc([0.9, 0.1], [False, False]) is None


def test_auroc_counts_a_tie_as_half():
    # correct {0.9, 0.5} vs wrong {0.5, 0.1}: 1 + 1 + 1/2 + 1 of 4 pairs
    assert auroc([0.9, 0.5, 0.5, 0.1], [1, 1, 0, 0]) == pytest.approx(0.875)


def test_auroc_matches_the_pairwise_definition():
    rng = np.random.default_rng(3)
    conf = rng.integers(0, 6, 60) / 5  # many ties
    correct = rng.uniform(0, 1, 60) < 0.5
    pos, neg = conf[correct], conf[~correct]
    expected = sum((p > q) + 0.5 * (p == q) for p in pos for q in neg) / (len(pos) * len(neg))
    assert auroc(conf.tolist(), correct.tolist()) == pytest.approx(expected)


# --- accuracy at coverage -------------------------------------------------------------------------------------


def test_accuracy_at_coverage_by_hand():
    conf = [0.9, 0.8, 0.8, 0.3, 0.1]
    correct = [1, 0, 1, 1, 0]
    assert accuracy_at_coverage(conf, correct, 0.2) == 1.0  # keeps 0.9
    assert accuracy_at_coverage(conf, correct, 0.4) == 0.5  # 0.9, then the first 0.8 (wrong)
    assert accuracy_at_coverage(conf, correct, 0.5) == pytest.approx(2 / 3)  # ceil(2.5) = 3
    assert accuracy_at_coverage(conf, correct, 0.6) == pytest.approx(2 / 3)
    assert accuracy_at_coverage(conf, correct, 1.0) == pytest.approx(3 / 5)
    assert accuracy_at_coverage(conf, correct, 0.01) == 1.0  # at least one item


def test_accuracy_at_coverage_is_not_fooled_by_float_products():
    conf = [1 - i / 25 for i in range(25)]
    correct = [True] * 7 + [False] * 18
    assert 0.28 * 25 > 7
    assert accuracy_at_coverage(conf, correct, 0.28) == 1.0  # 0.28 * 25 is 7.000000000000001: keep 7, not 8


def test_accuracy_at_coverage_refuses_coverage_outside_0_1():
    for coverage in (0.0, -0.1, 1.01):
        with pytest.raises(ValueError):
            accuracy_at_coverage([0.5], [True], coverage)


# --- isotonic -------------------------------------------------------------------------------------------------


def test_isotonic_fits_a_step_function_exactly():
    conf = [0.1, 0.2, 0.3, 0.6, 0.7, 0.8]
    correct = [0, 0, 0, 1, 1, 1]
    cal = fit_isotonic(conf, correct)
    assert cal.apply_many(conf) == [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]
    assert cal.apply(0.0) == 0.0 and cal.apply(1.0) == 1.0
    assert cal.apply(0.45) == pytest.approx(0.5)  # halfway between the breakpoints 0.3 and 0.6
    assert cal.n == 6


def test_isotonic_pools_violators_with_weights_and_ties():
    cal = fit_isotonic([0.1, 0.2, 0.3, 0.4], [0, 1, 0, 1])
    assert cal.xs == pytest.approx((0.1, 0.25, 0.4))
    assert cal.ys == pytest.approx((0.0, 0.5, 1.0))
    cal = fit_isotonic([0.5, 0.9, 0.5, 0.5], [1, 1, 0, 0])  # three tied at 0.5: one block
    assert cal.xs == pytest.approx((0.5, 0.9))
    assert cal.ys == pytest.approx((1 / 3, 1.0))
    cal = fit_isotonic([0.2, 0.3, 0.3, 0.3], [1, 0, 0, 1])  # 1/1 then 1/3: merged with weights 1 and 3
    assert cal.xs == pytest.approx((0.275,))
    assert cal.ys == pytest.approx((0.5,))


def test_isotonic_output_is_monotone_and_in_range():
    conf, correct = miscalibrated(2000, seed=1)
    cal = fit_isotonic(conf, correct)
    assert list(cal.ys) == sorted(cal.ys)
    assert all(x0 < x1 for x0, x1 in pairwise(cal.xs))
    grid = cal.apply_many([i / 1000 for i in range(1001)])
    assert all(a <= b for a, b in pairwise(grid))
    assert all(0.0 <= p <= 1.0 for p in grid)


def test_isotonic_reduces_ece_on_held_out_data():
    train_conf, train_correct = miscalibrated(5000, seed=11)
    test_conf, test_correct = miscalibrated(5000, seed=12)
    raw = expected_calibration_error(test_conf, test_correct)
    calibrated = expected_calibration_error(fit_isotonic(train_conf, train_correct).apply_many(test_conf), test_correct)
    assert raw > 0.2
    assert calibrated < 0.03


# --- Platt ----------------------------------------------------------------------------------------------------


def test_platt_improves_ece_on_held_out_data_and_is_deterministic():
    train_conf, train_correct = miscalibrated(5000, seed=21)
    test_conf, test_correct = miscalibrated(5000, seed=22)
    cal = fit_platt(train_conf, train_correct)
    assert cal == fit_platt(train_conf, train_correct)
    assert cal.method == "platt" and cal.n == 5000 and cal.a > 0
    raw = expected_calibration_error(test_conf, test_correct)
    calibrated = expected_calibration_error(cal.apply_many(test_conf), test_correct)
    assert raw > 0.2
    assert calibrated < 0.05


def test_platt_stays_finite_and_increasing_on_separable_data():
    cal = fit_platt([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1])
    assert math.isfinite(cal.a) and math.isfinite(cal.b) and cal.a > 0
    low, high = cal.apply(0.1), cal.apply(0.9)
    assert 0.0 < low < 0.5 < high < 1.0
    same = fit_platt([0.5, 0.5], [1, 0])  # no spread in confidence at all
    assert same.apply(0.5) == pytest.approx(0.5)


def test_identity_and_platt_forms():
    assert Calibrator("identity").apply_many([0.0, 0.3, 1.0]) == [0.0, 0.3, 1.0]
    assert Calibrator("platt", a=1.0, b=0.0).apply(0.3) == pytest.approx(0.3)
    assert Calibrator("platt", a=2.0, b=0.0).apply(0.75) == pytest.approx(0.9)  # odds 3 -> 9


# --- persistence ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("cal", [
    Calibrator("isotonic", xs=(0.1, 0.25, 0.4), ys=(0.0, 0.5, 1.0), n=4),
    Calibrator("platt", a=1.5, b=-0.25, n=100),
    Calibrator("identity"),
])
def test_save_load_round_trip(tmp_path, cal):
    path = tmp_path / "cal.json"
    cal.save(path)
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["format"] == "reportx-calibration" and data["version"] == 1 and data["method"] == cal.method
    loaded = Calibrator.load(path)
    assert loaded == cal
    assert loaded.apply(0.33) == cal.apply(0.33)


def test_load_refuses_other_formats_and_non_json(tmp_path):
    path = tmp_path / "cal.json"
    path.write_text(json.dumps({"format": "something-else", "version": 1, "method": "identity"}), encoding="utf-8")
    with pytest.raises(ValueError, match="reportx-calibration"):
        Calibrator.load(path)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ValueError):
        Calibrator.load(path)


GOOD = {"format": "reportx-calibration", "version": 1, "n": 3}


@pytest.mark.parametrize("bad", [
    [],
    {**GOOD, "method": "beta"},
    {**GOOD, "version": 2, "method": "identity"},
    {**GOOD, "method": "identity", "n": -1},
    {**GOOD, "method": "isotonic"},
    {**GOOD, "method": "isotonic", "xs": [], "ys": []},
    {**GOOD, "method": "isotonic", "xs": [0.1, 0.2], "ys": [0.5]},
    {**GOOD, "method": "isotonic", "xs": [0.2, 0.1], "ys": [0.1, 0.5]},
    {**GOOD, "method": "isotonic", "xs": [0.1, 0.2], "ys": [0.5, 0.1]},
    {**GOOD, "method": "isotonic", "xs": [0.1, 0.2], "ys": [0.5, 1.5]},
    {**GOOD, "method": "isotonic", "xs": [0.1, "x"], "ys": [0.1, 0.5]},
    {**GOOD, "method": "platt", "a": 1.0},
    {**GOOD, "method": "platt", "a": "1", "b": 0.0},
    {**GOOD, "method": "platt", "a": float("nan"), "b": 0.0},
])
def test_from_json_rejects_bad_input_with_a_one_line_message(bad):
    with pytest.raises(ValueError) as info:
        Calibrator.from_json(bad)
    assert "\n" not in str(info.value)


# --- charts ---------------------------------------------------------------------------------------------------


def test_charts_write_non_empty_pngs(tmp_path):
    pytest.importorskip("matplotlib")
    conf, correct = miscalibrated(400, seed=5)
    systems = {"raw": (conf, correct), "isotonic": (fit_isotonic(conf, correct).apply_many(conf), correct)}
    for write, name in ((write_reliability_chart, "reliability.png"), (write_coverage_chart, "coverage.png")):
        path = tmp_path / name
        write(path, systems)
        assert path.stat().st_size > 1000
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
