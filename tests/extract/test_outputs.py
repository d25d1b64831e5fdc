"""JSONL / CSV / SQLite sinks: record layout, provenance, resume keys, crash leftovers, error records."""

from __future__ import annotations

import csv
import json
import sqlite3

import pytest

from reportx.errors import ReportxError
from reportx.extract.extractor import ExtractionResult
from reportx.extract.outputs import (
    CsvSink,
    ErrorSink,
    JsonlSink,
    SqliteSink,
    default_errors_path,
    infer_format,
    open_sink,
)
from reportx.schema import builtin_schema

SCHEMA = builtin_schema()
RECORD = {"project_name": "Alpha", "status": "Verde", "client": "ACME Corp", "budget_used_eur": 4500,
          "key_milestone_completed": "Despliegue del módulo de pagos",
          "blockers_today": [{"ticket_id": "9812", "delay_hours": 2}, {"ticket_id": None, "delay_hours": 0.5}],
          "next_step": "Integración con facturación"}


def result(source="a.txt", sha="ab" * 32, record=RECORD, error=None):
    return ExtractionResult(source=source, sha256=sha, record=record, error=error, raw_output="{}",
                            model="m.gguf@0123456789ab", adapter=None, mode="fewshot", constrained=False,
                            attempts=1, prompt_tokens=900, completion_tokens=80, seconds=1.23456)


def test_format_inference_and_default_errors_path(tmp_path):
    assert infer_format(None, None) == "jsonl" and infer_format("-", None) == "jsonl"
    assert infer_format("x.csv", None) == "csv" and infer_format("x.db", None) == "sqlite"
    assert infer_format("x.out", "csv") == "csv"
    with pytest.raises(ReportxError):
        infer_format("x.out", None)
    with pytest.raises(ReportxError):
        infer_format("x.jsonl", "xml")
    assert default_errors_path("out/day.db").as_posix() == "out/day.errors.jsonl"
    with pytest.raises(ReportxError):
        open_sink(None, "csv", SCHEMA)


def test_jsonl_record_layout_and_resume(tmp_path):
    path = tmp_path / "out.jsonl"
    with JsonlSink(path) as sink:
        sink.write(result())
    line = json.loads(path.read_text(encoding="utf-8"))
    assert list(line) == SCHEMA.keys + ["_meta"]
    assert line["_meta"] == {"source": "a.txt", "sha256": "ab" * 32, "model": "m.gguf@0123456789ab",
                             "adapter": None, "mode": "fewshot", "constrained": False, "attempts": 1,
                             "prompt_tokens": 900, "completion_tokens": 80, "seconds": 1.235}
    # A crash inside a write leaves at most a partial last line: reopening cuts it and keeps the keys.
    with path.open("a", encoding="utf-8") as fh:
        fh.write('{"project_name": "Bet')
    sink = JsonlSink(path)
    assert sink.keys == {("a.txt", "ab" * 32)}
    sink.write(result(source="b.txt", sha="cd" * 32))
    sink.close()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["_meta"]["source"] for x in lines] == ["a.txt", "b.txt"]
    fresh = JsonlSink(path, overwrite=True)
    assert fresh.keys == set()
    fresh.close()
    assert path.read_text(encoding="utf-8") == ""


def test_csv_flattens_blockers_and_resumes(tmp_path):
    path = tmp_path / "out.csv"
    with CsvSink(path, SCHEMA) as sink:
        sink.write(result())
        sink.write(result(source="b.txt", sha="cd" * 32, record={**RECORD, "blockers_today": [], "status": None}))
    rows = list(csv.DictReader(path.open(encoding="utf-8", newline="")))
    assert rows[0]["blockers_today_count"] == "2"
    assert rows[0]["blockers_today_ticket_id"] == "9812; "
    assert rows[0]["blockers_today_delay_hours"] == "2; 0.5"
    assert json.loads(rows[0]["blockers_today"]) == RECORD["blockers_today"]
    assert rows[1]["status"] == "" and rows[1]["blockers_today_count"] == "0"
    assert rows[0]["source"] == "a.txt" and rows[0]["constrained"] == "false" and rows[0]["seconds"] == "1.235"
    with path.open("a", encoding="utf-8") as fh:
        fh.write("Gamma,Verde,")  # a half-written row
    sink = CsvSink(path, SCHEMA)
    assert sink.keys == {("a.txt", "ab" * 32), ("b.txt", "cd" * 32)}
    sink.close()
    assert len(list(csv.reader(path.open(encoding="utf-8", newline="")))) == 3


