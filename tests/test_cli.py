"""The CLI's contract with shell scripts: help everywhere, one-line errors with exit code 2, never a traceback."""

import json
import os
import subprocess
import sys

import pytest

KEYS = ["project_name", "status", "client", "budget_used_eur", "key_milestone_completed", "blockers_today", "next_step"]
COMMANDS = ["schema", "synth", "train", "export", "extract", "eval", "score"]


def run_cli(*args, stdin=None, cwd=None, env=None):
    return subprocess.run(
        [sys.executable, "-m", "reportx", *args], capture_output=True, text=True, input=stdin, cwd=cwd, timeout=120,
        env=None if env is None else {**os.environ, **env},
    )


def assert_one_line_error(result):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("reportx: error:")


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_help_explains(command):
    result = run_cli(*([command] if command else []), "--help")
    assert result.returncode == 0
    assert "Usage" in result.stdout


def test_schema_prints_the_seven_keys_in_order():
    result = run_cli("schema")
    assert result.returncode == 0
    assert list(json.loads(result.stdout)["properties"]) == KEYS


def test_schema_loads_a_user_json_schema(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"type": "object", "properties": {"b": {"type": "string"}, "a": {"type": "number"}}}))
    result = run_cli("schema", "--schema", str(path))
    assert result.returncode == 0
    assert list(json.loads(result.stdout)["properties"]) == ["b", "a"]


def test_schema_validate_normalises_and_flags(tmp_path):
    good = {"project_name": "'Alpha'", "status": "todo OK", "client": None, "budget_used_eur": "4.500 €",
            "key_milestone_completed": None, "blockers_today": [], "next_step": None}
    path = tmp_path / "records.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps({"project_name": "X"}) + "\n")
    result = run_cli("schema", "--validate", str(path))
    assert result.returncode == 1
    first = json.loads(result.stdout.splitlines()[0])
    assert first["project_name"] == "Alpha" and first["status"] == "Verde" and first["budget_used_eur"] == 4500
    assert ":2: invalid:" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["schema", "--schema", "no/such/schema.json"],
        ["schema", "--schema", "no_such_module_xyz:Model"],
        ["schema", "--validate", "no/such/file.jsonl"],
        ["synth", "--n", "0", "--out", "OUT"],
        ["synth", "--n", "-5", "--out", "OUT"],
    ],
)
def test_bad_input_gets_one_line_and_exit_2(args, tmp_path):
    assert_one_line_error(run_cli(*[str(tmp_path / "o") if a == "OUT" else a for a in args]))


def test_synth_out_must_be_a_directory(tmp_path):
    file = tmp_path / "file.txt"
    file.write_text("x")
    assert_one_line_error(run_cli("synth", "--n", "5", "--out", str(file)))


def test_synth_rich_changes_only_the_training_split(tmp_path):
    for flag in ("--plain", "--rich"):
        assert run_cli("synth", "--n", "60", "--out", str(tmp_path / flag), "-q", flag).returncode == 0
    for split in ("val", "test"):
        assert (tmp_path / "--plain" / f"{split}.jsonl").read_bytes() == (tmp_path / "--rich" / f"{split}.jsonl").read_bytes()
    assert (tmp_path / "--plain" / "train.jsonl").read_bytes() != (tmp_path / "--rich" / "train.jsonl").read_bytes()


def test_unknown_option_is_a_usage_error():
    result = run_cli("synth", "--no-such-option")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
