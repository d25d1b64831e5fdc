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

One run at a time: a sink takes an exclusive ``flock`` on ``OUTPUT.lock`` beside its file (the errors file
too, on ``ERRORS.lock``) before it reads the keys already there, and holds it until closed; a second run on
the same file stops with "in use by another reportx run (pid N)" instead of writing the same records again.
The lock file holds the owner's pid and is removed on close. Resume (reading back, cutting a partial tail)
applies to regular files only: a pipe, FIFO or device such as ``/dev/stdout`` is only written to.

CSV cells are escaped against formula injection (OWASP): a text cell starting with ``=``, ``+``, ``-``, ``@``,
tab or carriage return, or with ``'`` itself, gets a leading ``'``; numbers are written as numbers. Failures
to write (a full disk) raise ``ReportxError``, one line for the CLI.

Spans (quote answers of a fine-tuned model: where each value is in the report text, ``text[start:end] == quote``):
JSONL keeps them in ``_meta.spans``, the record's shape with a ``[start, end, quote]`` triple or null per leaf.
SQLite has a ``spans`` table (``meta_spans`` if an array field's child table is already called ``spans``), one row
per located value: ``report_id`` (``reports.id``, as the child tables), ``field`` (``budget_used_eur``, or
``blockers_today.delay_hours`` for an item key), ``item`` (the list index, NULL for a top-level field), ``start``,
``"end"`` (a keyword: quote it) and ``quote``; indexed on ``report_id``, created in every database (empty without
spans), old ones included. CSV has a last ``spans`` column (``meta_spans`` where a field has that name): the tree
as compact JSON, empty without spans; a CSV written before that column existed is resumed in its own layout
(without it). Quote notes (``_meta.notes``), like ``input_notes``, are in JSONL only.

Confidence (``_meta.confidence``: per field, the calibrated probability that the value is right) and the fields
to review (``_meta.review``, with ``--review-below``): SQLite has a ``confidence`` table (``report_id``, ``field``,
``confidence``, ``review``: 1 under the threshold, 0 above, NULL without the option), CSV two last columns,
``confidence`` (compact JSON) and ``review`` (field names joined by ``; ``).
"""

from __future__ import annotations

import csv
import errno
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
from reportx.schema.nodes import deref_node, node_types

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no flock; concurrent runs are not guarded there
    fcntl = None  # type: ignore[assignment]

FORMATS = ("jsonl", "csv", "sqlite")
_SUFFIX_FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl", ".csv": "csv", ".db": "sqlite",
                   ".sqlite": "sqlite", ".sqlite3": "sqlite"}
META_COLUMNS = ("source", "sha256", "model", "adapter", "mode", "constrained", "attempts", "prompt_tokens",
                "completion_tokens", "seconds")
#: Child-table names for array fields whose table would otherwise be named after the field.
CHILD_TABLE_NAMES = {"blockers_today": "blockers"}
#: The CSV column (last) and SQLite table of the spans, prefixed ``meta_`` where a column / child table has the name.
SPANS = "spans"
#: The CSV columns (after spans) and SQLite table of per-field confidence (``_meta.confidence``), and the CSV column
#: of the fields to review (``_meta.review``, joined by "; "; the SQLite confidence table has a review flag).
CONFIDENCE = "confidence"
REVIEW = "review"
#: (field, item, start, end, quote): one located value, as a row of the SQLite spans table.
SpanRow = tuple[str, int | None, int, int, str]

Key = tuple[str, str]
#: (model id, adapter id, mode) of a record, as its provenance names them.
MadeBy = tuple[str | None, str | None, str | None]


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
    """``out.jsonl`` -> ``out.errors.jsonl`` beside it; for stdout, ``reportx-errors.jsonl`` in the current folder.

    An output that exists but is not a regular file (``/dev/stdout``, a FIFO) counts as stdout: its folder is
    no place for an errors file (``/dev/stdout.errors.jsonl``)."""
    if output in (None, "-") or _is_special(Path(output)):
        return Path("reportx-errors.jsonl")
    path = Path(output)
    return path.with_name(path.stem + ".errors.jsonl")


def _is_special(path: Path) -> bool:
    """True for an existing path that is not a regular file (a pipe, FIFO, socket or device)."""
    return path.exists() and not path.is_file()


def _write_failed(path: Path | None, exc: OSError) -> ReportxError:
    """A write error (full disk, file size limit, closed pipe) as the one-line error the CLI prints."""
    return ReportxError(f"cannot write to {path if path is not None else 'stdout'}: {exc.strerror or exc}")


class OutputLock:
    """An exclusive ``flock`` on ``TARGET.lock``, which holds the owner's pid; see :func:`lock_output`."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    def release(self) -> None:
        """Remove the lock file and let go of the lock (idempotent)."""
        if self._fd is None:
            return
        try:
            # Unlinked while still held: a run that opened the old file sees, once it gets the lock, that the
            # path no longer names it and starts over (see lock_output), so no two runs ever hold "the" lock.
            os.unlink(self.path)
        except OSError:
            pass
        os.close(self._fd)
        self._fd = None


def lock_output(target: Path) -> OutputLock | None:
    """Take the lock that makes ``target`` one run's, before anything reads or writes it.

    Raises ``ReportxError`` naming the holder's pid when another run (or another sink in this process: flock
    locks belong to open files) holds it. None where there is nothing to guard: no ``fcntl`` (Windows), a
    target that is not a regular file (``/dev/stdout``, a FIFO), or a folder where no lock file can be made
    (then no run can write there either).
    """
    if fcntl is None or _is_special(target):
        return None
    real = target.resolve()  # one lock for every spelling of the path, symlinks included
    path = real.with_name(real.name + ".lock")
    for _ in range(100):
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as exc:
            if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
                return None
            raise
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = _read_pid(fd)
            os.close(fd)
            raise ReportxError(f"{target} is in use by another reportx run (pid {owner})") from None
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.ENOLCK, errno.EOPNOTSUPP):  # a file system without flock: cannot guard
                return None
            raise
        except BaseException:
            os.close(fd)
            raise
        try:
            held, now = os.fstat(fd), os.stat(path)
            same = (held.st_dev, held.st_ino) == (now.st_dev, now.st_ino)
        except FileNotFoundError:
            same = False
        if not same:  # the previous owner removed this lock file between our open and our flock
            os.close(fd)
            continue
        try:
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        except OSError:  # a full disk: the pid is only for the message, the flock is the lock
            pass
        return OutputLock(path, fd)
    raise ReportxError(f"cannot lock {target}: its lock file {path} keeps changing")  # pragma: no cover


