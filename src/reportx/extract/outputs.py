"""Where records go: JSONL, CSV or SQLite, appended one complete record at a time, resumable.

Every sink knows which inputs it already holds, by the pair (source, sha256 of the text), so re-running the
same command skips them; ``--overwrite`` starts afresh. The pair, not the hash alone, so that two reports with
the same text (two PMs writing "todo OK, sin novedades" on the same day) are both kept.

Crash safety (a run killed with SIGKILL mid-batch): a JSONL record is one ``write`` of one complete line,
flushed and fsynced before the next report starts; on open, a trailing partial line (which only a crash
inside that write could leave) is cut off. A CSV row is the same. A SQLite record (its reports row and its
blockers rows) is one transaction, which SQLite's journal makes all-or-nothing.

Error records go to their own JSONL file (``--errors``, by default beside the output), created only when
the first error occurs; inputs that fail are retried by a re-run, and their stale error lines are dropped
once they succeed.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any, TextIO

from reportx.errors import ReportxError
from reportx.extract.extractor import ExtractionResult
from reportx.schema import ReportSchema

FORMATS = ("jsonl", "csv", "sqlite")
_SUFFIX_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".db": "sqlite",
                   ".sqlite": "sqlite", ".sqlite3": "sqlite"}
META_COLUMNS = ("source", "sha256", "model", "adapter", "mode", "constrained", "attempts", "prompt_tokens",
                "completion_tokens", "seconds")
#: Child-table names for array fields whose table would otherwise be named after the field.
CHILD_TABLE_NAMES = {"blockers_today": "blockers"}

Key = tuple[str, str]


def infer_format(output: str | None, fmt: str | None) -> str:
    """The output format from ``--format`` or the output's suffix (JSONL for stdout and unknown suffixes)."""
    if fmt:
        fmt = fmt.lower()
        if fmt not in FORMATS:
            raise ReportxError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
        return fmt
    if output in (None, "-"):
        return "jsonl"
    suffix = Path(output).suffix.lower()
    if suffix in _SUFFIX_FORMATS:
        return _SUFFIX_FORMATS[suffix]
    raise ReportxError(f"cannot tell the output format from {output!r}: name it .jsonl, .csv or .db, or pass --format")


def default_errors_path(output: str | None) -> Path:
    """``out.jsonl`` -> ``out.errors.jsonl`` beside it; for stdout, ``reportx-errors.jsonl`` in the current folder."""
    if output in (None, "-"):
        return Path("reportx-errors.jsonl")
    path = Path(output)
    return path.with_name(path.stem + ".errors.jsonl")


def _fsync(fh) -> None:
    fh.flush()
    try:
        os.fsync(fh.fileno())
    except OSError:  # pragma: no cover - pipes, some special files
        pass


def _cut_partial_tail(path: Path) -> None:
    """Drop bytes after the last newline (a line a crash left half-written)."""
    size = path.stat().st_size
    if size == 0:
        return
    with path.open("rb+") as fh:
        fh.seek(-1, os.SEEK_END)
        if fh.read(1) == b"\n":
            return
        # Find the last newline, reading backwards in blocks.
        pos = size
        block = 1 << 16
        cut = 0
        while pos > 0:
            start = max(0, pos - block)
            fh.seek(start)
            chunk = fh.read(pos - start)
            idx = chunk.rfind(b"\n")
            if idx >= 0:
                cut = start + idx + 1
                break
            pos = start
        fh.truncate(cut)


class Sink:
    """Base class: ``keys`` already written, ``write(result)`` one record, ``close()``."""

    path: Path | None = None

    def __init__(self) -> None:
        self.keys: set[Key] = set()

    def write(self, result: ExtractionResult) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class JsonlSink(Sink):
    """One JSON object per line: the record's keys in schema order, then ``_meta``."""

    def __init__(self, path: Path | None, overwrite: bool = False, stream: TextIO | None = None) -> None:
        super().__init__()
        self.path = path
        if path is None:
            self._fh = stream or sys.stdout
            self._own = False
            return
        if overwrite and path.exists():
            path.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            _cut_partial_tail(path)
            self.keys = _jsonl_keys(path, meta=True)
        self._fh = path.open("a", encoding="utf-8", newline="\n")
        self._own = True

    def write(self, result: ExtractionResult) -> None:
        line = json.dumps(result.to_record(), ensure_ascii=False) + "\n"
        self._fh.write(line)
        if self._own:
            _fsync(self._fh)
        else:
            self._fh.flush()
        self.keys.add((result.source or "", result.sha256))

    def close(self) -> None:
        if self._own:
            self._fh.close()


