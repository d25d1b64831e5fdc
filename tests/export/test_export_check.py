"""The parity check behind ``reportx export --check N``, and the export command itself."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

pytest.importorskip("torch")
pytest.importorskip("peft")
pytest.importorskip("llama_cpp")
pytestmark = [pytest.mark.train, pytest.mark.model]

from reportx.errors import ReportxError  # noqa: E402
from reportx.export import check_adapter, export_lora, export_run  # noqa: E402
from reportx.export.check import _base_gguf_from_card  # noqa: E402


def test_export_run_with_check_gives_identical_answers(tiny_run, one_torch_thread):
    # loads the trained model as `reportx export --check` does (HF base + PEFT adapter), not the fixture's copy
    result = export_run(tiny_run.run_dir, check=2, base_gguf=tiny_run.base_gguf, max_tokens=8)
    assert result.adapter_gguf == tiny_run.run_dir / "adapter.gguf" and result.adapter_gguf.is_file()
    check = result.check
    assert (check.n, check.matches, check.rate) == (2, 2, 1.0)
    assert [e.id for e in check.examples] == ["val-1", "val-2"]
    for example in check.examples:
        assert example.match and example.first_difference is None and example.torch_margin is None
        assert len(example.gguf_tokens) == 8 and example.torch_tokens == example.gguf_tokens
        assert example.prompt_tokens > 20 and example.torch_text == example.gguf_text
    details = json.loads(result.check_file.read_text())
    assert details["rate"] == 1.0 and len(details["examples"]) == 2
    assert "2/2 answers identical" in result.summary()


def test_check_reports_differing_answers(tiny_run, tmp_path, one_torch_thread):
    from reportx.export.testing import add_random_lora, tiny_gemma3

    other = add_random_lora(tiny_gemma3(0), seed=99)
    other.save_pretrained(str(tmp_path / "other"))
    other_gguf = export_lora(tmp_path / "other", tmp_path / "other.gguf", base=tiny_run.base_gguf).path
    # the trained model against another adapter's GGUF: the answers must not all agree
    result = check_adapter(
        tiny_run.run_dir, other_gguf, 2, base_gguf=tiny_run.base_gguf, max_tokens=6, torch_model=tiny_run.model,
        n_threads=1,
    )
    assert result.rate < 1.0
    bad = [e for e in result.examples if not e.match]
    assert bad and all(e.first_difference is not None and e.torch_tokens != e.gguf_tokens for e in bad)
    # at the first difference PyTorch's own (greedy) choice beats llama.cpp's in PyTorch's logits
    assert all(e.torch_margin is not None and e.torch_margin >= 0 for e in bad)


def test_check_finds_the_base_gguf_from_the_run_card(tiny_run, tmp_path):
    from reportx.models import sha256_file

    card = {"base_model": {"kind": "gguf", "path": str(tiny_run.base_gguf), "sha256": sha256_file(tiny_run.base_gguf)}}
    assert _base_gguf_from_card(card, None) == tiny_run.base_gguf
    card["base_model"]["sha256"] = "0" * 64
    with pytest.raises(ReportxError, match="not the base the adapter was trained on"):
        _base_gguf_from_card(card, None)
    card["base_model"].update(path=str(tmp_path / "gone.gguf"), source="my-base.gguf")
    with pytest.raises(ReportxError, match="is gone"):
        _base_gguf_from_card(card, None)
    with pytest.raises(ReportxError, match="--base"):
        _base_gguf_from_card({"base_model": {"kind": "hf", "path": str(tmp_path)}}, None)
    with pytest.raises(ReportxError, match="not found"):
        _base_gguf_from_card(card, tmp_path / "missing.gguf")


def test_check_refusals(tiny_run, tmp_path):
    with pytest.raises(ReportxError, match="export it first"):
        check_adapter(tiny_run.run_dir, tmp_path / "none.gguf", 1, base_gguf=tiny_run.base_gguf)
    with pytest.raises(ReportxError, match="positive"):
        check_adapter(tiny_run.run_dir, None, 0)
    lone_adapter = shutil.copytree(tiny_run.adapter_dir, tmp_path / "adapter")
    with pytest.raises(ReportxError, match="not a training run"):
        export_run(lone_adapter)
    with pytest.raises(ReportxError, match="--check"):
        export_run(tiny_run.run_dir, check=-1)


def run_cli(*args):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "reportx", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=300, env=env)


def test_cli_export(tiny_run, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(tiny_run.run_dir, run, ignore=shutil.ignore_patterns("*.gguf", "export_check.json"))
    result = run_cli("export", str(run), "--out", str(tmp_path / "out.gguf"))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out.gguf").is_file() and not (run / "adapter.gguf").exists()
    assert "gemma3 LoRA, 42 tensor pairs" in result.stderr

    result = run_cli("export", str(run), "--check", "1", "--max-tokens", "4", "--base", str(tiny_run.base_gguf))
    assert result.returncode == 0, result.stderr
    assert "1/1 answers identical" in result.stderr and (run / "export_check.json").is_file()


def test_cli_export_errors_are_one_line(tmp_path):
    for args in (["export", str(tmp_path / "missing")], ["export", str(tmp_path), "--check", "-2"]):
        result = run_cli(*args)
        assert result.returncode == 2, result.stderr
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("reportx: error:"), result.stderr
