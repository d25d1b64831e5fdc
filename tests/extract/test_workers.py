"""``reportx extract --workers N``: records in input order, each once, resume, the errors file, option checks, a
worker that dies, Ctrl-C and SIGTERM; then the real model: two workers give the records of one process.

The stand-in model (:mod:`fake_extract`) runs in forked workers in this process (``run_batch``), or in the CLI
(:mod:`fake_workers`) where exit codes, stderr and signals are tested. The model test runs the CLI too, so that
the process that forks has never run llama.cpp (its OpenMP threads do not survive a fork).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import reportx.extract.extractor as extractor_module
from reportx.errors import ReportxError
from reportx.extract import workers as workers_module
from reportx.extract.batch import BatchOptions, run_batch
from reportx.extract.config import ExtractConfig
from reportx.extract.engine import available_cpus
from reportx.extract.workers import WORKER_MEMORY_BYTES, WORKERS_PER_CPU, WorkerPool, auto_workers, worker_threads

from .conftest import SAMPLES, cli_env
from .fake_extract import FakeExtractor, FakeSetup

FAKE_CLI = Path(__file__).resolve().parent / "fake_workers.py"
NAMES = ["alder", "birch", "cedar", "dogwood", "elm", "fir", "ginkgo"]


class DyingFake(FakeExtractor):
    """Ends its process abruptly (as a kill or a crash in llama.cpp would) on the report that says "die"."""

    def extract_item(self, item):
        if item.text is not None and "die" in item.text:
            time.sleep(0.5)  # the results made before are sent (a report takes seconds with a real model)
            os._exit(3)
        return super().extract_item(item)


@pytest.fixture
def fake_model(monkeypatch):
    """The workers (forked from this process) make their extractor from the patched module."""
    monkeypatch.setattr(extractor_module, "Extractor", FakeExtractor)
    monkeypatch.setattr(extractor_module, "resolve_setup", lambda *args, **kwargs: FakeSetup())
    return monkeypatch


def write_reports(folder: Path, names=NAMES) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i, name in enumerate(names):
        (folder / f"r{i:02d}-{name}.txt").write_text(f"Proyecto {name}: estado verde.", encoding="utf-8")
    return folder


def lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


def sources(path: Path) -> list[str]:
    return [Path(r["_meta"]["source"]).name for r in lines(path)]


def batch(folder: Path, out: Path, workers: int, **fields) -> BatchOptions:
    return BatchOptions(inputs=[str(folder)], output=str(out), quiet=True,
                        config=ExtractConfig.make(workers=workers), **fields)


# The stand-in model, in this process -------------------------------------------------------------------------


def test_records_in_input_order_each_once_as_one_process_writes_them(fake_model, tmp_path):
    folder = write_reports(tmp_path / "in")
    one, three = tmp_path / "one.jsonl", tmp_path / "three.jsonl"
    assert run_batch(batch(folder, one, 1)).extracted == len(NAMES)
    summary = run_batch(batch(folder, three, 3))
    assert (summary.extracted, summary.failed, summary.exit_code) == (len(NAMES), 0, 0)
    assert sources(three) == sorted(p.name for p in folder.iterdir())
    assert three.read_text(encoding="utf-8") == one.read_text(encoding="utf-8")


@pytest.mark.parametrize("suffix", ["csv", "db"])
def test_csv_and_sqlite_outputs_as_one_process_writes_them(fake_model, tmp_path, suffix):
    """The sinks stay open in the parent while it forks: the workers never touch them."""
    import sqlite3

    folder = write_reports(tmp_path / "in")
    one, two = tmp_path / f"one.{suffix}", tmp_path / f"two.{suffix}"
    for out, workers in ((one, 1), (two, 2)):
        assert run_batch(batch(folder, out, workers, limit=5)).extracted == 5
        assert run_batch(batch(folder, out, workers)).extracted == len(NAMES) - 5
    if suffix == "csv":
        assert two.read_text(encoding="utf-8") == one.read_text(encoding="utf-8")
        return
    rows = []
    for path in (one, two):
        conn = sqlite3.connect(path)
        try:
            rows.append(conn.execute("SELECT * FROM reports ORDER BY rowid").fetchall())
        finally:
            conn.close()
    assert rows[0] == rows[1] and len(rows[0]) == len(NAMES)


def test_resume_after_a_partial_output(fake_model, tmp_path):
    folder = write_reports(tmp_path / "in")
    out = tmp_path / "out.jsonl"
    assert run_batch(batch(folder, out, 2, limit=3)).extracted == 3
    summary = run_batch(batch(folder, out, 2))
    assert (summary.extracted, summary.skipped) == (len(NAMES) - 3, 3)
    assert sources(out) == sorted(p.name for p in folder.iterdir())
    again = run_batch(batch(folder, out, 2))  # all done: no worker is started, nothing is written
    assert (again.extracted, again.skipped) == (0, len(NAMES))


def test_every_input_is_a_record_or_an_error_record(fake_model, tmp_path):
    folder = write_reports(tmp_path / "in", NAMES[:4])
    (folder / "r01b-empty.txt").write_text("  \n", encoding="utf-8")
    (folder / "r02b-binary.txt").write_bytes(bytes(range(256)) * 4)
    out, errors = tmp_path / "out.jsonl", tmp_path / "errors.jsonl"
    summary = run_batch(batch(folder, out, 2, errors=str(errors)))
    assert (summary.extracted, summary.failed, summary.exit_code) == (4, 2, 1)
    failed = {Path(e["source"]).name: e["error"] for e in lines(errors)}
    assert set(failed) == {"r01b-empty.txt", "r02b-binary.txt"}
    assert all(failed.values())
    assert sorted(sources(out) + list(failed)) == sorted(p.name for p in folder.iterdir())


def test_a_dead_worker_stops_the_run_and_keeps_the_records_before_it(fake_model, tmp_path):
    folder = write_reports(tmp_path / "in", ["a", "b", "c", "d", "die", "f", "g"])
    out = tmp_path / "out.jsonl"
    fake_model.setattr(extractor_module, "Extractor", DyingFake)
    start = time.monotonic()
    with pytest.raises(ReportxError, match=r"extraction worker 1 of 2 \(pid \d+\) exited with code 3 before its "
                                           r"reports were done; .*: run the same command again to resume$"):
        run_batch(batch(folder, out, 2))
    assert time.monotonic() - start < 30
    assert sources(out) == [f"r{i:02d}-{name}.txt" for i, name in enumerate("abcd")]
    fake_model.setattr(extractor_module, "Extractor", FakeExtractor)
    summary = run_batch(batch(folder, out, 2))
    assert (summary.extracted, summary.skipped) == (3, 4)
    assert sources(out) == sorted(p.name for p in folder.iterdir())


def test_a_model_that_does_not_load_is_one_error_line(fake_model, tmp_path):
    class Unloadable(FakeExtractor):
        @classmethod
        def from_config(cls, _config, **_settings):
            raise ReportxError("cannot load model x.gguf: bad magic")

    fake_model.setattr(extractor_module, "Extractor", Unloadable)
    with pytest.raises(ReportxError, match="^cannot load model x.gguf: bad magic$"):
        run_batch(batch(write_reports(tmp_path / "in"), tmp_path / "out.jsonl", 2))


def test_pool_shares_out_items_and_threads(fake_model, tmp_path):
    from reportx.extract.inputs import discover

    items = list(discover([str(write_reports(tmp_path / "in", NAMES[:3]))]))
    with WorkerPool(ExtractConfig.make(workers=8), None, items) as pool:
        assert pool.n == 3  # never more workers than reports
        assert pool.config.threads == worker_threads(3) and pool.config.workers == 1
        assert [r.source for r in pool.results()] == [it.source for it in items]
    with WorkerPool(ExtractConfig.make(workers=2, threads=3), None, items) as pool:
        assert pool.config.threads == 3  # --threads is per worker
        assert len(list(pool.results())) == 3
    assert worker_threads(1) == max(1, min(8, available_cpus()))


@pytest.fixture
def fresh_process(monkeypatch):
    """As if this test process had not run llama.cpp (earlier model tests in it have)."""
    monkeypatch.setattr("reportx.llamacpp._RAN", False)


def test_auto_workers_fork_only_past_one_batch_and_within_cpus_and_memory(fresh_process, monkeypatch, tmp_path):
    monkeypatch.setattr(workers_module, "available_memory", lambda: 64 * WORKER_MEMORY_BYTES)
    monkeypatch.setattr("reportx.extract.engine.available_cpus", lambda: 4)
    auto = ExtractConfig.make()  # --workers not given
    assert auto.workers is None
    assert auto_workers(auto, 16) == 1  # one batch holds them: one process
    assert auto_workers(auto, 17) == 2  # two batches to fill
    assert auto_workers(auto, 1000) == 4  # one per CPU
    assert auto_workers(ExtractConfig.make(threads=2), 1000) == 2  # --threads CPUs each
    assert auto_workers(ExtractConfig.make(batch=1), 1000) == 1  # --batch 1: one report at a time, one process
    assert auto_workers(ExtractConfig.make(workers=3), 5) == 3  # given: taken as given
    monkeypatch.setattr(workers_module, "available_memory", lambda: 5 * WORKER_MEMORY_BYTES)
    assert auto_workers(auto, 1000) == 2  # half the free memory, a worker's share each
    model = tmp_path / "big.gguf"
    model.write_bytes(b"\0" * 1024)
    monkeypatch.setattr(workers_module, "WORKER_MEMORY_BYTES", 1024)
    monkeypatch.setattr(workers_module, "available_memory", lambda: 8 * 1024)
    assert auto_workers(ExtractConfig.make(model=str(model)), 1000) == 2  # a bigger model, fewer workers
    monkeypatch.setattr(workers_module, "available_memory", lambda: 1)
    assert auto_workers(auto, 1000) == 1  # never fewer than one
    monkeypatch.setattr(workers_module, "available_memory", lambda: 64 * WORKER_MEMORY_BYTES)
    monkeypatch.setattr("reportx.llamacpp._RAN", True)
    assert auto_workers(auto, 1000) == 1  # llama.cpp ran here: a forked worker would hang


def test_a_run_without_workers_option_forks_past_one_batch(fresh_process, fake_model, tmp_path, monkeypatch):
    folder = write_reports(tmp_path / "in")
    forked = []
    real = WorkerPool.start
    monkeypatch.setattr(WorkerPool, "start", lambda self: (forked.append(self.n), real(self))[1])
    monkeypatch.setattr("reportx.extract.engine.available_cpus", lambda: 2)
    one, auto = tmp_path / "one.jsonl", tmp_path / "auto.jsonl"
    assert run_batch(BatchOptions(inputs=[str(folder)], output=str(one), quiet=True,
                                  config=ExtractConfig.make(workers=1, batch=2))).extracted == len(NAMES)
    assert not forked
    assert run_batch(BatchOptions(inputs=[str(folder)], output=str(auto), quiet=True,
                                  config=ExtractConfig.make(batch=2))).extracted == len(NAMES)
    assert forked == [2]
    assert auto.read_bytes() == one.read_bytes()


def test_option_checks_are_one_line_each(fake_model, tmp_path):
    folder = write_reports(tmp_path / "in", NAMES[:1])
    for bad in (0, 65):
        with pytest.raises(ReportxError, match=f"^--workers must be between 1 and 64, got {bad}$"):
            ExtractConfig.make(workers=bad)
    too_many = WORKERS_PER_CPU * available_cpus() + 1
    if too_many <= 64:
        with pytest.raises(ReportxError, match=f"^--workers {too_many} is more than 4 per CPU"):
            run_batch(batch(folder, tmp_path / "out.jsonl", too_many))
    with pytest.raises(ReportxError, match="^workers > 1 load a model in each worker process"):
        run_batch(batch(folder, tmp_path / "out.jsonl", 2), extractor=FakeExtractor())
    with pytest.raises(ReportxError, match="^--workers does not combine with --ray"):
        run_batch(batch(folder, tmp_path / "out.jsonl", 2), runner=lambda *args: None)
    assert not (tmp_path / "out.jsonl").exists()


# The CLI: exit codes, stderr, signals ------------------------------------------------------------------------


def fake_cli(*args, env=None, **popen):
    command = [sys.executable, str(FAKE_CLI), "extract", *args]
    return subprocess.Popen(command, env={**cli_env(), **(env or {})}, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, **popen)


def test_cli_dead_worker_exits_2_with_one_line_then_resumes(tmp_path):
    folder = write_reports(tmp_path / "in", ["a", "b", "c", "die", "e"])
    out = tmp_path / "out.jsonl"
    proc = fake_cli(str(folder), "-o", str(out), "--workers", "2", env={"REPORTX_FAKE_DIE": "die"})
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 2, stderr
    assert stderr.count("\n") == 1 and stderr.startswith("reportx: error: extraction worker 2 of 2 (pid "), stderr
    assert "Traceback" not in stderr
    assert sources(out) == ["r00-a.txt", "r01-b.txt", "r02-c.txt"]
    proc = fake_cli(str(folder), "-o", str(out), "--workers", "2")
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert "extracted 2, failed 0, skipped 3" in stderr
    assert sources(out) == sorted(p.name for p in folder.iterdir())


def test_cli_refuses_workers_with_ray_in_one_line(tmp_path):
    folder = write_reports(tmp_path / "in", NAMES[:1])
    proc = fake_cli(str(folder), "--workers", "2", "--ray")
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert stderr == "reportx: error: --workers does not combine with --ray: Ray runs one model per actor " \
                     "(use --actors)\n"


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state in ("Z", "X")  # a zombie has ended (its new parent reaps it)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
@pytest.mark.parametrize("how", ["ctrl-c", "sigterm"])
def test_ctrl_c_and_sigterm_end_the_workers(tmp_path, how):
    folder = write_reports(tmp_path / "in")
    out, pids, gate = tmp_path / "out.jsonl", tmp_path / "pids", tmp_path / "gate"
    pids.mkdir()
    # Each worker holds its second report until the gate exists: two records written, then both workers wait.
    env = {"REPORTX_FAKE_PIDS": str(pids), "REPORTX_FAKE_GATE": str(gate)}
    proc = fake_cli(str(folder), "-o", str(out), "--workers", "2", env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (len(sources(out)) < 2 or len(list(pids.iterdir())) < 2):
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        workers = [int(p.name) for p in pids.iterdir()]
        assert len(workers) == 2 and sources(out) == ["r00-alder.txt", "r01-birch.txt"]
        if how == "ctrl-c":  # the terminal sends SIGINT to the whole foreground process group
            os.killpg(proc.pid, signal.SIGINT)
        else:  # `kill PID` of the parent alone
            os.kill(proc.pid, signal.SIGTERM)
        _, stderr = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if how == "ctrl-c":
        assert proc.returncode == 130 and "Traceback" not in stderr, stderr
    else:
        assert proc.returncode == -signal.SIGTERM
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(_gone(pid) for pid in workers):
        time.sleep(0.05)
    assert all(_gone(pid) for pid in workers)
    gate.touch()
    proc = fake_cli(str(folder), "-o", str(out), "--workers", "2", "-q")
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 0, stderr
    assert sources(out) == sorted(p.name for p in folder.iterdir())


# The real model ------------------------------------------------------------------------------------------------


@pytest.mark.model
def test_model_two_workers_give_one_process_records_with_resume_and_errors(tmp_path):
    """--batch 1: a record never depends on another report, so two workers must give exactly one process's
    records (timings aside), in the same order, resuming a partial output, the bad inputs in the errors file."""
    folder = tmp_path / "in"
    folder.mkdir()
    for i, name in enumerate(["2026-05-05/bluebird.txt", "team-b/quasar.txt", "2026-05-05/mistral.txt",
                              "2026-05-04/condor-chat.txt"]):
        shutil.copy(SAMPLES / name, folder / f"r{2 * i}-{Path(name).name}")
    (folder / "r1-empty.txt").write_text("", encoding="utf-8")
    (folder / "r3-binary.txt").write_bytes(b"\x00\x01\x02\xff" * 64)
    common = ["--batch", "1", "--threads", "1", "--quiet"]

    def extract(out: Path, *args: str) -> int:
        r = subprocess.run([sys.executable, "-m", "reportx", "extract", str(folder), "-o", str(out), *common, *args],
                           capture_output=True, text=True, timeout=600, env=cli_env())
        assert "Traceback" not in r.stderr, r.stderr
        return r.returncode

    one, two = tmp_path / "one.jsonl", tmp_path / "two.jsonl"
    assert extract(one, "--workers", "1") == 1
    assert extract(two, "--workers", "2", "-n", "3") == 1  # two reports and the empty input
    assert len(lines(two)) == 2
    assert extract(two, "--workers", "2") == 1

    def timeless(path: Path) -> list[dict]:
        return [{**r, "_meta": {k: v for k, v in r["_meta"].items() if k != "seconds"}} for r in lines(path)]

    assert len(lines(one)) == 4
    assert timeless(two) == timeless(one)
    errors = [(Path(e["source"]).name, e["error"]) for e in lines(tmp_path / "two.errors.jsonl")]
    assert errors == [(Path(e["source"]).name, e["error"]) for e in lines(tmp_path / "one.errors.jsonl")]
    assert [name for name, _ in errors] == ["r1-empty.txt", "r3-binary.txt"]