def _read_pid(fd: int) -> str:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:  # pragma: no cover
        text = ""
    return text if text.isdigit() else "unknown"


def _utf8_safe(text: str) -> str:
    """``text`` with each lone surrogate (a model's ``"\\ud800"`` JSON escape) as the six characters ``\\ud800``:
    UTF-8 cannot encode one. Inside a JSON string that is the JSON escape itself, so a JSON line reads back the same
    (a high and a low surrogate in a row read back as the one character they encode)."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


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
    """Base class: ``keys`` already written, ``write(result)`` one record, ``close()``.

    ``made_by``: the (model, adapter, mode) of the records already in the output, and for JSONL ``layouts``: their
    key tuples; resume compares them with the run's own (:func:`reportx.extract.batch.run_batch`).
    """

    path: Path | None = None

    def __init__(self) -> None:
        self.keys: set[Key] = set()
        self.made_by: set[MadeBy] = set()
        self.layouts: set[tuple[str, ...]] = set()
        self._lock: OutputLock | None = None

    def write(self, result: ExtractionResult) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    def close(self) -> None:
        self._unlock()

    def _unlock(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

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
        self._failed = False
        if path is None:
            self._fh = stream or sys.stdout
            self._own = False
            return
        self._lock = lock_output(path)
        try:
            if overwrite and path.is_file():
                path.unlink()
            path.parent.mkdir(parents=True, exist_ok=True)
            if path.is_file():  # not a pipe or device: reading /dev/stdout would wait on itself forever
                _cut_partial_tail(path)
                self.keys = _jsonl_keys(path, meta=True, made_by=self.made_by, layouts=self.layouts)
            self._fh = path.open("a", encoding="utf-8", newline="\n")
        except BaseException:
            self._unlock()
            raise
        self._own = True

    def write(self, result: ExtractionResult) -> None:
        line = _utf8_safe(json.dumps(result.to_record(), ensure_ascii=False)) + "\n"
        try:
            self._fh.write(line)
            if self._own:
                _fsync(self._fh)
            else:
                self._fh.flush()
        except OSError as exc:
            self._failed = True
            raise _write_failed(self.path, exc) from None
        self.keys.add((result.source or "", result.sha256))

    def close(self) -> None:
        try:
            if self._own:
                _close_quietly(self._fh, self.path, self._failed)
        finally:
            self._unlock()


def _close_quietly(fh, path: Path | None, failed: bool) -> None:
    """Close a file; after a failed write, closing flushes the same unwritable bytes again: that error is
    already reported, so it is not raised a second time."""
    try:
        fh.close()
    except OSError as exc:
        if not failed:
            raise _write_failed(path, exc) from None


def _jsonl_keys(path: Path, meta: bool, made_by: set[MadeBy] | None = None,
                layouts: set[tuple[str, ...]] | None = None) -> set[Key]:
    """The (source, sha256) keys of a JSONL output (``meta``: in ``_meta``) or errors file; records' makers and
    key layouts are collected into ``made_by`` and ``layouts`` when given."""
    keys: set[Key] = set()
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except (json.JSONDecodeError, RecursionError):  # a line nested too deeply is no record of ours
                continue
            if not isinstance(obj, dict):
                continue
            info = obj.get("_meta", {}) if meta else obj
            if isinstance(info, dict) and "sha256" in info:
                keys.add((info.get("source") or "", info["sha256"]))
                if made_by is not None:
                    made_by.add((info.get("model"), info.get("adapter"), info.get("mode")))
                if layouts is not None:
                    layouts.add(tuple(k for k in obj if k != "_meta"))
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


def _is_composite(schema: ReportSchema, node: dict) -> bool:
    return bool(node_types(schema, node) & {"array", "object"})


def _item_properties(schema: ReportSchema, node: dict) -> list[str] | None:
    """Property names of an array-of-objects field's items, else None."""
    node = deref_node(schema, node)
    if "array" not in node_types(schema, node):
        return None
    items = deref_node(schema, node.get("items", {}))
    if not isinstance(items, dict) or "properties" not in items:
        return None
    return list(items["properties"])


