"""``reportx extract`` output robustness, without the model (a fake extractor): one run per output at a time,
CSV formula injection, full disks and non-regular outputs, --threads bounds, an input given as the output.

Every CLI check: the exit code, at most one line on stderr and no traceback, nothing on stdout but records, and
every input accounted for as a record or an error record (where the run can write at all).
"""

from __future__ import annotations

import csv
import io
import json
import os
import resource
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reportx.errors import ReportxError
from reportx.extract.batch import BatchOptions, run_batch
from reportx.extract.config import MAX_THREADS, ExtractConfig
from reportx.extract.outputs import CsvSink, ErrorSink, JsonlSink, SqliteSink, csv_escape, csv_unescape
from reportx.schema import builtin_schema

from .conftest import cli_env
from .fake_extract import FakeExtractor

SCHEMA = builtin_schema()
FAKE_CLI = Path(__file__).with_name("fake_extract.py")


def fake_cli(*args: str, cwd: Path, env: dict | None = None, timeout: float = 120, **kw) -> subprocess.CompletedProcess:
    """``reportx extract ARGS`` with the fake extractor, in a child process."""
    return subprocess.run([sys.executable, str(FAKE_CLI), "extract", *args], capture_output=True, text=True,
                          cwd=cwd, env=env or cli_env(), timeout=timeout, **kw)


