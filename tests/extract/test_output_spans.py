"""Spans and notes of quote answers in the outputs: JSONL ``_meta``, the SQLite ``spans`` table, the CSV ``spans``
column, old files without them resumed, and the Ray row round trip. No model is loaded."""

from __future__ import annotations

import csv
import json
import sqlite3

import pytest

from reportx.extract.extractor import ExtractionResult
from reportx.extract.outputs import CsvSink, JsonlSink, SqliteSink, open_sink, span_rows
from reportx.schema import ReportSchema, builtin_schema

SCHEMA = builtin_schema()
TEXT = ("Informe del proyecto Atenea. Estado: ámbar, sin cliente. Presupuesto: 15.750,00 € gastados. "
        "Bloqueo: ticket 9812, retraso de 2 días.")


def _at(quote: str, after: int = 0) -> list:
    start = TEXT.index(quote, after)
    return [start, start + len(quote), quote]


RECORD = {"project_name": "Atenea", "status": "Ámbar", "client": None, "budget_used_eur": 15750.0,
          "key_milestone_completed": None, "blockers_today": [{"ticket_id": "9812", "delay_hours": 48}],
          "next_step": None}
SPANS = {"project_name": _at("Atenea"), "status": _at("ámbar"), "client": None,
         "budget_used_eur": _at("15.750,00 €"), "key_milestone_completed": None,
         "blockers_today": [{"ticket_id": _at("9812"), "delay_hours": _at("2 días")}], "next_step": None}
NOTES = ["next_step: 'mañana' does not normalise (too short): null"]
MADE_BY = ("ft.gguf@0123456789ab", "adapter.gguf@ba9876543210", "finetuned")


def result(source="a.txt", sha="ab" * 32, spans=SPANS, notes=NOTES, record=RECORD):
    model, adapter, mode = MADE_BY
    return ExtractionResult(source=source, sha256=sha, record=record, model=model, adapter=adapter, mode=mode,
                            attempts=1, prompt_tokens=300, completion_tokens=60, seconds=0.5,
                            spans=spans, notes=list(notes))


def plain(source="b.txt", sha="cd" * 32):
    return result(source=source, sha=sha, spans=None, notes=[])


EXPECTED_ROWS = [("project_name", None, *_at("Atenea")), ("status", None, *_at("ámbar")),
                 ("budget_used_eur", None, *_at("15.750,00 €")),
                 ("blockers_today.ticket_id", 0, *_at("9812")), ("blockers_today.delay_hours", 0, *_at("2 días"))]


def test_spans_are_offsets_into_the_text():
    for _field, _item, start, end, quote in span_rows(SPANS):
        assert TEXT[start:end] == quote


def test_span_rows_flatten_the_tree():
    assert span_rows(SPANS) == EXPECTED_ROWS
    assert span_rows(None) == [] and span_rows({}) == []
    nested = {"tags": [[0, 1, "a"], None, [4, 5, "b"]], "site": {"name": [7, 9, "N2"]},
              "items": [{"parts": [[1, 2, "x"]]}], "flag": None, "odd": [1, 2]}
    assert span_rows(nested) == [("tags", 0, 0, 1, "a"), ("tags", 2, 4, 5, "b"), ("site.name", None, 7, 9, "N2"),
                                 ("items.parts[0]", 0, 1, 2, "x")]


def test_jsonl_meta_holds_spans_and_notes_only_when_present(tmp_path):
    path = tmp_path / "out.jsonl"
    with open_sink(str(path), "jsonl", SCHEMA) as sink:
        assert isinstance(sink, JsonlSink)
        sink.write(result())
        sink.write(plain())
    lines = [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]
    assert list(lines[0]) == SCHEMA.keys + ["_meta"]
    assert lines[0]["_meta"]["spans"] == SPANS and lines[0]["_meta"]["notes"] == NOTES
    assert "spans" not in lines[1]["_meta"] and "notes" not in lines[1]["_meta"]
    again = JsonlSink(path)
    assert again.keys == {("a.txt", "ab" * 32), ("b.txt", "cd" * 32)} and again.made_by == {MADE_BY}
    again.close()


