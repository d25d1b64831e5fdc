"""One CLI convention across subcommands: -o/--output, -n, --quiet, --threads, choices in help, flags as flags,
environment variables, --version; and synth's folder rules (refusal, empty splits, a layout datasets loads)."""

from __future__ import annotations

import json
import re

import pytest

from reportx import __version__
from test_cli import COMMANDS, assert_one_line_error, run_cli


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"reportx {__version__}"


@pytest.mark.parametrize("command", COMMANDS)
def test_help_shows_flags_as_flags_and_lists_choices(command):
    text = run_cli(command, "--help").stdout
    assert "<bool>" not in text  # a flag takes no value
    assert "╭" not in text  # plain help: readable in a log file
    if command == "extract":
        assert "--mode <fewshot|finetuned>" in text and "<jsonl|csv|sqlite" in text
        assert "REPORTX_MODEL" in text and "REPORTX_ADAPTER" in text and "REPORTX_THREADS" in text
    if command == "export":
        assert "<f16|q8_0|q4_k_m>" in text and "<f16|f32>" in text


@pytest.mark.parametrize("command", ["synth", "export", "extract", "eval"])
def test_output_is_dash_o_everywhere(command):
    assert re.search(r"-o, --output", run_cli(command, "--help").stdout)


@pytest.mark.parametrize("command", ["synth", "train", "export", "extract", "eval", "score"])
def test_quiet_everywhere(command):
    assert "-q, --quiet" in run_cli(command, "--help").stdout


@pytest.mark.parametrize("command", ["export", "extract", "eval"])
def test_threads_wherever_llama_cpp_runs(command):
    assert "--threads N" in run_cli(command, "--help").stdout


def test_choice_outside_the_list_is_a_usage_error():
    result = run_cli("extract", "x.txt", "--mode", "zeroshot")
    assert result.returncode == 2
    assert "fewshot" in result.stderr and "Traceback" not in result.stderr


def test_threads_from_the_environment_is_checked(tmp_path):
    report = tmp_path / "r.txt"
    report.write_text("Proyecto Alpha. Estado: verde.", encoding="utf-8")
    result = run_cli("extract", str(report), env={"REPORTX_THREADS": "0"})
    assert_one_line_error(result)
    assert "--threads must be between 1 and 256, got 0" in result.stderr


def test_extract_limit_takes_the_first_reports(tmp_path):
    for name in ("a", "b", "c"):
        (tmp_path / f"{name}.txt").write_text("", encoding="utf-8")  # empty: an error record, no model work
    errors = tmp_path / "errors.jsonl"
    result = run_cli("extract", str(tmp_path), "-n", "2", "--errors", str(errors))
    assert result.returncode == 1, result.stderr
    assert len(errors.read_text(encoding="utf-8").splitlines()) == 2
    assert "of 2 reports" in result.stderr


def test_synth_refuses_a_non_empty_folder_without_overwrite(tmp_path):
    out = tmp_path / "d"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    assert_one_line_error(run_cli("synth", "-n", "20", "-o", str(out)))
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    result = run_cli("synth", "-n", "20", "-o", str(out), "--overwrite", "-q")
    assert result.returncode == 0 and result.stderr == ""
    assert (out / "train.jsonl").is_file() and (out / "notes.txt").is_file()


def test_synth_warns_on_empty_splits(tmp_path):
    result = run_cli("synth", "-n", "4", "-o", str(tmp_path / "d"))
    assert result.returncode == 0
    assert "warning:" in result.stderr and "empty" in result.stderr


def test_synth_folder_loads_with_datasets_as_three_splits(tmp_path):
    datasets = pytest.importorskip("datasets")
    out = tmp_path / "d"
    assert run_cli("synth", "-n", "120", "-o", str(out), "-q").returncode == 0
    pairs = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "cache"))
    assert set(pairs) == {"train", "validation", "test"}
    assert pairs["train"].column_names == ["id", "lang", "family", "instruction", "input", "output", "quotes", "spans"]
    lines = (out / "val.jsonl").read_text(encoding="utf-8").splitlines()
    assert [row["id"] for row in pairs["validation"]] == [json.loads(line)["id"] for line in lines]
    chats = datasets.load_dataset(str(out), "messages", cache_dir=str(tmp_path / "cache"))
    assert chats["test"].column_names == ["id", "lang", "family", "messages"]