def write_inputs(folder: Path, n: int = 5, pad: int = 0) -> list[Path]:
    """``n`` report files, each a record as JSON (``pad`` characters of next_step make them big)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(n):
        path = folder / f"r{i:02d}.txt"
        path.write_text(json.dumps({"project_name": f"P{i}", "next_step": "x" * pad or None}), encoding="utf-8")
        paths.append(path)
    return paths


def stderr_lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def assert_one_line_error(r: subprocess.CompletedProcess, *needles: str) -> None:
    """Exit 2, exactly one ``reportx: error:`` line on stderr (no traceback), nothing on stdout."""
    lines = stderr_lines(r.stderr)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr and len(lines) == 1 and lines[0].startswith("reportx: error:"), r.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    assert r.stdout == "", r.stdout


def keys_in(path: Path) -> list[tuple[str, str]]:
    """(source, sha256) of every record in a JSONL, CSV or SQLite output, duplicates kept."""
    if path.suffix == ".jsonl":
        return [(r["_meta"]["source"], r["_meta"]["sha256"])
                for r in map(json.loads, path.read_text(encoding="utf-8").splitlines())]
    if path.suffix == ".csv":
        rows = list(csv.DictReader(path.open(encoding="utf-8", newline="")))
        return [(csv_unescape(r["source"]), r["sha256"]) for r in rows]
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return conn.execute("SELECT source, sha256 FROM reports").fetchall()
    finally:
        conn.close()


def count_in(path: Path) -> int:
    try:
        return len(keys_in(path)) if path.exists() else 0
    except (sqlite3.Error, json.JSONDecodeError, KeyError):
        return 0  # caught mid-write or mid-creation: not yet


# 5. One run per output ------------------------------------------------------------------------------------


def _open(kind: str, path: Path, overwrite: bool = False):
    if kind == "jsonl":
        return JsonlSink(path, overwrite)
    if kind == "csv":
        return CsvSink(path, SCHEMA, overwrite)
    if kind == "sqlite":
        return SqliteSink(path, SCHEMA, overwrite)
    return ErrorSink(path, overwrite)


@pytest.mark.parametrize("kind,name", [("jsonl", "o.jsonl"), ("csv", "o.csv"), ("sqlite", "o.db"),
                                       ("errors", "o.errors.jsonl")])
def test_two_sinks_on_one_file_conflict_until_the_first_closes(tmp_path, kind, name):
    """flock locks belong to open files: a second open in the same process conflicts like another run."""
    path = tmp_path / "sub" / name
    first = _open(kind, path)
    lock = path.with_name(name + ".lock")
    assert lock.read_text().strip() == str(os.getpid())
    before = path.read_bytes() if path.exists() else None
    with pytest.raises(ReportxError, match=rf"is in use by another reportx run \(pid {os.getpid()}\)"):
        _open(kind, path, overwrite=True)  # refused before --overwrite could delete anything
    assert (path.read_bytes() if path.exists() else None) == before
    first.close()
    assert not lock.exists()  # removed on close: no litter beside the output
    second = _open(kind, path)
    second.close()


def test_a_run_releases_the_output_lock_when_the_errors_file_is_taken(tmp_path):
    folder = tmp_path / "in"
    write_inputs(folder, 2)
    out, errors = tmp_path / "o.jsonl", tmp_path / "shared.errors.jsonl"
    held = ErrorSink(errors)
    try:
        with pytest.raises(ReportxError, match="shared.errors.jsonl is in use by another reportx run"):
            run_batch(BatchOptions(inputs=[str(folder)], output=str(out), errors=str(errors), quiet=True),
                      extractor=FakeExtractor(), stderr=io.StringIO())
    finally:
        held.close()
    assert not (tmp_path / "o.jsonl.lock").exists()
    summary = run_batch(BatchOptions(inputs=[str(folder)], output=str(out), errors=str(errors), quiet=True),
                        extractor=FakeExtractor(), stderr=io.StringIO())
    assert (summary.extracted, summary.exit_code) == (2, 0) and count_in(out) == 2


@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", ["day.jsonl", "day.csv", "day.db"])
def test_second_run_on_the_same_output_exits_2_and_duplicates_nothing(tmp_path, name):
    """The issue's case: two runs on one output. The second stops at once; the first finishes alone."""
    write_inputs(tmp_path / "in", 5)
    out, gate = tmp_path / name, tmp_path / "gate"
    args = ["in", "-o", name]
    first = subprocess.Popen([sys.executable, str(FAKE_CLI), "extract", *args], cwd=tmp_path, text=True,
                             env={**cli_env(), "REPORTX_FAKE_GATE": str(gate)},
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while count_in(out) < 1:  # the first run holds the output and waits at its second report
            assert first.poll() is None, first.communicate()
            assert time.monotonic() < deadline, "the first run wrote nothing"
            time.sleep(0.05)
        second = fake_cli(*args, cwd=tmp_path)
        assert_one_line_error(second, f"{name} is in use by another reportx run (pid {first.pid})")
    finally:
        gate.touch()
        stdout, stderr = first.communicate(timeout=120)
    assert first.returncode == 0, stderr
    assert stdout == "" and len(stderr_lines(stderr)) == 1 and "extracted 5, failed 0 of 5" in stderr
    keys = keys_in(out)
    assert len(keys) == len(set(keys)) == 5
    assert not out.with_name(name + ".lock").exists()


# 7. CSV formula injection ---------------------------------------------------------------------------------


def test_csv_escape_rule():
    for text in ("=1+1", "+cmd", "-x", "@SUM(A1)", "\tx", "\rx", "'quoted"):
        assert csv_escape(text) == "'" + text and csv_unescape(csv_escape(text)) == text
    for value in ("safe", "", "a=b", -3.5, -2, 0):
        assert csv_escape(value) == value
    assert csv_unescape("plain") == "plain"


def test_csv_output_escapes_formula_cells_and_resumes_on_escaped_sources(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # relative inputs: their sources start with the formula characters
    reports = {
        "=1+1.txt": {"next_step": "+cmd|' /C calc'!A0", "client": "@SUM(A1:A9)", "budget_used_eur": -3.5},
        "-rm.txt": {"project_name": "\tTab", "key_milestone_completed": "\rCR",
                    "blockers_today": [{"ticket_id": "=HYPERLINK(\"http://x\")", "delay_hours": -1},
                                       {"ticket_id": "OK-1", "delay_hours": 2}]},
        "@x.txt": {"project_name": "'already quoted", "budget_used_eur": -2},
        "plain.txt": {"project_name": "Plain"},
    }
    for name, record in reports.items():
        Path(name).write_text(json.dumps(record), encoding="utf-8")
    opts = BatchOptions(inputs=list(reports), output="out.csv")
    out, err = io.StringIO(), io.StringIO()
    summary = run_batch(opts, stdout=out, stderr=err, extractor=FakeExtractor())
    assert (summary.extracted, summary.failed, summary.exit_code) == (4, 0, 0)
    assert out.getvalue() == "" and len(stderr_lines(err.getvalue())) == 1

    rows = list(csv.DictReader(open("out.csv", encoding="utf-8", newline="")))
    by_source = {row["source"]: row for row in rows}
    assert set(by_source) == {"'=1+1.txt", "'-rm.txt", "'@x.txt", "plain.txt"}
    a, b, c = by_source["'=1+1.txt"], by_source["'-rm.txt"], by_source["'@x.txt"]
    assert a["next_step"] == "'+cmd|' /C calc'!A0" and a["client"] == "'@SUM(A1:A9)"
    assert a["budget_used_eur"] == "-3.5" and c["budget_used_eur"] == "-2"  # numbers stay numbers
    assert b["project_name"] == "'\tTab" and b["key_milestone_completed"] == "'\rCR"
    assert b["blockers_today_ticket_id"] == "'=HYPERLINK(\"http://x\"); OK-1"
    assert b["blockers_today_delay_hours"] == "-1; 2"  # a list of numbers cannot carry a formula
    assert json.loads(b["blockers_today"])[0]["ticket_id"].startswith("=")  # JSON text starts with [ or "
    assert c["project_name"] == "''already quoted"  # one more quote: reading back drops exactly one
    for row in rows:
        for column, cell in row.items():
            numeric = all(_is_number(part) for part in cell.split("; ") if part)
            assert numeric or not cell.startswith(("=", "+", "-", "@", "\t", "\r")), (column, cell)

    # Resume compares the unescaped sources: nothing is written twice.
    again = run_batch(opts, stdout=out, stderr=io.StringIO(), extractor=FakeExtractor())
    assert (again.skipped, again.extracted) == (4, 0)
    assert len(list(csv.reader(open("out.csv", encoding="utf-8", newline="")))) == 5


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


# 8. Output failures: full disk, /dev/full, /dev/stdout ----------------------------------------------------


def _file_size_limit(limit: int):
    def apply() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of death, as under `ulimit -f`
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


@pytest.mark.timeout(180)
@pytest.mark.parametrize("name", ["day.db", "day.jsonl", "day.csv"])
def test_full_disk_is_one_line_exit_2_and_a_rerun_completes(tmp_path, name):
    write_inputs(tmp_path / "in", 8, pad=12000)  # ~12 KB records: the limit is reached mid-batch
    r = fake_cli("in", "-o", name, cwd=tmp_path, preexec_fn=_file_size_limit(64 * 1024))
    assert_one_line_error(r, f"cannot write to {name}")
    if name.endswith(".db"):  # a record is one transaction: what is there is whole (JSONL/CSV: cut on re-run)
        assert 0 < count_in(tmp_path / name) < 8
    again = fake_cli("in", "-o", name, cwd=tmp_path)
    assert again.returncode == 0 and again.stdout == "" and len(stderr_lines(again.stderr)) == 1, again.stderr
    keys = keys_in(tmp_path / name)
    assert len(keys) == len(set(keys)) == 8  # every input accounted for, none twice


@pytest.mark.timeout(120)
@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_jsonl_to_dev_full_is_one_line_exit_2(tmp_path):
    write_inputs(tmp_path / "in", 2)

    def cap_memory() -> None:  # reading /dev/full (endless zero bytes) as a resume file must not eat the machine
        resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))

    r = fake_cli("in", "-o", "/dev/full", "--format", "jsonl", cwd=tmp_path, timeout=90, preexec_fn=cap_memory)
    assert_one_line_error(r, "cannot write to /dev/full", "No space left on device")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_output_to_dev_stdout_through_a_pipe_writes_and_does_not_hang(tmp_path, fmt):
    """`reportx extract in -o /dev/stdout | cat`: /dev/stdout is the pipe; reading it to resume would wait forever."""
    if not os.path.exists("/dev/stdout"):
        pytest.skip("no /dev/stdout")
    write_inputs(tmp_path / "in", 3)
    r = fake_cli("in", "-o", "/dev/stdout", "--format", fmt, cwd=tmp_path, timeout=90)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr and len(stderr_lines(r.stderr)) == 1, r.stderr
    if fmt == "jsonl":
        records = [json.loads(line) for line in r.stdout.splitlines()]
        assert sorted(x["_meta"]["source"] for x in records) == [f"in/r{i:02d}.txt" for i in range(3)]
    else:
        rows = list(csv.DictReader(io.StringIO(r.stdout)))
        assert sorted(row["source"] for row in rows) == [f"in/r{i:02d}.txt" for i in range(3)]
    assert not list(Path("/dev").glob("stdout.errors.jsonl*"))  # errors default to the current folder


