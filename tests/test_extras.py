"""Commands whose optional extra is not installed say so in one line with the install command (modules hidden)."""

from __future__ import annotations

import importlib.util
import json
import sys

import pytest

from reportx.cli import main

TRAIN_MODULES = {"torch", "transformers", "peft", "trl", "datasets", "accelerate"}


def run_cli(monkeypatch, capsys, hidden: set[str], *argv: str) -> tuple[int, str, str]:
    real = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        return None if name.split(".")[0] in hidden else real(name, *args, **kwargs)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)
    monkeypatch.setattr(sys, "argv", ["reportx", *argv])
    with pytest.raises(SystemExit) as exc:
        main()
    out = capsys.readouterr()
    return int(exc.value.code or 0), out.out, out.err


def test_train_without_the_train_extra_is_one_line_with_the_install_command(monkeypatch, capsys, tmp_path):
    code, out, err = run_cli(monkeypatch, capsys, TRAIN_MODULES, "train", "--set", f"output_dir={tmp_path / 'run'}")
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and out == "" and len(lines) == 1 and "Traceback" not in err
    assert "pip install 'reportx[train]'" in lines[0] and "torch" in lines[0]
    assert not (tmp_path / "run").exists()


def test_print_config_needs_no_extra(monkeypatch, capsys):
    code, out, err = run_cli(monkeypatch, capsys, TRAIN_MODULES, "train", "--print-config")
    assert code == 0 and "lora_r:" in out, err


@pytest.mark.model
def test_eval_without_matplotlib_skips_the_chart_with_a_note(monkeypatch, capsys, tmp_path):
    from reportx.schema import builtin_schema
    from reportx.synth import synthesize

    schema = builtin_schema()
    example = next(e for e in synthesize(40, 1) if e.split == "val")
    data = tmp_path / "val.jsonl"
    data.write_text(json.dumps({"input": example.text, "output": schema.dumps(example.gold)}) + "\n", encoding="utf-8")
    out_dir = tmp_path / "out"
    code, out, err = run_cli(monkeypatch, capsys, {"matplotlib"}, "eval", str(data), "-o", str(out_dir),
                             "-s", "ft=mode=finetuned,constrained=true")
    assert code == 0, err
    assert (out_dir / "results.json").is_file() and not (out_dir / "chart.png").exists()
    assert "no chart: matplotlib is not installed (pip install 'reportx[eval]')" in err
