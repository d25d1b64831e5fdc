"""``reportx extract`` on awkward inputs, without the model: odd file names, stray bytes, huge JSONL, FIFOs,
unreadable folders and symlink loops. Each run must exit with the right code, say at most one line on stderr
(never a traceback), print nothing on stdout but records, and account for every input as a record or an error.

The CLI runs in process (``reportx.cli.main``) with :class:`FakeExtractor` in place of the model.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import socket
import sqlite3
import sys
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

from reportx.extract import inputs

from .fake_extract import FakeExtractor, FakeSetup

TEXT = "Informe – proyecto «Ñandú»: gasto 4.500 €, estado ámbar.\nSiguiente: revisión"


@dataclass
class Run:
    code: int | None
    stdout: str
    stderr: str


@pytest.fixture
def reportx(monkeypatch, capsys):
    """``reportx("extract", args..., stdin=b"")``: the CLI's exit code, stdout and stderr, in process."""

    def run(*args: str, stdin: bytes = b"") -> Run:
        monkeypatch.setattr("reportx.extract.extractor.Extractor", FakeExtractor)
        monkeypatch.setattr("reportx.extract.extractor.resolve_setup", lambda *a, **k: FakeSetup())
        monkeypatch.setattr(sys, "argv", ["reportx", "extract", *args])
        monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(stdin)))
        from reportx.cli import main

        capsys.readouterr()
        code: int | None = 0
        tb = ""
        try:
            main()
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # what a user would see as a traceback
            code, tb = None, traceback.format_exc()
        out, err = capsys.readouterr()
        return Run(code, out, err + tb)

    return run


def check(run: Run, code: int, output: Path | None, errors: Path, expected: set[str]) -> tuple[dict, dict]:
    """The checks every run passes; returns (records' ``_meta``, error records) by source."""
    lines = [x for x in run.stderr.splitlines() if x.strip()]
    assert run.code == code, run.stderr
    assert len(lines) <= 1 and "Traceback" not in run.stderr, run.stderr
    records = _output_rows(output) if output is not None else [json.loads(x)["_meta"] for x in run.stdout.splitlines()]
    if output is not None:
        assert run.stdout == ""
    failed = [json.loads(x) for x in errors.read_text(encoding="utf-8").splitlines()] if errors.exists() else []
    by_source = {r["source"]: r for r in records}
    errors_by_source = {e["source"]: e for e in failed}
    assert len(by_source) == len(records) and len(errors_by_source) == len(failed)
    assert set(by_source) | set(errors_by_source) == expected
    assert not set(by_source) & set(errors_by_source)
    return by_source, errors_by_source


def _output_rows(path: Path) -> list[dict]:
    if path.suffix == ".jsonl":
        return [json.loads(x)["_meta"] for x in path.read_text(encoding="utf-8").splitlines()]
    if path.suffix == ".csv":
        with path.open(encoding="utf-8", newline="") as fh:
            return list(csv.DictReader(fh))
    conn = sqlite3.connect(path)
    try:
        return [{"source": s, "sha256": h} for s, h in conn.execute("SELECT source, sha256 FROM reports")]
    finally:
        conn.close()


def write_reports(folder: Path, names: list[str]) -> list[str]:
    for name in names:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(f"Proyecto {name}: todo OK. Estado: verde.", encoding="utf-8")
    return [str(folder / name) for name in names]


# 2. A file name that is not UTF-8 -------------------------------------------------------------------------