def test_empty_notes_are_left_out_but_empty_spans_kept(tmp_path):
    meta = result(spans={}, notes=[]).meta
    assert meta["spans"] == {} and "notes" not in meta


def _spans_in(path, table="spans"):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(f'SELECT r.source, s.field, s.item, s.start, s."end", s.quote FROM {table} s '
                            "JOIN reports r ON r.id = s.report_id ORDER BY s.rowid").fetchall()
    finally:
        conn.close()


def test_sqlite_spans_table(tmp_path):
    path = tmp_path / "out.db"
    with open_sink(str(path), "sqlite", SCHEMA) as sink:
        assert isinstance(sink, SqliteSink)
        sink.write(result())
        sink.write(plain())
    conn = sqlite3.connect(path)
    rows = conn.execute('SELECT field, item, start, "end", quote FROM spans ORDER BY rowid').fetchall()
    assert rows == EXPECTED_ROWS
    assert {r[0] for r in _spans_in(path)} == {"a.txt"}  # keyed to its report; none for the result without spans
    cols = [(r[1], r[2]) for r in conn.execute("PRAGMA table_info(spans)")]
    assert cols == [("report_id", "INTEGER"), ("field", "TEXT"), ("item", "INTEGER"), ("start", "INTEGER"),
                    ("end", "INTEGER"), ("quote", "TEXT")]
    assert [r[2] for r in conn.execute("PRAGMA foreign_key_list(spans)")] == ["reports"]
    assert "spans_report" in {r[1] for r in conn.execute("PRAGMA index_list(spans)")}
    report_cols = [r[1] for r in conn.execute("PRAGMA table_info(reports)")]
    assert "spans" not in report_cols and "notes" not in report_cols  # notes, like input_notes: JSONL only
    conn.close()
    again = SqliteSink(path, SCHEMA)
    assert again.keys == {("a.txt", "ab" * 32), ("b.txt", "cd" * 32)} and again.made_by == {MADE_BY}
    again.close()


def test_sqlite_spans_table_exists_and_stays_empty_without_spans(tmp_path):
    path = tmp_path / "out.db"
    with SqliteSink(path, SCHEMA) as sink:
        sink.write(plain())
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT COUNT(*) FROM spans").fetchone() == (0,)
    conn.close()


def test_sqlite_spans_go_with_their_report_in_one_transaction(tmp_path):
    path = tmp_path / "out.db"
    sink = SqliteSink(path, SCHEMA)
    bad = {**RECORD, "blockers_today": [{"ticket_id": "1", "delay_hours": 1}, "not an object"]}
    with pytest.raises(AttributeError):
        sink.write(result(record=bad))
    sink.close()
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT COUNT(*) FROM spans").fetchone() == (0,)
    conn.close()


