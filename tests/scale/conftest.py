"""Shared fixtures for the scale-out tests: one local Ray instance (2 CPUs) and the single-process reference.

The model tests compare Ray's output with the single-process batch's on the same 20 synthetic reports (plus an
empty report and a line that is not JSON, which must come out as the same error records).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

N_REPORTS = 20


def strip_seconds(line: dict) -> dict:
    """A JSONL output or errors line without its timing (``seconds``), the one thing that differs run to run."""
    line = json.loads(json.dumps(line))
    for holder in (line, line.get("_meta") or {}):
        holder.pop("seconds", None)
    return line


def read_jsonl(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def actor_processes(name: str = "ExtractActor") -> list:
    """Ray worker processes of reportx's extraction actors (their title is ``ray::MapWorker(MapBatches(...))``)."""
    import psutil

    found = []
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = " ".join(proc.info.get("cmdline") or [])
        if cmdline.startswith("ray::MapWorker") and name in cmdline:
            found.append(proc)
    return found


@pytest.fixture(scope="session")
def ray_cluster():
    """A local Ray instance with 2 CPUs for the whole session; its address lets a ``reportx`` process join it."""
    ray = pytest.importorskip("ray", reason="needs the [ray] extra: pip install 'reportx[ray]'")
    pytest.importorskip("ray.data", reason="needs the [ray] extra: pip install 'reportx[ray]'")
    from ray.data import DataContext

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    DataContext.get_current().enable_progress_bars = False
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


@pytest.fixture(scope="session")
def reports_file(tmp_path_factory) -> Path:
    """20 synthetic val-split reports as JSONL (field ``input``), then an empty report and a line that is not JSON."""
    synth = pytest.importorskip("reportx.synth")
    examples = [e for e in synth.synthesize(n=400, seed=7) if e.split == "val"][:N_REPORTS]
    assert len(examples) == N_REPORTS
    path = tmp_path_factory.mktemp("scale") / "reports.jsonl"
    lines = [json.dumps({"input": e.text}, ensure_ascii=False) for e in examples]
    lines += [json.dumps({"input": ""}), "{not json"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def reference(reports_file, tmp_path_factory) -> dict[str, list[dict]]:
    """The single-process batch (``run_batch``, 1 thread, one report at a time) on ``reports_file``: its output and
    errors lines. One at a time on both sides (``--batch 1``): batched, a near-tie may fall differently in batches
    made of other reports, and these tests check that Ray changes no record."""
    from reportx.extract.batch import BatchOptions, run_batch
    from reportx.extract.config import ExtractConfig

    out = tmp_path_factory.mktemp("reference") / "out.jsonl"
    summary = run_batch(BatchOptions(inputs=[str(reports_file)], config=ExtractConfig.make(threads=1, batch=1),
                                     output=str(out), quiet=True))
    assert summary.extracted + summary.failed == N_REPORTS + 2
    return {"records": read_jsonl(out), "errors": read_jsonl(out.with_name("out.errors.jsonl"))}


def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env