def test_sqlite_reports_and_blockers_tables(tmp_path):
    path = tmp_path / "out.db"
    with SqliteSink(path, SCHEMA) as sink:
        sink.write(result())
        sink.write(result(source="b.txt", sha="cd" * 32, record={**RECORD, "blockers_today": []}))
    conn = sqlite3.connect(path)
    cols = [r[1] for r in conn.execute("PRAGMA table_info(reports)")]
    assert cols[:7] == ["id", "project_name", "status", "client", "budget_used_eur", "key_milestone_completed",
                        "next_step"]
    assert {"source", "sha256", "model", "adapter", "mode", "constrained", "attempts", "prompt_tokens",
            "completion_tokens", "seconds", "record_json"} <= set(cols)
    rows = conn.execute("SELECT r.source, b.position, b.ticket_id, b.delay_hours FROM blockers b "
                        "JOIN reports r ON r.id = b.report_id ORDER BY b.position").fetchall()
    assert rows == [("a.txt", 0, "9812", 2.0), ("a.txt", 1, None, 0.5)]
    assert conn.execute("SELECT budget_used_eur, constrained FROM reports WHERE source='a.txt'").fetchone() == (4500, 0)
    assert json.loads(conn.execute("SELECT record_json FROM reports WHERE source='a.txt'").fetchone()[0]) == RECORD
    conn.close()
    again = SqliteSink(path, SCHEMA)
    assert again.keys == {("a.txt", "ab" * 32), ("b.txt", "cd" * 32)}
    again.close()


def test_sqlite_record_is_one_transaction(tmp_path):
    path = tmp_path / "out.db"
    sink = SqliteSink(path, SCHEMA)
    bad = {**RECORD, "blockers_today": [{"ticket_id": "1", "delay_hours": 1}, "not an object"]}
    with pytest.raises(AttributeError):
        sink.write(result(record=bad))
    sink.close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT COUNT(*) FROM reports").fetchone() == (0,)
    assert conn.execute("SELECT COUNT(*) FROM blockers").fetchone() == (0,)


def test_user_schema_tables(tmp_path):
    from reportx.schema import ReportSchema

    schema = ReportSchema.from_json_schema({
        "type": "object", "title": "SiteReport",
        "properties": {"site": {"type": "string"}, "source": {"type": "string"}, "crew": {"type": "integer"},
                       "incidents": {"type": "array", "items": {"type": "object", "properties": {
                           "kind": {"type": "string"}, "minutes": {"type": "number"}}}},
                       "tags": {"type": "array", "items": {"type": "string"}}}})
    rec = {"site": "Nave 2", "source": "walk", "crew": 5, "incidents": [{"kind": "rain", "minutes": 30}],
           "tags": ["a"]}
    with SqliteSink(tmp_path / "s.db", schema) as sink:
        sink.write(result(record=rec))
    conn = sqlite3.connect(tmp_path / "s.db")
    row = conn.execute("SELECT site, source, meta_source, crew, tags FROM reports").fetchone()
    assert row == ("Nave 2", "walk", "a.txt", 5, '["a"]')
    assert conn.execute("SELECT kind, minutes FROM incidents").fetchall() == [("rain", 30.0)]
    with CsvSink(tmp_path / "s.csv", schema) as sink:
        sink.write(result(record=rec))
    header = next(csv.reader((tmp_path / "s.csv").open(encoding="utf-8")))
    assert "incidents_kind" in header and "meta_source" in header and "source" in header


def test_error_sink_is_lazy_deduplicated_and_cleaned(tmp_path):
    path = tmp_path / "out.errors.jsonl"
    sink = ErrorSink(path)
    sink.close()
    assert not path.exists()
    sink = ErrorSink(path)
    failed = result(record=None, error="empty report")
    sink.write(failed)
    sink.write(failed)
    sink.close()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    err = json.loads(lines[0])
    assert list(err)[:4] == ["source", "sha256", "error", "raw_output"] and err["error"] == "empty report"
    assert {"model", "adapter", "mode", "constrained", "attempts", "prompt_tokens", "completion_tokens",
            "seconds"} <= set(err)
    again = ErrorSink(path)
    again.close(succeeded={("a.txt", "ab" * 32)})  # the input has since succeeded
    assert not path.exists()
