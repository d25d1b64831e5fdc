"""A progress bar on stderr that shows the latest train and eval loss (rich), as a transformers callback."""

from __future__ import annotations

import sys
import time

from transformers import TrainerCallback


class LossProgress(TrainerCallback):
    """Progress over optimizer steps with loss; plain log lines instead of a bar when stderr is not a terminal."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self._progress = None
        self._task = None
        self._loss = "-"
        self._eval = "-"
        self._started: float | None = None
        self._first_step = 0

    def on_train_begin(self, args, state, control, **kwargs):
        self._started = time.monotonic()
        self._first_step = state.global_step  # a resumed run's rate counts only the steps it ran
        if not self.enabled:
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self._progress = Progress(
            TextColumn("train"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("loss {task.fields[loss]}  eval {task.fields[eval]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=Console(file=sys.stderr),
        )
        self._progress.start()
        self._task = self._progress.add_task("train", total=state.max_steps, completed=state.global_step, loss="-", eval="-")

    def on_step_end(self, args, state, control, **kwargs):
        if self._progress is not None:
            self._progress.update(self._task, completed=state.global_step, loss=self._loss, eval=self._eval)

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        if "loss" in logs:
            self._loss = f"{logs['loss']:.4f}"
        if "eval_loss" in logs:
            self._eval = f"{logs['eval_loss']:.4f}"
        if self._progress is not None:
            self._progress.update(self._task, completed=state.global_step, loss=self._loss, eval=self._eval)
        elif "loss" in logs or "eval_loss" in logs:
            print(
                f"reportx train: step {state.global_step}/{state.max_steps} loss {self._loss} eval {self._eval}"
                f"{self._timing(state.global_step, state.max_steps)}",
                file=sys.stderr,
                flush=True,
            )

    def _timing(self, step: int, total: int) -> str:
        """`` 12.3 s/step, 41 s elapsed, ~5 min left`` (evaluation time included in the rate)."""
        if self._started is None or step <= self._first_step:
            return ""
        elapsed = time.monotonic() - self._started
        rate = elapsed / (step - self._first_step)
        left = max(total - step, 0) * rate
        return f"  {rate:.1f} s/step, {elapsed:.0f} s elapsed, ~{left / 60:.1f} min left"

    def on_train_end(self, args, state, control, **kwargs):
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