def _jsonl_keys(path: Path, meta: bool) -> set[Key]:
    keys: set[Key] = set()
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                continue
            if not isinstance(obj, dict):
                continue
            info = obj.get("_meta", {}) if meta else obj
            if isinstance(info, dict) and "sha256" in info:
                keys.add((info.get("source") or "", info["sha256"]))
    return keys


def _flat_columns(schema: ReportSchema) -> list[tuple[str, str, Any]]:
    """(column, kind, detail) for CSV: scalars as-is, arrays of objects flattened, other composites as JSON."""
    cols: list[tuple[str, str, Any]] = []
    props = schema.json_schema.get("properties", {})
    for key in schema.keys:
        sub = _item_properties(schema, props.get(key, {}))
        if sub is not None:
            cols.append((key, "json", None))
            cols.append((f"{key}_count", "count", key))
            for name in sub:
                cols.append((f"{key}_{name}", "joined", (key, name)))
        elif _is_composite(schema, props.get(key, {})):
            cols.append((key, "json", None))
        else:
            cols.append((key, "scalar", None))
    return cols


def _deref(schema: ReportSchema, node: Any) -> dict:
    root = schema.json_schema
    for _ in range(16):
        if not isinstance(node, dict) or "$ref" not in node:
            break
        target: Any = root
        for part in node["$ref"].lstrip("#/").split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        node = target
    return node if isinstance(node, dict) else {}


def _types(schema: ReportSchema, node: dict) -> set[str]:
    node = _deref(schema, node)
    out: set[str] = set()
    t = node.get("type")
    if isinstance(t, list):
        out.update(t)
    elif isinstance(t, str):
        out.add(t)
    for key in ("anyOf", "oneOf"):
        for b in node.get(key, []):
            out |= _types(schema, b)
    if "properties" in node:
        out.add("object")
    if "items" in node:
        out.add("array")
    return out


def _is_composite(schema: ReportSchema, node: dict) -> bool:
    return bool(_types(schema, node) & {"array", "object"})


def _item_properties(schema: ReportSchema, node: dict) -> list[str] | None:
    """Property names of an array-of-objects field's items, else None."""
    node = _deref(schema, node)
    if "array" not in _types(schema, node):
        return None
    items = _deref(schema, node.get("items", {}))
    if not isinstance(items, dict) or "properties" not in items:
        return None
    return list(items["properties"])


def _meta_names(schema_columns: set[str]) -> dict[str, str]:
    """Provenance column names: as in ``_meta``, prefixed ``meta_`` where a schema column has the same name."""
    return {m: (f"meta_{m}" if m in schema_columns else m) for m in META_COLUMNS}


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value


class CsvSink(Sink):
    """One row per report. An array of objects (blockers) becomes its exact JSON, a count, and one column per
    item key with the values joined by ``"; "`` (empty for null): ``blockers_today_ticket_id`` = ``9812; SEC-27``.
    Provenance columns follow the record's."""

    def __init__(self, path: Path, schema: ReportSchema, overwrite: bool = False) -> None:
        super().__init__()
        self.path = path
        self.columns = _flat_columns(schema)
        names = [c[0] for c in self.columns]
        self.meta_names = _meta_names(set(names))
        self.header = names + [self.meta_names[m] for m in META_COLUMNS]
        if overwrite and path.exists():
            path.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        new = not path.exists() or path.stat().st_size == 0
        if not new:
            _cut_partial_tail(path)
            with path.open(encoding="utf-8-sig", newline="") as fh:
                rows = list(csv.reader(fh))
            if rows and rows[0] != self.header:
                raise ReportxError(
                    f"{path} has other columns than this schema's: use --overwrite or another output file"
                )
            src, sha = self.header.index(self.meta_names["source"]), self.header.index(self.meta_names["sha256"])
            for row in rows[1:]:
                if len(row) == len(self.header):
                    self.keys.add((row[src], row[sha]))
            new = not rows
        self._fh = path.open("a", encoding="utf-8", newline="")
        if new:
            self._write_row(self.header)

    def _write_row(self, row: list[Any]) -> None:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerow(row)
        self._fh.write(buf.getvalue())
        _fsync(self._fh)

    def write(self, result: ExtractionResult) -> None:
        record = result.record or {}
        row: list[Any] = []
        for name, kind, detail in self.columns:
            if kind == "scalar":
                row.append(_cell(record.get(name)))
            elif kind == "json":
                row.append(json.dumps(record.get(name), ensure_ascii=False))
            elif kind == "count":
                row.append(len(record.get(detail) or []))
            else:
                field, sub = detail
                items = record.get(field) or []
                row.append("; ".join("" if it.get(sub) is None else str(_cell(it.get(sub))) for it in items))
        meta = result.meta
        row += [_cell(meta[m]) for m in META_COLUMNS]
        self._write_row(row)
        self.keys.add((result.source or "", result.sha256))

    def close(self) -> None:
        self._fh.close()


