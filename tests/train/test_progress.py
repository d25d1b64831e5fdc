"""The plain progress lines (stderr not a terminal) report loss, the step rate and the time left."""

from types import SimpleNamespace

import pytest

pytest.importorskip("transformers")

from reportx.train import progress as progress_module  # noqa: E402
from reportx.train.progress import LossProgress  # noqa: E402


def _clock(monkeypatch, times):
    values = iter(times)
    monkeypatch.setattr(progress_module.time, "monotonic", lambda: next(values))


def test_plain_line_has_rate_elapsed_and_time_left(monkeypatch, capsys):
    _clock(monkeypatch, [100.0, 140.0])
    callback = LossProgress(enabled=False)
    state = SimpleNamespace(global_step=0, max_steps=100)
    callback.on_train_begin(None, state, None)
    state.global_step = 10
    callback.on_log(None, state, None, logs={"loss": 0.5})
    line = capsys.readouterr().err.strip()
    assert line == "reportx train: step 10/100 loss 0.5000 eval -  4.0 s/step, 40 s elapsed, ~6.0 min left"


def test_resumed_run_counts_only_its_own_steps(monkeypatch, capsys):
    _clock(monkeypatch, [0.0, 30.0])
    callback = LossProgress(enabled=False)
    state = SimpleNamespace(global_step=50, max_steps=60)
    callback.on_train_begin(None, state, None)  # resumed at step 50
    state.global_step = 53
    callback.on_log(None, state, None, logs={"eval_loss": 0.25})
    line = capsys.readouterr().err.strip()
    assert "eval 0.2500" in line
    assert "10.0 s/step, 30 s elapsed, ~1.2 min left" in line


def test_no_rate_before_the_first_step(capsys):
    callback = LossProgress(enabled=False)
    state = SimpleNamespace(global_step=0, max_steps=10)
    callback.on_train_begin(None, state, None)
    callback.on_log(None, state, None, logs={"loss": 1.0})
    assert capsys.readouterr().err.strip() == "reportx train: step 0/10 loss 1.0000 eval -"
