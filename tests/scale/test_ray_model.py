"""Ray extraction equals the single-process batch, record for record, and survives a killed actor.

Uses the embedded model: 20 synthetic reports, a local Ray instance with 2 CPUs, 2 actors of 1 thread each, one
report at a time on both sides (batch 1: see the ``reference`` fixture).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time

import pytest
from tests.scale.conftest import N_REPORTS, actor_processes, cli_env, read_jsonl, strip_seconds

pytest.importorskip("ray", reason="needs the [ray] extra: pip install 'reportx[ray]'")
pytestmark = [pytest.mark.model, pytest.mark.timeout(900),
              pytest.mark.filterwarnings("ignore::DeprecationWarning")]  # Ray Data's own, on copying its context


def reference_by_source(reference) -> dict[str, dict]:
    return {line["_meta"]["source"]: line for line in reference["records"]}


def input_dataset(reports_file, limit: int = N_REPORTS):
    """The reports as a Ray Dataset: ``source`` as the single-process batch names them ("FILE:LINE"), ``text``."""
    import ray.data

    rows = []
    for number, line in enumerate(reports_file.read_text(encoding="utf-8").splitlines()[:limit], start=1):
        rows.append({"source": f"{reports_file}:{number}", "text": json.loads(line)["input"]})
    return ray.data.from_items(rows)


def kill_one_busy_actor(deadline_s: float = 300) -> int:
    """SIGKILL one extraction actor while it runs a batch (its title ends in ``.submit``); its pid."""
    import psutil

    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        # The title as listed: a process may end (a zombie) between the listing and any later question to it.
        busy = [p for p in actor_processes() if "submit" in " ".join(p.info.get("cmdline") or [])]
        if busy:
            time.sleep(0.5)  # into the batch, past its first report's start
            try:
                busy[0].send_signal(signal.SIGKILL)
            except psutil.Error:  # it ended meanwhile: wait for the next busy one
                continue
            return busy[0].pid
        time.sleep(0.2)
    raise AssertionError("no extraction actor became busy")


def test_extract_dataset_equals_the_single_process_records(ray_cluster, reports_file, reference):
    from reportx.scale import extract_dataset

    out = extract_dataset(input_dataset(reports_file), "text", source_column="source", actors=2, threads_per_actor=1,
                          batch=1)
    rows = out.take_all()
    expected = reference_by_source(reference)
    assert sorted(row["source"] for row in rows) == sorted(expected)  # every input once, none dropped
    for row in rows:
        want = expected[row["source"]]
        record = json.loads(row["_record"])
        assert row["error"] is None and record == {k: v for k, v in want.items() if k != "_meta"}
        meta = json.loads(row["_meta"])
        assert strip_seconds({"_meta": meta}) == strip_seconds({"_meta": want["_meta"]})
        assert row["status"] == record["status"] and row["project_name"] == record["project_name"]
        assert [b["ticket_id"] for b in row["blockers_today"]] == [b["ticket_id"] for b in record["blockers_today"]]


def test_extract_dataset_survives_a_killed_actor(ray_cluster, reports_file, reference):
    """SIGKILL an actor mid-batch: Ray restarts it and retries the batch; every report comes out exactly once."""
    pytest.importorskip("psutil")
    from reportx.scale import extract_dataset

    out = extract_dataset(input_dataset(reports_file), "text", source_column="source", actors=2,
                          threads_per_actor=1, batch_size=2, batch=1)
    killed: list[int] = []
    killer = threading.Thread(target=lambda: killed.append(kill_one_busy_actor()), daemon=True)
    killer.start()
    rows = out.take_all()
    killer.join(timeout=5)
    assert killed, "the actor was not killed during the run"
    sources = [row["source"] for row in rows]
    expected = reference_by_source(reference)
    assert len(sources) == len(set(sources)) == N_REPORTS  # no duplicate, no missing report
    assert set(sources) == set(expected)
    for row in rows:
        assert json.loads(row["_record"]) == {k: v for k, v in expected[row["source"]].items() if k != "_meta"}


def run_cli(*args: str, cwd, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "reportx", "extract", *args], capture_output=True, text=True,
                          env=cli_env(), cwd=cwd, timeout=timeout)


def test_cli_ray_writes_the_single_process_output(ray_cluster, reports_file, reference, tmp_path):
    """``reportx extract --ray`` (joining the test's Ray by --ray-address): the same JSONL lines in the same
    order, the same errors file; a re-run skips everything."""
    out = tmp_path / "out.jsonl"
    args = [str(reports_file), "--ray", "--ray-address", ray_cluster, "--actors", "2", "--threads", "1", "--batch", "1",
            "-o", str(out)]
    done = run_cli(*args, cwd=tmp_path)
    assert done.returncode == 1, done.stderr  # the empty report and the bad line failed, as in one process
    assert f"extracted {N_REPORTS}, failed 2 of {N_REPORTS + 2} reports" in done.stderr
    assert [strip_seconds(x) for x in read_jsonl(out)] == [strip_seconds(x) for x in reference["records"]]
    errors = read_jsonl(tmp_path / "out.errors.jsonl")
    assert [strip_seconds(x) for x in errors] == [strip_seconds(x) for x in reference["errors"]]
    again = run_cli(*args, "-q", cwd=tmp_path)
    assert again.returncode == 1 and len(read_jsonl(out)) == N_REPORTS, again.stderr


def test_cli_ray_survives_a_killed_actor(ray_cluster, reports_file, reference, tmp_path):
    """The CLI's driver writes every report exactly once although an actor dies mid-batch."""
    pytest.importorskip("psutil")
    out = tmp_path / "out.db"
    proc = subprocess.Popen(
        [sys.executable, "-m", "reportx", "extract", str(reports_file), "--ray", "--ray-address", ray_cluster,
         "--actors", "2", "--threads", "1", "--batch", "1", "-o", str(out), "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=cli_env(), cwd=tmp_path,
    )
    try:
        kill_one_busy_actor()
        _, stderr = proc.communicate(timeout=600)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, stderr
    import sqlite3

    with sqlite3.connect(out) as conn:
        rows = conn.execute("SELECT source, record_json FROM reports").fetchall()
    expected = reference_by_source(reference)
    assert len(rows) == len({s for s, _ in rows}) == N_REPORTS
    for source, record in rows:
        assert json.loads(record) == {k: v for k, v in expected[source].items() if k != "_meta"}


def test_cli_ray_parquet_folder(ray_cluster, reports_file, reference, tmp_path):
    """``-o DIR --format parquet``: Ray Data's writer, records and error rows in the files; resume by key."""
    pq = pytest.importorskip("pyarrow.parquet")
    small = tmp_path / "small.jsonl"
    lines = reports_file.read_text(encoding="utf-8").splitlines()
    small.write_text("\n".join(lines[:4] + lines[-2:]) + "\n", encoding="utf-8")
    out = tmp_path / "records"
    args = [str(small), "--ray", "--ray-address", ray_cluster, "--actors", "2", "--threads", "1", "--batch", "1",
            "-o", str(out), "--format", "parquet"]
    done = run_cli(*args, cwd=tmp_path)
    assert done.returncode == 1 and "extracted 4, failed 2 of 6 reports" in done.stderr, done.stderr
    table = pq.read_table(out)  # the folder reads as one table
    rows = table.to_pylist()
    assert len(rows) == 6 and {"source", "text", "_record", "_meta", "error", "status"} <= set(table.column_names)
    expected = {f"{small}:{n}": line for n, line in enumerate(reference["records"][:4], start=1)}
    for row in rows:
        if row["error"] is None:
            want = expected[row["source"]]
            assert json.loads(row["_record"]) == {k: v for k, v in want.items() if k != "_meta"}
    assert len(read_jsonl(tmp_path / "records.errors.jsonl")) == 2
    again = run_cli(*args, cwd=tmp_path)  # the 4 records are done; the 2 failures are tried again (and fail again)
    assert again.returncode == 1 and "extracted 0, failed 2, skipped 4" in again.stderr, again.stderr
    assert len(pq.read_table(out).to_pylist()) == 8  # the failures' new rows; the records are not written twice
    assert len(read_jsonl(tmp_path / "records.errors.jsonl")) == 2