def _sql_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_type(schema: ReportSchema, node: dict) -> str:
    types = _types(schema, node) - {"null"}
    if types and types <= {"integer", "boolean"}:
        return "INTEGER"
    if types and types <= {"number", "integer"}:
        return "REAL"
    return "TEXT"


def _sql_value(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value


class SqliteSink(Sink):
    """A ``reports`` table (the schema's scalar fields, composite ones as JSON text, the provenance, and the
    whole record as ``record_json``) and, per array-of-objects field, a child table keyed to it
    (``blockers``: ``report_id``, ``position``, ``ticket_id``, ``delay_hours``). One transaction per record."""

    def __init__(self, path: Path, schema: ReportSchema, overwrite: bool = False) -> None:
        super().__init__()
        self.path = path
        if overwrite and path.exists():
            path.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        props = schema.json_schema.get("properties", {})
        self.fields: list[tuple[str, str]] = []  # (field, sql type) stored in reports
        self.children: list[tuple[str, str, list[tuple[str, str]]]] = []  # (field, table, [(column, type)])
        for key in schema.keys:
            node = props.get(key, {})
            sub = _item_properties(schema, node)
            if sub is not None:
                items = _deref(schema, _deref(schema, node).get("items", {}))
                cols = [(name, _sql_type(schema, items["properties"][name])) for name in sub]
                self.children.append((key, CHILD_TABLE_NAMES.get(key, key), cols))
            else:
                self.fields.append((key, _sql_type(schema, node)))
        self.meta_names = _meta_names({f for f, _ in self.fields} | {"id", "record_json"})
        try:
            self.conn = sqlite3.connect(str(path), isolation_level=None)
            self.conn.execute("PRAGMA foreign_keys = ON")
            self.conn.execute("PRAGMA synchronous = FULL")
            self._create()
            src, sha = self.meta_names["source"], self.meta_names["sha256"]
            for s, h in self.conn.execute(f"SELECT {_sql_ident(src)}, {_sql_ident(sha)} FROM reports"):
                self.keys.add((s or "", h))
        except sqlite3.DatabaseError as exc:
            raise ReportxError(f"cannot use {path} as a SQLite output: {exc}") from None

    def _create(self) -> None:
        meta_types = {"constrained": "INTEGER", "attempts": "INTEGER", "prompt_tokens": "INTEGER",
                      "completion_tokens": "INTEGER", "seconds": "REAL"}
        cols = ["id INTEGER PRIMARY KEY"]
        cols += [f"{_sql_ident(f)} {t}" for f, t in self.fields]
        cols += [f"{_sql_ident(self.meta_names[m])} {meta_types.get(m, 'TEXT')}" for m in META_COLUMNS]
        cols += ["record_json TEXT NOT NULL"]
        unique = f"UNIQUE ({_sql_ident(self.meta_names['source'])}, {_sql_ident(self.meta_names['sha256'])})"
        self.conn.execute(f"CREATE TABLE IF NOT EXISTS reports ({', '.join(cols)}, {unique})")
        existing = [row[1] for row in self.conn.execute("PRAGMA table_info(reports)")]
        expected = ["id"] + [f for f, _ in self.fields] + [self.meta_names[m] for m in META_COLUMNS] + ["record_json"]
        if existing != expected:
            raise sqlite3.DatabaseError("its reports table has other columns than this schema's (use --overwrite)")
        for _, table, sub in self.children:
            cols = ["id INTEGER PRIMARY KEY", "report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE",
                    "position INTEGER NOT NULL"]
            cols += [f"{_sql_ident(c)} {t}" for c, t in sub]
            self.conn.execute(f"CREATE TABLE IF NOT EXISTS {_sql_ident(table)} ({', '.join(cols)})")
            self.conn.execute(
                f"CREATE INDEX IF NOT EXISTS {_sql_ident(table + '_report')} ON {_sql_ident(table)} (report_id)"
            )

    def write(self, result: ExtractionResult) -> None:
        record = result.record or {}
        meta = result.meta
        names = [f for f, _ in self.fields] + [self.meta_names[m] for m in META_COLUMNS] + ["record_json"]
        values = [_sql_value(record.get(f)) for f, _ in self.fields] + [_sql_value(meta[m]) for m in META_COLUMNS]
        values.append(json.dumps(record, ensure_ascii=False))
        conn = self.conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            cur = conn.execute(
                f"INSERT INTO reports ({', '.join(map(_sql_ident, names))}) VALUES ({', '.join('?' * len(names))})",
                values,
            )
            report_id = cur.lastrowid
            for field, table, sub in self.children:
                for pos, item in enumerate(record.get(field) or []):
                    cols = ["report_id", "position"] + [c for c, _ in sub]
                    vals = [report_id, pos] + [_sql_value(item.get(c)) for c, _ in sub]
                    conn.execute(
                        f"INSERT INTO {_sql_ident(table)} ({', '.join(map(_sql_ident, cols))}) "
                        f"VALUES ({', '.join('?' * len(cols))})",
                        vals,
                    )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        self.keys.add((result.source or "", result.sha256))

    def close(self) -> None:
        self.conn.close()


class ErrorSink:
    """Error records as JSONL: created on the first error, one complete line each, no duplicate (source, sha256)."""

    def __init__(self, path: Path, overwrite: bool = False) -> None:
        self.path = path
        self.count = 0
        if overwrite and path.exists():
            path.unlink()
        self.keys: set[Key] = set()
        if path.exists():
            _cut_partial_tail(path)
            self.keys = _jsonl_keys(path, meta=False)
        self._fh = None

    def write(self, result: ExtractionResult) -> None:
        self.count += 1
        key = (result.source or "", result.sha256)
        if key in self.keys:
            return  # the same input failed in an earlier run: its line is already there
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("a", encoding="utf-8", newline="\n")
        self._fh.write(json.dumps(result.to_error(), ensure_ascii=False) + "\n")
        _fsync(self._fh)
        self.keys.add(key)

    def close(self, succeeded: set[Key] | None = None) -> None:
        """Close; drop error lines of inputs that have since succeeded (``succeeded``: keys now in the output)."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None
        if succeeded and self.path.exists() and self.keys & succeeded:
            kept = []
            with self.path.open(encoding="utf-8") as fh:
                for line in fh:
                    try:
                        obj = json.loads(line)
                        key = (obj.get("source") or "", obj.get("sha256"))
                    except (json.JSONDecodeError, AttributeError):
                        key = None
                    if key not in succeeded:
                        kept.append(line)
            tmp = self.path.with_name(self.path.name + ".tmp")
            tmp.write_text("".join(kept), encoding="utf-8")
            os.replace(tmp, self.path)
            if not kept:
                self.path.unlink()


def open_sink(output: str | None, fmt: str, schema: ReportSchema, overwrite: bool = False,
              stream: TextIO | None = None) -> Sink:
    """The sink for ``-o`` (None or "-" for stdout, or ``stream``; JSONL only)."""
    if output in (None, "-"):
        if fmt != "jsonl":
            raise ReportxError(f"{fmt} output needs a file: pass -o FILE")
        return JsonlSink(None, stream=stream)
    path = Path(output)
    if path.is_dir():
        raise ReportxError(f"-o {output} is a directory: give a file name")
    if fmt == "jsonl":
        return JsonlSink(path, overwrite)
    if fmt == "csv":
        return CsvSink(path, schema, overwrite)
    return SqliteSink(path, schema, overwrite)