# 10. --threads bounds ---------------------------------------------------------------------------------------


def test_threads_out_of_range_is_a_usage_error(tmp_path):
    folder = tmp_path / "in"
    write_inputs(folder, 2)
    out = tmp_path / "o.jsonl"
    for threads in (0, -1, MAX_THREADS + 1, 100000):
        with pytest.raises(ReportxError, match=rf"--threads must be between 1 and {MAX_THREADS}, got {threads}"):
            ExtractConfig.make(threads=threads)  # checked once, before any batch is made
        assert not out.exists()
    summary = run_batch(BatchOptions(inputs=[str(folder)], config=ExtractConfig.make(threads=MAX_THREADS),
                                     output=str(out), quiet=True), extractor=FakeExtractor(), stderr=io.StringIO())
    assert summary.extracted == 2
    r = fake_cli("in", "--threads", "100000", cwd=tmp_path)  # checked before any model is loaded
    assert_one_line_error(r, "--threads must be between 1 and")


# 12. An input given as the output -------------------------------------------------------------------------


def _jsonl_input(path: Path, n: int = 3) -> bytes:
    data = "".join(json.dumps({"text": json.dumps({"project_name": f"J{i}"})}) + "\n" for i in range(n)).encode()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return data


@pytest.mark.parametrize("case", ["output", "output-overwrite", "output-in-folder", "symlink", "errors",
                                  "text-file"])
