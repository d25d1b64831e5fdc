"""``reportx extract`` end to end: exit codes, every input kind, outputs, errors file, resume after SIGKILL."""

from __future__ import annotations

import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import jsonschema
import pytest

from reportx.errors import ReportxError
from reportx.extract.batch import BatchOptions, run_batch
from reportx.extract.config import ExtractConfig
from reportx.schema import builtin_schema

from .conftest import SAMPLES, cli_env

SCHEMA = builtin_schema()
REPORTS = [
    "Proyecto Lince: hoy cerramos la auditoría de seguridad. Estado: verde. Gasto: 1.200 €.",
    "Kestrel update: finished the login page, ticket KST-9 delayed us 2 hours. Status: at risk.",
    "Informe de Cedro. Cliente: Grupo Ártico. Gasto 800 €. Próximo paso: pruebas de integración.",
    "Nogal: terminada la migración. Sin bloqueos. Estado amarillo.",
    "Project Wren: nothing completed, blocked by ticket OPS-12 for a day. Status red.",
    "Sauce - cliente Hotel Brisa - hecho: instalación de la red wifi - siguiente: formación.",
    "Alder daily: done the payroll export. Client: Vega Foods. Spent EUR 3,300. On track.",
    "Haya: sin novedades hoy, todo OK.",
]


def run_cli(*args, stdin=None, cwd=None, timeout=300):
    return subprocess.run([sys.executable, "-m", "reportx", "extract", *args], capture_output=True, text=True,
                          input=stdin, cwd=cwd, timeout=timeout, env=cli_env())


def write_reports(folder, texts=REPORTS):
    folder.mkdir(parents=True, exist_ok=True)
    for i, text in enumerate(texts):
        (folder / f"r{i:02d}.txt").write_text(text, encoding="utf-8")
    return folder


def records(path):
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_usage_errors_exit_2_in_one_line(tmp_path):
    bogus = tmp_path / "not-a-model.gguf"
    bogus.write_bytes(b"GGUF but not really")
    report = write_reports(tmp_path / "in", REPORTS[:1])
    for args in (["no/such/dir"], [str(report), "--mode", "zeroshot"], [str(report), "--model", str(bogus)],
                 [str(report), "-o", str(tmp_path / "out.xml")], [str(report), "--shots", "-1"],
                 [str(report), "--merged", "--adapter", str(bogus)], [str(report), "--merged", "--mode", "fewshot"]):
        r = run_cli(*args)
        assert r.returncode == 2, (args, r.stderr)
        lines = [x for x in r.stderr.splitlines() if x.strip()]
        assert len(lines) == 1 and lines[0].startswith("reportx: error:"), (args, r.stderr)


@pytest.mark.model
def test_samples_print_schema_valid_jsonl(tmp_path):
    """The README's main job: `reportx extract samples/reports`."""
    r = run_cli(str(SAMPLES))
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert len(lines) == 10
    for line in lines:
        meta = line.pop("_meta")
        assert list(line) == SCHEMA.keys
        jsonschema.validate(line, SCHEMA.json_schema)
        # the bundled adapter makes the default mode finetuned, merged into the default base
        assert meta["model"].startswith("gemma-3-270m-reportx-") and meta["mode"] == "finetuned"
        assert meta["adapter"] is None
        assert meta["attempts"] >= 1 and meta["prompt_tokens"] > 0 and len(meta["sha256"]) == 64
    sources = sorted(x["_meta"]["source"] for x in [json.loads(x) for x in r.stdout.splitlines()])
    assert any(s.endswith("tramontana-cp1252.txt") for s in sources)
    assert "few-shot" not in r.stderr  # no notice about falling back to few-shot mode


@pytest.mark.model
def test_some_failures_exit_1_with_error_records(tmp_path):
    folder = write_reports(tmp_path / "in", REPORTS[:1])
    (folder / "empty.txt").write_bytes(b"")
    (folder / "photo.txt").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(64))
    (folder / "long.txt").write_text("El equipo sigue trabajando en el proyecto Faro sin novedad. " * 500, encoding="utf-8")
    out = tmp_path / "out" / "day.jsonl"
    r = run_cli(str(folder), "-o", str(out), "--quiet")
    assert r.returncode == 1, r.stderr
    assert r.stderr == ""  # --quiet
    assert len(records(out)) == 1
    errors = {e["source"].rsplit("/", 1)[1]: e for e in records(out.with_name("day.errors.jsonl"))}
    assert errors["empty.txt"]["error"] == "empty report"
    assert "binary" in errors["photo.txt"]["error"]
    assert errors["long.txt"]["error"].startswith("report is longer than the context")
    assert all(len(e["sha256"]) == 64 for e in errors.values())


@pytest.mark.model
def test_stdin_report(tmp_path):
    r = run_cli("-", "--constrained", stdin=REPORTS[4])
    assert r.returncode == 0, r.stderr
    (line,) = [json.loads(x) for x in r.stdout.splitlines()]
    assert line["_meta"]["source"] == "-" and line["_meta"]["constrained"] is True


