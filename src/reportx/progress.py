"""Progress over a known number of items on stderr: a bar in a terminal, plain lines in a log.

An ETL job's stderr is usually a file (cron, Airflow, systemd): a bar that redraws itself is noise there, and
nothing at all until the end leaves an operator guessing. So when the stream is not a terminal, a line like
``reportx: extracting 250/5000 (5%), 2 failed, 4.1 min elapsed, ~78 min left`` is printed every
``every_seconds`` seconds, or every ``every_items`` items once ``min_seconds`` have passed since the last line,
and at the end if a line came before: a batch that is over in seconds prints only its summary.
``REPORTX_PROGRESS_SECONDS`` sets the interval for logs (default 30).
"""

from __future__ import annotations

import os
import time
from types import TracebackType
from typing import Any, TextIO

DEFAULT_LOG_SECONDS = 30.0


def _log_seconds() -> float:
    try:
        return max(0.0, float(os.environ.get("REPORTX_PROGRESS_SECONDS", DEFAULT_LOG_SECONDS)))
    except ValueError:
        return DEFAULT_LOG_SECONDS


def _duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 90 else f"{seconds / 60:.1f} min"


class ItemProgress:
    """Count items done (and failed) out of ``total``; use as a context manager and call :meth:`advance`.

    Args:
        label: what is being done ("extracting", a system's name).
        total: how many items there are.
        stream: where to write (stderr).
        enabled: False shows nothing (``--quiet``, or a single item).
        every_items: in a log, a line every this many items (default: a tenth of the total, at least 50).
        every_seconds: in a log, a line at least this often (default ``REPORTX_PROGRESS_SECONDS`` or 30).
        min_seconds: in a log, never two lines closer than this, whatever the items (default 5).
    """

    def __init__(self, label: str, total: int, stream: TextIO, *, enabled: bool = True,
                 every_items: int | None = None, every_seconds: float | None = None, min_seconds: float = 5.0) -> None:
        self.label, self.total, self.stream = label, total, stream
        self.enabled = enabled and total > 0
        self.is_terminal = bool(getattr(stream, "isatty", lambda: False)())
        self.every_items = every_items or max(50, total // 10)
        self.every_seconds = _log_seconds() if every_seconds is None else every_seconds
        self.min_seconds = min(min_seconds, self.every_seconds)
        self.done = self.failed = 0
        self._start = self._last_line = time.monotonic()
        self._last_count = 0
        self._bar: Any = None
        self._task: Any = None

    def __enter__(self) -> ItemProgress:
        if self.enabled and self.is_terminal:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self._bar = Progress(TextColumn(self.label), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                                 TextColumn("{task.fields[failed]} failed"), console=Console(file=self.stream),
                                 transient=True)
            self._bar.start()
            self._task = self._bar.add_task(self.label, total=self.total, failed=0)
        return self

    def advance(self, failed: bool = False) -> None:
        """One more item done; ``failed`` when it ended as an error."""
        self.done += 1
        self.failed += int(failed)
        if not self.enabled:
            return
        if self._bar is not None:
            self._bar.update(self._task, advance=1, failed=self.failed)
            return
        now = time.monotonic()
        since = now - self._last_line
        if (since >= self.every_seconds or (self.done - self._last_count >= self.every_items and since >= self.min_seconds)
                or (self.done == self.total and self._last_count > 0)):
            self._log_line(now)

    def _log_line(self, now: float) -> None:
        elapsed = now - self._start
        line = f"reportx: {self.label} {self.done}/{self.total} ({100 * self.done / self.total:.0f}%)"
        if self.failed:
            line += f", {self.failed} failed"
        line += f", {_duration(elapsed)} elapsed"
        if 0 < self.done < self.total:
            line += f", ~{_duration(elapsed / self.done * (self.total - self.done))} left"
        print(line, file=self.stream, flush=True)
        self._last_line, self._last_count = now, self.done

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self._bar is not None:
            self._bar.stop()
