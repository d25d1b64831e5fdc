"""Several reports in flight with the real embedded model and the bundled adapter (``--batch``): the same records
as one report at a time, in input order, errors included: exactly, as llama.cpp runs batch-invariant (see
``reportx.llamacpp``), whatever the slots, threads or neighbours."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from reportx.extract import Extractor
from reportx.extract.config import ExtractConfig

from .conftest import SAMPLES, THREADS

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def texts():
    from reportx.extract.inputs import discover

    reports = [(item.source, item.text) for item in discover([str(SAMPLES)])]  # as reportx extract reads them
    return [*reports[:4], ("empty.txt", "  \n"), *reports[4:], ("long.txt", "palabra " * 5000)]


def records(results):
    return [(r.source, r.record, r.error) for r in results]


def test_batched_records_equal_sequential_ones_in_input_order(texts):
    config = ExtractConfig.make(threads=THREADS, constrained=True, batch=1)
    sequential = Extractor(config=config)
    results = list(sequential.extract_many(texts))
    batched = Extractor(config=config.model_copy(update={"batch": 4}), engine=sequential.engine)
    again = list(batched.extract_many(texts))
    assert [r.source for r in again] == [name for name, _ in texts]
    assert again[4].error == "empty report" and "longer than the context" in (again[-1].error or "")
    assert records(again) == records(results)
    assert all(r.ok for r in again if r.source not in ("empty.txt", "long.txt"))
    assert all(r.spans and r.confidence for r in again if r.ok)  # grounding and confidence, as sequentially
    assert [r.confidence for r in again] == [r.confidence for r in results]
    two_threads = Extractor(config=config.model_copy(update={"batch": 3, "threads": 2}), engine=sequential.engine)
    assert records(two_threads.extract_many(texts[:4])) == records(results[:4])


def test_the_cli_takes_batch(tmp_path):
    out = tmp_path / "out.jsonl"
    run = subprocess.run([sys.executable, "-m", "reportx", "extract", str(SAMPLES), "--batch", "3", "-o", str(out),
                          "--quiet"] + (["--threads", str(THREADS)] if THREADS else []),
                         capture_output=True, text=True, timeout=900)
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == sum(1 for p in SAMPLES.rglob("*") if p.is_file()) and all(line["_meta"]["source"] for line in lines)
    bad = subprocess.run([sys.executable, "-m", "reportx", "extract", str(SAMPLES), "--batch", "0"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and bad.stderr.strip().count("\n") == 0 and "--batch" in bad.stderr
