"""Choosing the calibration map by its expected calibration error out of fold (reportx.eval.calibrate)."""

from __future__ import annotations

import random

from reportx.eval.calibrate import choose_method


def test_a_step_in_the_data_keeps_the_step_function():
    ps = [i / 100 for i in range(1, 100)]
    ece = choose_method([{"a": {"joint": p}} for p in ps], [{"a": p > 0.5} for p in ps], "joint")
    assert ece["isotonic"] == 0.0 < ece["platt"]


def test_few_noisy_examples_keep_the_smooth_map():
    # Right with probability p, 120 examples: a step function fitted to each fold's noise is over-confident on the
    # held-out fold, as on a validation split with a few dozen errors per field.
    rng = random.Random(0)
    ps = [rng.random() for _ in range(120)]
    ece = choose_method([{"a": {"joint": p}} for p in ps], [{"a": rng.random() < p} for p in ps], "joint")
    assert ece["platt"] < ece["isotonic"]