def _meta_names(schema_columns: set[str]) -> dict[str, str]:
    """Provenance column names: as in ``_meta``, prefixed ``meta_`` where a schema column has the same name."""
    return {m: (f"meta_{m}" if m in schema_columns else m) for m in META_COLUMNS}


def _free_name(name: str, taken: set[str]) -> str:
    """``name``, prefixed ``meta_`` (again) while ``taken`` holds it."""
    while name in taken:
        name = f"meta_{name}"
    return name


def _is_span(value: Any) -> bool:
    """A ``[start, end, quote]`` triple."""
    return (isinstance(value, (list, tuple)) and len(value) == 3 and isinstance(value[2], str)
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value[:2]))


def span_rows(spans: Any) -> list[SpanRow]:
    """The located values of a spans tree, in its order: ``("budget_used_eur", None, 80, 91, "15.750,00 €")``,
    ``("blockers_today.delay_hours", 0, 134, 140, "2 días")``. Object keys join the field with ``.``; the first
    list index is the item, a deeper one (a user schema's list in a list item) is kept in the field as ``[i]``."""
    rows: list[SpanRow] = []
    _walk_spans(spans, "", None, rows)
    return rows


def _walk_spans(node: Any, field: str, item: int | None, rows: list[SpanRow]) -> None:
    if _is_span(node):
        if field:
            rows.append((field, item, node[0], node[1], node[2]))
    elif isinstance(node, dict):
        for key, sub in node.items():
            _walk_spans(sub, f"{field}.{key}" if field else str(key), item, rows)
    elif isinstance(node, (list, tuple)):
        for i, sub in enumerate(node):
            if item is None:
                _walk_spans(sub, field, i, rows)
            else:
                _walk_spans(sub, f"{field}[{i}]", item, rows)


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


