"""README's commands work as written: every CLI-tour line that needs no training run (schema, synth, extract,
score; `runs/` lines need a trained adapter), and the Python API example, from a folder with the samples."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text(encoding="utf-8")
RUNNABLE = ("schema", "synth", "extract", "score")


def blocks(language: str, after: str) -> list[str]:
    """The fenced ``language`` blocks of the README section whose heading is ``after``."""
    section = README.split(f"## {after}\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(rf"```{language}\n(.*?)```", section, flags=re.S)


def tour_lines() -> list[str]:
    lines = [line.split("  #")[0].strip() for block in blocks("bash", "CLI tour") for line in block.splitlines()]
    return [line for line in lines if line.startswith("reportx ")]


def runnable(line: str) -> bool:
    return line.split()[1] in RUNNABLE and "runs/" not in line


def test_the_tour_covers_every_stage_and_the_runnable_lines_are_many():
    stages = {line.split()[1] for line in tour_lines()}
    assert {"schema", "synth", "train", "export", "extract", "score", "eval"} <= stages
    assert sum(map(runnable, tour_lines())) >= 8


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("readme")
    shutil.copytree(REPO / "samples", work / "samples")
    return work


def run(args: list[str], cwd: Path, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=900, **kw)


@pytest.mark.model
def test_cli_tour_lines_run_in_order_and_exit_0(workdir):
    for line in filter(runnable, tour_lines()):
        args = [sys.executable, "-m", "reportx", *line.split()[1:]]
        result = run(args, workdir)
        assert result.returncode == 0, (line, result.stderr[-2000:])
        assert "Traceback" not in result.stderr, line
    assert (workdir / "day.db").is_file() and (workdir / "pred.jsonl").is_file()


@pytest.mark.model
def test_python_api_example_runs(workdir):
    pytest.importorskip("pandas")
    (code,) = blocks("python", "Python API")
    result = run([sys.executable, "-c", code], workdir)
    assert result.returncode == 0, result.stderr[-2000:]
    first, *frame = result.stdout.splitlines()
    assert first.startswith("True ") and "project_name" in frame[0]