def _drop_spans_table(path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE spans")  # its index goes with it
    conn.commit()
    conn.close()


def test_sqlite_written_before_the_spans_table_is_resumed_and_gets_it(tmp_path):
    path = tmp_path / "old.db"
    with SqliteSink(path, SCHEMA) as sink:
        sink.write(plain())
    _drop_spans_table(path)
    with SqliteSink(path, SCHEMA) as sink:
        assert sink.keys == {("b.txt", "cd" * 32)} and sink.made_by == {MADE_BY}
        sink.write(result())
    assert [r[1:] for r in _spans_in(path)] == EXPECTED_ROWS


def test_sqlite_spans_table_of_other_columns_is_refused(tmp_path):
    from reportx.errors import ReportxError

    path = tmp_path / "odd.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE spans (a TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(ReportxError, match="spans table has other columns"):
        SqliteSink(path, SCHEMA)


def test_sqlite_spans_table_steps_aside_for_a_child_table_named_spans(tmp_path):
    schema = ReportSchema.from_json_schema({
        "type": "object", "title": "Marked",
        "properties": {"site": {"type": "string"},
                       "spans": {"type": "array", "items": {"type": "object", "properties": {
                           "width": {"type": "number"}}}}}})
    record = {"site": "Nave 2", "spans": [{"width": 3.5}]}
    path = tmp_path / "s.db"
    with SqliteSink(path, schema) as sink:
        assert sink.spans_table == "meta_spans"
        sink.write(result(record=record, spans={"site": [0, 6, "Nave 2"], "spans": [{"width": None}]}))
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT position, width FROM spans").fetchall() == [(0, 3.5)]
    conn.close()
    assert _spans_in(path, "meta_spans") == [("a.txt", "site", None, 0, 6, "Nave 2")]
    with CsvSink(tmp_path / "s.csv", schema) as sink:
        sink.write(result(record=record, spans={"site": [0, 6, "Nave 2"]}))
    header = next(csv.reader((tmp_path / "s.csv").open(encoding="utf-8")))
    assert header[-3:] == ["meta_spans", "confidence", "review"] and "spans" in header


def _csv_rows(path):
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_csv_spans_column(tmp_path):
    path = tmp_path / "out.csv"
    with open_sink(str(path), "csv", SCHEMA) as sink:
        assert isinstance(sink, CsvSink)
        sink.write(result())
        sink.write(plain())
    header = next(csv.reader(path.open(encoding="utf-8", newline="")))
    assert header[-4:] == ["seconds", "spans", "confidence", "review"] and "notes" not in header
    rows = _csv_rows(path)
    assert json.loads(rows[0]["spans"]) == SPANS and ", " not in rows[0]["spans"]  # compact JSON
    assert rows[1]["spans"] == ""
    again = CsvSink(path, SCHEMA)
    assert again.keys == {("a.txt", "ab" * 32), ("b.txt", "cd" * 32)} and again.made_by == {MADE_BY}
    again.close()


def test_csv_written_before_the_spans_column_is_resumed_in_its_layout(tmp_path):
    path = tmp_path / "old.csv"
    with CsvSink(path, SCHEMA) as sink:
        sink.write(plain())
    with path.open(encoding="utf-8", newline="") as fh:
        old = [row[:-3] for row in csv.reader(fh)]  # the layout before the spans column (and those after it)
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows(old)
    with CsvSink(path, SCHEMA) as sink:
        assert sink.keys == {("b.txt", "cd" * 32)} and sink.made_by == {MADE_BY} and not sink.with_spans
        sink.write(result())
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == old[0] and len(rows) == 3 and {len(r) for r in rows} == {len(old[0])}
    assert rows[2][old[0].index("source")] == "a.txt"
    with CsvSink(path, SCHEMA) as sink:  # and again
        assert sink.keys == {("a.txt", "ab" * 32), ("b.txt", "cd" * 32)}


def test_csv_of_other_columns_is_still_refused(tmp_path):
    from reportx.errors import ReportxError

    path = tmp_path / "odd.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(ReportxError, match="other columns than this schema's"):
        CsvSink(path, SCHEMA)


def test_csv_spans_cell_is_escaped_like_other_text_cells(tmp_path, monkeypatch):
    import reportx.extract.outputs as outputs

    seen: list = []
    real = outputs.csv_escape
    monkeypatch.setattr(outputs, "csv_escape", lambda value: seen.append(value) or real(value))
    with CsvSink(tmp_path / "out.csv", SCHEMA) as sink:
        sink.write(result())
    assert json.loads(seen[-3]) == SPANS and seen[-2:] == ["", ""]  # then no confidence, no review


def test_ray_rows_keep_spans_and_notes():
    pa = pytest.importorskip("pyarrow")
    from reportx.scale.columns import result_columns, result_from_row

    table = pa.table(result_columns(SCHEMA, [result(), plain()]))
    back = [result_from_row(row) for row in table.to_pylist()]
    assert back[0].spans == SPANS and back[0].notes == NOTES
    assert back[0].to_record() == result().to_record()
    assert back[1].spans is None and back[1].notes == [] and back[1].to_record() == plain().to_record()