#: First characters that make a spreadsheet read a CSV cell as a formula (OWASP CSV injection), plus ``'``
#: itself, so that escaping stays reversible: unescaping drops exactly one leading ``'``.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "'")


def csv_escape(value: Any) -> Any:
    """A CSV cell safe to open in a spreadsheet: text starting with a formula character gets a leading ``'``.

    Only ``str`` cells are touched: numbers (``-3.5``) stay numbers, which can carry no formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_unescape(cell: str) -> str:
    """The text :func:`csv_escape` was given (what resume compares ``source`` with)."""
    return cell[1:] if cell.startswith("'") else cell


class CsvSink(Sink):
    """One row per report. An array of objects (blockers) becomes its exact JSON, a count, and one column per
    item key with the values joined by ``"; "`` (empty for null): ``blockers_today_ticket_id`` = ``9812; SEC-27``.
    Provenance columns follow the record's.

    Every text cell (record fields, joined columns, provenance, header) is escaped against formula injection
    by the OWASP rule: one starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return (or ``'``, to keep
    the escape reversible) gets a leading ``'``, so a source named ``=1+1.txt`` is written ``'=1+1.txt``.
    Numbers, and joined lists of numbers only, are written as they are (``-3.5`` stays a number).

    The last column, ``spans``, holds the spans as compact JSON (empty without spans). A file written before it
    existed (the same header without it) is resumed and appended to in that layout, without spans."""

    def __init__(self, path: Path, schema: ReportSchema, overwrite: bool = False) -> None:
        super().__init__()
        self.path = path
        self._failed = False
        self.columns = _flat_columns(schema)
        names = [c[0] for c in self.columns]
        self.meta_names = _meta_names(set(names))
        self.spans_name = _free_name(SPANS, set(names))
        # The last columns, added over time: a file written before one of them existed keeps its layout.
        self.tail = [self.spans_name] + [_free_name(c, set(names)) for c in (CONFIDENCE, REVIEW)]
        self.header = names + [self.meta_names[m] for m in META_COLUMNS] + self.tail
        self.with_spans = True  # False when resuming a file written without the spans column
        self._lock = lock_output(path)
        try:
            self._open(path, overwrite)
        except BaseException:
            self._unlock()
            raise

    def _open(self, path: Path, overwrite: bool) -> None:
        if overwrite and path.is_file():
            path.unlink()
        path.parent.mkdir(parents=True, exist_ok=True)
        # Only a regular file is read back: a pipe or device (/dev/stdout) is written to, never waited on.
        new = not path.is_file() or path.stat().st_size == 0
        header = [csv_escape(name) for name in self.header]
        if not new:
            _cut_partial_tail(path)
            with path.open(encoding="utf-8-sig", newline="") as fh:
                rows = list(csv.reader(fh))
            for missing in range(1, len(self.tail) + 1):  # written before the last columns: keep its layout
                if rows and rows[0] == header[:-missing]:
                    self.header, header = self.header[:-missing], header[:-missing]
                    self.tail = self.tail[:-missing]
                    self.with_spans = bool(self.tail)
                    break
            if rows and rows[0] != header:
                raise ReportxError(
                    f"{path} has other columns than this schema's: use --overwrite or another output file"
                )
            src, sha = self.header.index(self.meta_names["source"]), self.header.index(self.meta_names["sha256"])
            makers = [self.header.index(self.meta_names[m]) for m in ("model", "adapter", "mode")]
            for row in rows[1:]:
                if len(row) == len(self.header):
                    self.keys.add((csv_unescape(row[src]), row[sha]))
                    model, adapter, mode = (csv_unescape(row[i]) or None for i in makers)
                    self.made_by.add((model, adapter, mode))
            new = not rows
        self._fh = path.open("a", encoding="utf-8", newline="")
        if new:
            self._write_row(header)

    def _write_row(self, row: list[Any]) -> None:
        buf = io.StringIO()
        # csv quotes a cell holding a character of the line terminator, so "\r\n" makes it quote a bare "\r"
        # too (which "\n" would leave bare, splitting the row for readers); the row still ends in "\n".
        csv.writer(buf, lineterminator="\r\n").writerow(row)
        line = _utf8_safe(buf.getvalue()[:-2]) + "\n"
        try:
            self._fh.write(line)
            _fsync(self._fh)
        except OSError as exc:
            self._failed = True
            raise _write_failed(self.path, exc) from None

    def write(self, result: ExtractionResult) -> None:
        record = result.record or {}
        row: list[Any] = []
        for name, kind, detail in self.columns:
            value = record.get(name)
            if kind == "scalar":
                row.append(csv_escape(_cell(value)))
            elif kind == "json":
                # A number in a composite field is written as the number (the same text json.dumps gives).
                row.append(value if _is_number(value) else csv_escape(json.dumps(value, ensure_ascii=False)))
            elif kind == "count":
                row.append(len(record.get(detail) or []))
            else:
                field, sub = detail
                values = [it.get(sub) for it in record.get(field) or []]
                joined = "; ".join("" if v is None else str(_cell(v)) for v in values)
                # Digits, signs and "; " alone cannot make a formula: a list of numbers stays readable as such.
                numbers_only = all(v is None or _is_number(v) for v in values)
                row.append(joined if numbers_only else csv_escape(joined))
        meta = result.meta
        row += [csv_escape(_cell(meta[m])) for m in META_COLUMNS]
        tail = [result.spans, result.confidence, "; ".join(result.review) if result.review is not None else None]
        for value in tail[:len(self.tail)]:
            if value is None or isinstance(value, str):
                row.append(csv_escape(value or ""))
            else:
                row.append(csv_escape(json.dumps(value, ensure_ascii=False, separators=(",", ":"))))
        self._write_row(row)
        self.keys.add((result.source or "", result.sha256))

    def close(self) -> None:
        try:
            _close_quietly(self._fh, self.path, self._failed)
        finally:
            self._unlock()


def _sql_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _sql_type(schema: ReportSchema, node: dict) -> str:
    types = node_types(schema, node) - {"null"}
    if types and types <= {"integer", "boolean"}:
        return "INTEGER"
    if types and types <= {"number", "integer"}:
        return "REAL"
    return "TEXT"


def _sql_value(value: Any) -> Any:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (dict, list)):
        return _utf8_safe(json.dumps(value, ensure_ascii=False))
    return _utf8_safe(value) if isinstance(value, str) else value


class SqliteSink(Sink):
    """A ``reports`` table (the schema's scalar fields, composite ones as JSON text, the provenance, and the
    whole record as ``record_json``) and, per array-of-objects field, a child table keyed to it
    (``blockers``: ``report_id``, ``position``, ``ticket_id``, ``delay_hours``), and a ``spans`` table keyed the
    same way (``report_id``, ``field``, ``item``, ``start``, ``"end"``, ``quote``: see :func:`span_rows`), created
    in old databases too. One transaction per record."""

    def __init__(self, path: Path, schema: ReportSchema, overwrite: bool = False) -> None:
        super().__init__()
        self.path = path
        if _is_special(path):
            raise ReportxError(f"{path} is not a regular file: a SQLite output needs one")
        # The lock (OUTPUT.lock: SQLite's own locks last one transaction, not one run) comes before the keys.
        self._lock = lock_output(path)
        try:
            self._open(path, schema, overwrite)
        except BaseException:
            self._unlock()
            raise

    def _open(self, path: Path, schema: ReportSchema, overwrite: bool) -> None:
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
                items = deref_node(schema, deref_node(schema, node).get("items", {}))
                cols = [(name, _sql_type(schema, items["properties"][name])) for name in sub]
                self.children.append((key, CHILD_TABLE_NAMES.get(key, key), cols))
            else:
                self.fields.append((key, _sql_type(schema, node)))
        self.meta_names = _meta_names({f for f, _ in self.fields} | {"id", "record_json"})
        self.spans_table = _free_name(SPANS, {table for _, table, _ in self.children} | {"reports"})
        self.confidence_table = _free_name(CONFIDENCE, {table for _, table, _ in self.children} | {"reports"})
        try:
            self.conn = sqlite3.connect(str(path), isolation_level=None)
            self.conn.execute("PRAGMA foreign_keys = ON")
            self.conn.execute("PRAGMA synchronous = FULL")
            self._create()
            src, sha = self.meta_names["source"], self.meta_names["sha256"]
            for s, h in self.conn.execute(f"SELECT {_sql_ident(src)}, {_sql_ident(sha)} FROM reports"):
                self.keys.add((s or "", h))
            makers = ", ".join(_sql_ident(self.meta_names[m]) for m in ("model", "adapter", "mode"))
            self.made_by.update(self.conn.execute(f"SELECT DISTINCT {makers} FROM reports"))
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
        self._create_spans()
        self._create_confidence()

    def _create_confidence(self) -> None:
        """The confidence table: one row per field of a record that carries confidences, ``review`` 1 for a field
        under ``--review-below`` (0 above it, NULL without the option); created in old databases too."""
        table = _sql_ident(self.confidence_table)
        self.conn.execute(
            f"CREATE TABLE IF NOT EXISTS {table} (report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE, "
            "field TEXT NOT NULL, confidence REAL NOT NULL, review INTEGER)"
        )
        existing = [row[1] for row in self.conn.execute(f"PRAGMA table_info({table})")]
        if existing != ["report_id", "field", "confidence", "review"]:
            raise sqlite3.DatabaseError(f"its {self.confidence_table} table has other columns than reportx's (use --overwrite)")
        self.conn.execute(
            f"CREATE INDEX IF NOT EXISTS {_sql_ident(self.confidence_table + '_report')} ON {table} (report_id)"
        )

    def _create_spans(self) -> None:
        """The spans table (IF NOT EXISTS: a database written before it existed gets it) and its index."""
        table = _sql_ident(self.spans_table)
        self.conn.execute(
            f"CREATE TABLE IF NOT EXISTS {table} (report_id INTEGER NOT NULL REFERENCES reports(id) ON DELETE CASCADE, "
            'field TEXT NOT NULL, item INTEGER, start INTEGER NOT NULL, "end" INTEGER NOT NULL, quote TEXT NOT NULL)'
        )
        existing = [row[1] for row in self.conn.execute(f"PRAGMA table_info({table})")]
        if existing != ["report_id", "field", "item", "start", "end", "quote"]:
            raise sqlite3.DatabaseError(f"its {self.spans_table} table has other columns than reportx's (use --overwrite)")
        self.conn.execute(
            f"CREATE INDEX IF NOT EXISTS {_sql_ident(self.spans_table + '_report')} ON {table} (report_id)"
        )

    def write(self, result: ExtractionResult) -> None:
        record = result.record or {}
        meta = result.meta
        names = [f for f, _ in self.fields] + [self.meta_names[m] for m in META_COLUMNS] + ["record_json"]
        values = [_sql_value(record.get(f)) for f, _ in self.fields] + [_sql_value(meta[m]) for m in META_COLUMNS]
        values.append(_utf8_safe(json.dumps(record, ensure_ascii=False)))
        conn = self.conn
        try:
            conn.execute("BEGIN IMMEDIATE")
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
            conn.executemany(
                f'INSERT INTO {_sql_ident(self.spans_table)} (report_id, field, item, start, "end", quote) '
                "VALUES (?, ?, ?, ?, ?, ?)",
                [(report_id, _utf8_safe(f), i, a, b, _utf8_safe(q)) for f, i, a, b, q in span_rows(result.spans)],
            )
            review = set(result.review or ())
            conn.executemany(
                f"INSERT INTO {_sql_ident(self.confidence_table)} (report_id, field, confidence, review) VALUES (?, ?, ?, ?)",
                [(report_id, _utf8_safe(f), p, None if result.review is None else int(f in review))
                 for f, p in (result.confidence or {}).items()],
            )
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:  # SQLite may already have rolled back (a full disk)
                try:
                    conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            if isinstance(exc, sqlite3.Error):  # "database or disk is full", "disk I/O error"
                raise ReportxError(f"cannot write to {self.path}: {exc}") from None
            raise
        self.keys.add((result.source or "", result.sha256))

    def close(self) -> None:
        try:
            self.conn.close()
        finally:
            self._unlock()


class ErrorSink:
    """Error records as JSONL: created on the first error, one complete line each, no duplicate (source, sha256).

    Locked like the outputs (``ERRORS.lock``, from opening to :meth:`close`): two runs may share an errors file
    only one after the other, since closing rewrites it."""

    def __init__(self, path: Path, overwrite: bool = False) -> None:
        self.path = path
        self.count = 0
        self._failed = False
        self._fh: TextIO | None = None
        self._lock = lock_output(path)
        try:
            if overwrite and path.is_file():
                path.unlink()
            self.keys: set[Key] = set()
            if path.is_file():  # never read a pipe or device (--errors /dev/stderr)
                _cut_partial_tail(path)
                self.keys = _jsonl_keys(path, meta=False)
        except BaseException:
            self._unlock()
            raise

    def _unlock(self) -> None:
        if self._lock is not None:
            self._lock.release()
            self._lock = None

    def write(self, result: ExtractionResult) -> None:
        """Append ``result``'s error line, unless an earlier run already wrote one for the same input."""
        self.count += 1
        key = (result.source or "", result.sha256)
        if key in self.keys:
            return  # the same input failed in an earlier run: its line is already there
        try:
            if self._fh is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fh = self.path.open("a", encoding="utf-8", newline="\n")
            self._fh.write(_utf8_safe(json.dumps(result.to_error(), ensure_ascii=False)) + "\n")
            _fsync(self._fh)
        except OSError as exc:
            self._failed = True
            raise _write_failed(self.path, exc) from None
        self.keys.add(key)

    def close(self, succeeded: set[Key] | None = None) -> None:
        """Close; drop error lines of inputs that have since succeeded (``succeeded``: keys now in the output)."""
        try:
            self._close(succeeded)
        finally:
            self._unlock()

    def _close(self, succeeded: set[Key] | None) -> None:
        if self._fh is not None:
            fh, self._fh = self._fh, None
            _close_quietly(fh, self.path, self._failed)
        # Only a regular file is rewritten: replacing /dev/stderr by a file would be wrong (and as root, possible).
        if succeeded and self.path.is_file() and self.keys & succeeded:
            kept = []
            with self.path.open(encoding="utf-8") as fh:
                for line in fh:
                    try:
                        obj = json.loads(line)
                        key = (obj.get("source") or "", obj.get("sha256"))
                    except (json.JSONDecodeError, AttributeError, RecursionError):
                        key = None
                    if key not in succeeded:
                        kept.append(line)
            tmp = self.path.with_name(self.path.name + ".tmp")
            try:
                tmp.write_text("".join(kept), encoding="utf-8")
                os.replace(tmp, self.path)
            except OSError as exc:  # a full disk: the old file stays whole, a re-run cleans it
                tmp.unlink(missing_ok=True)
                raise _write_failed(self.path, exc) from None
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