@pytest.mark.model
def test_jsonl_input_csv_and_sqlite_outputs_in_process(extractor, tmp_path):
    src = tmp_path / "batch.jsonl"
    src.write_text("".join(json.dumps({"id": i, "body": t}) + "\n" for i, t in enumerate(REPORTS[:3])), encoding="utf-8")
    for name in ("day.csv", "day.db", "day.jsonl"):
        out = tmp_path / name
        summary = run_batch(BatchOptions(inputs=[str(src)], jsonl_field="body", output=str(out), quiet=True),
                            extractor=extractor, stderr=io.StringIO())
        assert (summary.extracted, summary.failed, summary.exit_code) == (3, 0, 0)
    csv_text = (tmp_path / "day.csv").read_text(encoding="utf-8")
    assert csv_text.splitlines()[0].startswith("project_name,status,client,budget_used_eur")
    assert len(csv_text.splitlines()) == 4
    conn = sqlite3.connect(tmp_path / "day.db")
    assert conn.execute("SELECT COUNT(*) FROM reports").fetchone() == (3,)
    sources = {r[0] for r in conn.execute("SELECT source FROM reports")}
    assert sources == {f"{src}:{i}" for i in (1, 2, 3)}
    conn.execute("SELECT report_id, ticket_id, delay_hours FROM blockers").fetchall()
    # Re-running with the same model and mode skips everything already written, without loading anything.
    for name in ("day.csv", "day.db", "day.jsonl"):
        again = run_batch(BatchOptions(inputs=[str(src)], config=ExtractConfig.make(mode="fewshot"),
                                       jsonl_field="body", output=str(tmp_path / name), quiet=True),
                          stderr=io.StringIO())
        assert (again.skipped, again.extracted) == (3, 0)
        # Another model and mode (the defaults: the bundled adapter merged into the base) would silently keep the
        # old records: refused.
        with pytest.raises(ReportxError, match="holds records made with .* no adapter, fewshot mode; this run uses "
                           "model gemma-3-270m-reportx-.*, no adapter, finetuned mode: use --overwrite"):
            run_batch(BatchOptions(inputs=[str(src)], jsonl_field="body", output=str(tmp_path / name), quiet=True),
                      stderr=io.StringIO())


@pytest.mark.model
@pytest.mark.parametrize("suffix", ["jsonl", "db"])
def test_sigkill_mid_batch_then_resume_loses_nothing_and_duplicates_nothing(tmp_path, suffix):
    folder = write_reports(tmp_path / "in")
    out = tmp_path / f"out.{suffix}"
    # Two reports in flight, so that records are written one pair after another and the kill lands between them
    # (with all the reports in flight they finish in the same few steps).
    cmd = [sys.executable, "-m", "reportx", "extract", str(folder), "-o", str(out), "--quiet", "--constrained",
           "--batch", "2"]
    proc = subprocess.Popen(cmd, env=cli_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and _count(out) < 1:
            assert proc.poll() is None, proc.stderr.read().decode()
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    first = _count(out)
    assert 1 <= first < len(REPORTS), first
    if suffix == "jsonl":
        text = out.read_text(encoding="utf-8")
        assert text.endswith("\n") and all(json.loads(x) for x in text.splitlines())  # no partial line
    r = subprocess.run(cmd, env=cli_env(), capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    keys = _keys(out)
    assert len(keys) == len(REPORTS) == len(set(keys))
    assert {k[0].rsplit("/", 1)[1] for k in keys} == {f"r{i:02d}.txt" for i in range(len(REPORTS))}


def _count(path):
    return len(_keys(path)) if path.exists() else 0


def _keys(path):
    if path.suffix == ".jsonl":
        return [(x["_meta"]["source"], x["_meta"]["sha256"]) for x in records(path)]
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return conn.execute("SELECT source, sha256 FROM reports").fetchall()
        finally:
            conn.close()
    except sqlite3.OperationalError:
        return []


class _Tty(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.model
def test_errors_path_overwrite_glob_and_progress_bar(extractor, tmp_path):
    folder = write_reports(tmp_path / "in", REPORTS[:2])
    (folder / "note.log").write_text(REPORTS[2], encoding="utf-8")
    (folder / "empty.txt").write_text("", encoding="utf-8")
    out, errors = tmp_path / "o.jsonl", tmp_path / "errs" / "bad.jsonl"
    tty = _Tty()
    opts = BatchOptions(inputs=[str(folder)], globs=["*.txt", "*.log"], output=str(out), errors=str(errors))
    summary = run_batch(opts, extractor=extractor, stderr=tty)
    assert (summary.total, summary.extracted, summary.failed, summary.exit_code) == (4, 3, 1, 1)
    assert "extracting" in tty.getvalue() or "%" in tty.getvalue() or "4/4" in tty.getvalue()
    assert "extracted 3, failed 1 of 4 reports" in tty.getvalue() and str(errors) in tty.getvalue()
    assert len(records(errors)) == 1 and len(records(out)) == 3
    # Resuming retries only the failure; --overwrite starts again.
    again = run_batch(opts, extractor=extractor, stderr=io.StringIO())
    assert (again.skipped, again.extracted, again.failed) == (3, 0, 1)
    assert len(records(errors)) == 1  # not written twice
    fresh = run_batch(BatchOptions(**{**opts.__dict__, "overwrite": True, "quiet": True}), extractor=extractor,
                      stderr=io.StringIO())
    assert (fresh.skipped, fresh.extracted) == (0, 3) and len(records(out)) == 3
