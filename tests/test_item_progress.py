"""Progress for logs: plain lines when stderr is not a terminal, nothing when disabled."""

from __future__ import annotations

import io

from reportx.progress import ItemProgress


def test_log_lines_every_n_items_and_at_the_end():
    stream = io.StringIO()  # not a terminal, like cron's or Airflow's log file
    with ItemProgress("extracting", 25, stream, every_items=10, every_seconds=3600, min_seconds=0) as progress:
        for i in range(25):
            progress.advance(failed=i == 3)
    lines = stream.getvalue().splitlines()
    assert [line.split(" (")[0] for line in lines] == [
        "reportx: extracting 10/25", "reportx: extracting 20/25", "reportx: extracting 25/25"
    ]
    assert "1 failed" in lines[0] and "left" in lines[0] and "left" not in lines[-1]


def test_a_line_when_the_interval_passes():
    stream = io.StringIO()
    with ItemProgress("ft", 1000, stream, every_items=1000, every_seconds=0) as progress:
        progress.advance()
    assert stream.getvalue().startswith("reportx: ft 1/1000 (0%)")


def test_disabled_writes_nothing():
    stream = io.StringIO()
    with ItemProgress("extracting", 5, stream, enabled=False) as progress:
        for _ in range(5):
            progress.advance()
    assert stream.getvalue() == "" and progress.done == 5


def test_a_batch_over_in_seconds_prints_no_lines():
    stream = io.StringIO()
    with ItemProgress("extracting", 400, stream) as progress:
        for _ in range(400):
            progress.advance()
    assert stream.getvalue() == ""