def test_output_or_errors_file_that_is_an_input_is_refused(tmp_path, case):
    src = tmp_path / "batch" / "in.jsonl"
    data = _jsonl_input(src)
    inputs, output, errors, overwrite = [str(src)], str(src), None, False
    if case == "output-overwrite":
        overwrite = True  # would delete the input before a line of it is written back
    elif case == "output-in-folder":
        inputs = [str(src.parent)]
    elif case == "symlink":
        output = str(tmp_path / "link.jsonl")
        os.symlink(src, output)
    elif case == "errors":
        output, errors = str(tmp_path / "out.jsonl"), str(src)
    elif case == "text-file":
        text = tmp_path / "note.txt"
        text.write_text("Proyecto Nota: todo OK.", encoding="utf-8")
        src, data, inputs, output = text, text.read_bytes(), [str(text)], str(text)
    opts = BatchOptions(inputs=inputs, jsonl_field="text", output=output, errors=errors, overwrite=overwrite,
                        fmt="jsonl", quiet=True)
    with pytest.raises(ReportxError, match=r"is also an input.*: write it to another file"):
        run_batch(opts, stdout=io.StringIO(), stderr=io.StringIO(), extractor=FakeExtractor())
    assert src.read_bytes() == data
    assert not list(tmp_path.rglob("*.lock"))