@pytest.mark.parametrize("output", ["-", "out.jsonl", "out.csv", "out.db"])
def test_a_latin1_file_name_is_extracted_with_a_printable_stable_source(reportx, tmp_path, output):
    folder = tmp_path / "in"
    names = write_reports(folder, ["a.txt", "z.txt"])
    try:
        fd = os.open(os.fsencode(folder) + b"/caf\xe9.txt", os.O_WRONLY | os.O_CREAT)
    except OSError as exc:  # pragma: no cover - a file system that refuses such names cannot have the bug
        pytest.skip(f"this file system refuses non-UTF-8 names: {exc}")
    os.write(fd, "Proyecto Café: terminado. Estado: verde.".encode("cp1252"))
    os.close(fd)
    out = None if output == "-" else tmp_path / output
    errors = tmp_path / "errors.jsonl"
    args = [str(folder), "-o", str(out or "-"), "--errors", str(errors)]
    cafe = f"{folder}/caf\\xe9.txt"
    records, _ = check(reportx(*args), 0, out, errors, {*names, cafe})
    assert len(records[cafe]["sha256"]) == 64
    if out is not None:  # the source is the same on the next run, so resume finds everything done
        again = reportx(*args)
        check(again, 0, out, errors, {*names, cafe})
        assert "skipped 3 already in the output" in again.stderr


def test_printable_path_escapes_only_the_bad_bytes():
    assert inputs.printable_path(os.fsdecode(b"/r/caf\xe9-\xc3\xb1.txt")) == "/r/caf\\xe9-ñ.txt"
    assert inputs.printable_path("/r/año.txt") == "/r/año.txt"


# 3. A few stray bytes in UTF-8 text -----------------------------------------------------------------------


def test_utf8_with_stray_bytes_stays_utf8_and_says_so():
    utf8 = TEXT.encode("utf-8")
    middle = utf8.index(b"gasto")
    text, encoding, notes = inputs.decode_report(utf8[:middle] + b"\xff\xfe\x81\x9d" + utf8[middle:])
    assert encoding == "utf-8" and "«Ñandú»" in text and text.count("\ufffd") == 4
    assert notes == ["4 invalid UTF-8 bytes replaced with U+FFFD"]
    # One cp1252 curly quote pasted into a UTF-8 file.
    text, encoding, notes = inputs.decode_report(utf8 + b" \x93ok")
    assert encoding == "utf-8" and text == TEXT + " \ufffdok" and notes == ["1 invalid UTF-8 byte replaced with U+FFFD"]


@pytest.mark.parametrize(
    "text",
    [TEXT, "Status: \u201cgreen\u201d, budget fine", "INFORMACIÓN» del camión: revisión del año, señal débil"],
)
def test_legacy_text_is_still_cp1252(text):
    # A guard on the rule above, true before it too. The last text has an accidental valid UTF-8 pair (Ó» is
    # D3 BB) among its accented letters.
    assert inputs.decode_bytes(text.encode("cp1252")) == (text, "cp1252")


def test_stray_bytes_are_noted_in_meta_and_the_text_is_not_garbled(reportx, tmp_path):
    folder = tmp_path / "in"
    clean = write_reports(folder, ["clean.txt"])[0]
    utf8 = TEXT.encode("utf-8")
    middle = utf8.index(b"gasto")
    (folder / "stray.txt").write_bytes(utf8[:middle] + b"\xff\xfe\x81\x9d" + utf8[middle:])
    (folder / "quote.txt").write_bytes(utf8 + b" \x93ok")
    errors = tmp_path / "errors.jsonl"
    run = reportx(str(folder), "--errors", str(errors))
    stray, quote = str(folder / "stray.txt"), str(folder / "quote.txt")
    records, _ = check(run, 0, None, errors, {clean, stray, quote})
    assert records[stray]["input_notes"] == ["4 invalid UTF-8 bytes replaced with U+FFFD"]
    assert records[quote]["input_notes"] == ["1 invalid UTF-8 byte replaced with U+FFFD"]
    assert "input_notes" not in records[clean]  # other records keep their exact _meta
    # The fake's project_name is the start of the text it was given: the accented letters are intact.
    names = {json.loads(x)["_meta"]["source"]: json.loads(x)["project_name"] for x in run.stdout.splitlines()}
    assert "«Ñandú»" in names[stray] and "«Ñandú»" in names[quote]


# 4. JSONL is read to its end, one line at a time ----------------------------------------------------------


