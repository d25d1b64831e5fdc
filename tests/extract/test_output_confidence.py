"""Per-field confidence and the review list in the outputs: JSONL ``_meta``, the SQLite ``confidence`` table, the
CSV ``confidence`` / ``review`` columns, files written before them resumed, the Ray row round trip. No model."""

from __future__ import annotations

import csv
import json
import sqlite3

import pytest

from reportx.extract.extractor import ExtractionResult
from reportx.extract.outputs import CsvSink, open_sink

from tests.extract.test_output_spans import MADE_BY, RECORD, SCHEMA, plain

CONFIDENCE = {"project_name": 0.99, "status": 0.97, "client": 0.9, "budget_used_eur": 0.42,
              "key_milestone_completed": 0.8, "blockers_today": 0.6, "next_step": 0.95}


def rated(source="a.txt", sha="ab" * 32, review=("budget_used_eur", "blockers_today")):
    model, adapter, mode = MADE_BY
    return ExtractionResult(source=source, sha256=sha, record=RECORD, model=model, adapter=adapter, mode=mode,
                            attempts=1, seconds=0.5, confidence=dict(CONFIDENCE),
                            review=None if review is None else list(review))


def write_three(path, fmt):
    """A rated report with a review list, one without (no --review-below), one without confidences."""
    with open_sink(str(path), fmt, SCHEMA) as sink:
        sink.write(rated())
        sink.write(rated("b.txt", "cd" * 32, review=None))
        sink.write(plain("c.txt", "ef" * 32))
    return path


def test_jsonl_meta_carries_confidence_and_review_only_when_set(tmp_path):
    path = write_three(tmp_path / "out.jsonl", "jsonl")
    lines = [json.loads(line)["_meta"] for line in path.read_text(encoding="utf-8").splitlines()]
    assert lines[0]["confidence"] == CONFIDENCE and lines[0]["review"] == ["budget_used_eur", "blockers_today"]
    assert "review" not in lines[1] and "confidence" not in lines[2]


def test_sqlite_confidence_table_with_the_review_flag(tmp_path):
    path = write_three(tmp_path / "out.db", "sqlite")
    conn = sqlite3.connect(path)
    rows = conn.execute("SELECT r.source, c.field, c.confidence, c.review FROM confidence c "
                        "JOIN reports r ON r.id = c.report_id ORDER BY c.rowid").fetchall()
    assert len(rows) == 14  # 7 fields of each rated report, none for the report without confidences
    assert rows[3] == ("a.txt", "budget_used_eur", 0.42, 1) and rows[0] == ("a.txt", "project_name", 0.99, 0)
    assert {r[3] for r in rows if r[0] == "b.txt"} == {None}  # no --review-below: no flag
    cols = [r[1] for r in conn.execute("PRAGMA table_info(confidence)")]
    assert cols == ["report_id", "field", "confidence", "review"]
    conn.close()


def test_sqlite_written_before_the_confidence_table_is_resumed_and_gets_it(tmp_path):
    path = tmp_path / "old.db"
    with open_sink(str(path), "sqlite", SCHEMA) as sink:
        sink.write(plain())
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE confidence")
    conn.commit()
    conn.close()
    with open_sink(str(path), "sqlite", SCHEMA) as sink:
        assert sink.keys == {("b.txt", "cd" * 32)}
        sink.write(rated())
    assert sqlite3.connect(path).execute("SELECT COUNT(*) FROM confidence").fetchone() == (7,)


def test_csv_confidence_and_review_columns(tmp_path):
    path = tmp_path / "out.csv"
    with open_sink(str(path), "csv", SCHEMA) as sink:
        sink.write(rated())
        sink.write(plain())
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert json.loads(rows[0]["confidence"]) == CONFIDENCE and rows[0]["review"] == "budget_used_eur; blockers_today"
    assert rows[1]["confidence"] == "" and rows[1]["review"] == ""


def test_csv_written_with_spans_but_before_confidence_is_resumed_in_its_layout(tmp_path):
    path = tmp_path / "old.csv"
    with CsvSink(path, SCHEMA) as sink:
        sink.write(plain())
    with path.open(encoding="utf-8", newline="") as fh:
        old = [row[:-2] for row in csv.reader(fh)]  # spans, but no confidence / review columns
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(old)
    with CsvSink(path, SCHEMA) as sink:
        assert sink.with_spans and sink.keys == {("b.txt", "cd" * 32)}
        sink.write(rated())
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == old[0] and {len(r) for r in rows} == {len(old[0])}


def test_ray_rows_keep_confidence_and_review():
    pa = pytest.importorskip("pyarrow")
    from reportx.scale.columns import result_columns, result_from_row

    table = pa.table(result_columns(SCHEMA, [rated(), plain()]))
    back = [result_from_row(row) for row in table.to_pylist()]
    assert back[0].to_record() == rated().to_record() and back[1].to_record() == plain().to_record()