def test_input_as_output_exits_2_in_one_line(tmp_path):
    src = tmp_path / "in.jsonl"
    data = _jsonl_input(src)
    r = fake_cli("in.jsonl", "--jsonl-field", "text", "-o", "in.jsonl", cwd=tmp_path)
    assert_one_line_error(r, "the output in.jsonl is also an input: write it to another file")
    assert src.read_bytes() == data
    # A different output file is fine, and every line of the input is accounted for.
    r = fake_cli("in.jsonl", "--jsonl-field", "text", "-o", "out.jsonl", cwd=tmp_path)
    assert r.returncode == 0 and r.stdout == "" and len(stderr_lines(r.stderr)) == 1, r.stderr
    assert sorted(s for s, _ in keys_in(tmp_path / "out.jsonl")) == [f"in.jsonl:{i}" for i in (1, 2, 3)]


@pytest.mark.parametrize("name", ["day.jsonl", "day.csv", "day.db"])
def test_an_input_given_twice_is_extracted_once(tmp_path, name):
    (first,) = write_inputs(tmp_path / "in", n=1)
    out = tmp_path / name
    r = fake_cli(str(first), str(first), "-o", str(out), cwd=tmp_path)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert "extracted 1" in r.stderr and "skipped 1" in r.stderr, r.stderr
    assert len(keys_in(out)) == 1


def test_a_deeply_nested_line_in_an_existing_output_does_not_stop_resume(tmp_path):
    (first,) = write_inputs(tmp_path / "in", n=1)
    out = tmp_path / "day.jsonl"
    out.write_text("[" * 100_000 + "\n", encoding="utf-8")  # past json's recursion limit
    r = fake_cli(str(first), "-o", str(out), cwd=tmp_path)
    assert r.returncode == 0 and "Traceback" not in r.stderr, r.stderr
    assert "extracted 1" in r.stderr


@pytest.mark.parametrize("name", ["out.jsonl", "out.csv", "out.db"])
def test_resume_refuses_records_made_by_another_model_adapter_or_mode(tmp_path, name):
    write_inputs(tmp_path / "in", 3)
    out = tmp_path / name
    assert fake_cli(str(tmp_path / "in"), "-o", str(out), "-q", cwd=tmp_path).returncode == 0
    again = fake_cli(str(tmp_path / "in"), "-o", str(out), cwd=tmp_path)  # same maker: resumes, nothing to do
    assert again.returncode == 0 and "skipped 3" in again.stderr
    if name.endswith(".jsonl"):  # one record of another adapter and mode
        rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
        rows[1]["_meta"].update(adapter="other.gguf@111111111111", mode="finetuned")
        out.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    elif name.endswith(".csv"):
        out.write_text(out.read_text(encoding="utf-8").replace("fake.gguf@", "other.gguf@"), encoding="utf-8")
    else:
        with sqlite3.connect(out) as conn:
            conn.execute("UPDATE reports SET mode = 'finetuned' WHERE id = 1")
    before = out.read_bytes()
    r = fake_cli(str(tmp_path / "in"), "-o", str(out), cwd=tmp_path)
    assert_one_line_error(r, "holds records made with", "this run uses model fake.gguf@000000000000, no adapter, "
                          "fewshot mode", "--overwrite")
    assert out.read_bytes() == before
    assert fake_cli(str(tmp_path / "in"), "-o", str(out), "--overwrite", "-q", cwd=tmp_path).returncode == 0
    assert len(keys_in(out)) == 3


def test_resume_refuses_a_jsonl_output_of_another_schema(tmp_path):
    write_inputs(tmp_path / "in", 2)
    out = tmp_path / "out.jsonl"
    out.write_text(json.dumps({"site": "A", "_meta": {"source": "x", "sha256": "0" * 64}}) + "\n", encoding="utf-8")
    assert_one_line_error(fake_cli(str(tmp_path / "in"), "-o", str(out), cwd=tmp_path),
                          "holds records with other keys than this schema's (site)")