@pytest.mark.parametrize("where", ["stdin", "file"])
def test_jsonl_is_never_cut_and_an_overlong_line_is_an_error_record(reportx, tmp_path, monkeypatch, where):
    # A lower per-report limit stands for 1 MiB: 400 lines of 1 kB are then far over 64 times the limit.
    monkeypatch.setattr(inputs, "MAX_REPORT_BYTES", 4096)
    lines = [json.dumps({"id": i, "text": f"Proyecto {i}: todo OK. " + "x" * 1000}) for i in range(400)]
    lines[56] = json.dumps({"id": 56, "text": "y" * 10_000})  # line 57: over the limit
    data = ("\n".join(lines) + "\n").encode("utf-8")
    errors = tmp_path / "errors.jsonl"
    if where == "stdin":
        run, source = reportx("-", "--jsonl-field", "text", "--errors", str(errors), stdin=data), "-"
    else:
        source = str(tmp_path / "big.jsonl")
        Path(source).write_bytes(data)
        run = reportx(source, "--errors", str(errors))
    _, failed = check(run, 1, None, errors, {f"{source}:{n}" for n in range(1, 401)})
    assert list(failed) == [f"{source}:57"]
    size = len(lines[56].encode())
    assert failed[f"{source}:57"]["error"].startswith(f"line 57 is longer than the context ({size} bytes")
    assert len(failed[f"{source}:57"]["sha256"]) == 64


def test_stdin_jsonl_is_read_in_bounded_pieces(monkeypatch):
    class Recorder(io.BytesIO):
        sizes: list[int] = []

        def read(self, size=-1):
            self.sizes.append(size)
            return super().read(size)

    stream = Recorder(b"".join(json.dumps({"text": f"r{i}"}).encode() + b"\n" for i in range(50_000)))
    items = list(inputs.discover(["-"], jsonl_field="text", stdin=stream))
    assert len(items) == 50_000 and items[-1].source == "-:50000"
    assert all(0 < size <= 1 << 20 for size in Recorder.sizes)  # never "all of it", never a fixed cap


# 8. A FIFO named as an input ------------------------------------------------------------------------------


class OpenWatch:
    """Notices whether anything opens ``fifo`` for reading (and then lets that reader go, so nothing hangs)."""

    def __init__(self, fifo: Path) -> None:
        self.fifo, self.opened, self._done = fifo, False, threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._done.wait(0.02):
            try:  # a non-blocking open for writing succeeds only while a reader has the FIFO open
                fd = os.open(self.fifo, os.O_WRONLY | os.O_NONBLOCK)
            except OSError as exc:
                if exc.errno != errno.ENXIO:
                    raise
                continue
            self.opened = True
            os.close(fd)  # the reader sees end of file

    def __enter__(self) -> OpenWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done.set()
        self._thread.join()


def test_a_fifo_on_the_command_line_is_an_error_record_never_opened(reportx, tmp_path):
    report = write_reports(tmp_path / "in", ["a.txt"])[0]
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)
    errors = tmp_path / "errors.jsonl"
    with OpenWatch(fifo) as watch:
        run = reportx(str(fifo), report, "--errors", str(errors))
    assert not watch.opened
    _, failed = check(run, 1, None, errors, {str(fifo), report})
    assert failed[str(fifo)]["error"] == "not a regular file (a FIFO)"


# 11. Nothing in a folder is skipped in silence ------------------------------------------------------------


def test_fifo_socket_broken_and_looping_links_in_a_folder_are_error_records(reportx, tmp_path):
    folder = tmp_path / "in"
    reports = write_reports(folder, ["a.txt", "sub/b.txt"])
    os.mkfifo(folder / "pipe.txt")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(folder / "sock.md"))
    (folder / "loop1").symlink_to("loop2")
    (folder / "loop2").symlink_to("loop1")
    (folder / "sub" / "up").symlink_to("..")  # a folder link back to its parent
    (folder / "gone.txt").symlink_to("missing.txt")
    (folder / "notes.log").symlink_to("missing.log")  # not a report's name: not one of the inputs
    outside = write_reports(tmp_path / "elsewhere", ["c.txt"])
    (folder / "linked").symlink_to(tmp_path / "elsewhere")  # a link to another folder is followed
    errors = tmp_path / "errors.jsonl"
    try:
        with OpenWatch(folder / "pipe.txt") as watch:
            run = reportx(str(folder), "--errors", str(errors))
    finally:
        sock.close()
    assert not watch.opened
    problems = ["pipe.txt", "sock.md", "loop1", "loop2", "sub/up", "gone.txt"]
    linked = str(folder / "linked" / "c.txt")
    records, failed = check(run, 1, None, errors, {*reports, linked, *(str(folder / p) for p in problems)})
    assert outside and linked in records
    reasons = {p: failed[str(folder / p)]["error"] for p in problems}
    assert reasons["pipe.txt"] == "not a regular file (a FIFO)"
    assert reasons["sock.md"] == "not a regular file (a socket)"
    assert reasons["loop1"].startswith("symlink loop") and reasons["loop2"].startswith("symlink loop")
    assert reasons["sub/up"].startswith("symlink loop")
    assert reasons["gone.txt"].startswith("broken symlink")


def _unreadable_folder_case(tmp_path):
    folder = tmp_path / "in"
    reports = write_reports(folder, ["a.txt", "locked/b.txt", "z/c.txt"])
    errors = tmp_path / "errors.jsonl"
    return folder, reports, errors


def test_an_unreadable_folder_is_an_error_record(reportx, tmp_path, monkeypatch):
    folder, reports, errors = _unreadable_folder_case(tmp_path)
    locked = folder / "locked"
    real_scandir = os.scandir

    def scandir(path="."):  # what chmod 000 does for a user other than root
        if os.fspath(path) == str(locked):
            raise PermissionError(errno.EACCES, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    run = reportx(str(folder), "--errors", str(errors))
    monkeypatch.undo()
    _, failed = check(run, 1, None, errors, {reports[0], reports[2], str(locked)})
    assert failed[str(locked)]["error"] == "cannot read folder: Permission denied"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads folders whatever their permissions")
def test_a_chmod_000_folder_is_an_error_record(reportx, tmp_path):
    folder, reports, errors = _unreadable_folder_case(tmp_path)
    locked = folder / "locked"
    locked.chmod(0)
    try:
        run = reportx(str(folder), "--errors", str(errors))
    finally:
        locked.chmod(0o755)
    _, failed = check(run, 1, None, errors, {reports[0], reports[2], str(locked)})
    assert failed[str(locked)]["error"] == "cannot read folder: Permission denied"


# 12. JSONL errors say the line; empty JSONL on stdin is a usage error -------------------------------------


def test_a_jsonl_error_says_its_line(reportx, tmp_path):
    src = tmp_path / "day.jsonl"
    lines = [json.dumps({"text": f"Proyecto {i}: todo OK."}) for i in range(9)]
    lines[6] = '{"text": "roto'
    lines[7] = json.dumps({"body": "sin campo"})
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    errors = tmp_path / "errors.jsonl"
    _, failed = check(reportx(str(src), "--errors", str(errors)), 1, None, errors, {f"{src}:{n}" for n in range(1, 10)})
    assert failed[f"{src}:7"]["error"].startswith("line 7 is not JSON: Unterminated string")
    assert failed[f"{src}:8"]["error"].startswith("line 8 has no report text ('input', 'text' or chat 'messages'")


def test_empty_jsonl_on_stdin_exits_2_like_an_empty_folder(reportx, tmp_path):
    errors = tmp_path / "errors.jsonl"
    for stdin in (b"", b"\n  \n"):
        run = reportx("-", "--jsonl-field", "text", "--errors", str(errors), stdin=stdin)
        assert run.code == 2 and run.stdout == "" and not errors.exists()
        assert run.stderr.splitlines() == ["reportx: error: no reports found (stdin has no JSONL lines)"]
    empty = tmp_path / "empty"
    empty.mkdir()
    run = reportx(str(empty), "--errors", str(errors))
    assert run.code == 2 and run.stderr.startswith("reportx: error: no reports found")
