"""The code's shape, as the team keeps it: no function in src/ over 80 lines, no module importing another
module's private name, one place that constructs llama.cpp's Llama.

A function's length is its body's, from the first statement after the docstring to the end: a CLI command's
signature is a list of option declarations (typer), not code to read.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "reportx"
MAX_LINES = 80


def modules() -> list[tuple[Path, ast.Module]]:
    return [(path, ast.parse(path.read_text(encoding="utf-8"))) for path in sorted(SRC.rglob("*.py"))]


def test_no_function_is_longer_than_80_lines():
    long = []
    for path, tree in modules():
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                body = node.body[1:] if ast.get_docstring(node) is not None and len(node.body) > 1 else node.body
                lines = node.end_lineno - body[0].lineno + 1
                if lines > MAX_LINES:
                    long.append(f"{path.relative_to(SRC)}:{node.lineno} {node.name} ({lines} lines)")
    assert not long, long


def test_no_module_imports_another_modules_private_name():
    found = []
    for path, tree in modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("reportx"):
                private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
                if private:
                    found.append(f"{path.relative_to(SRC)}: from {node.module} import {', '.join(private)}")
    assert not found, found


def test_one_place_constructs_llama():
    sites = [f"{path.relative_to(SRC)}:{node.lineno}" for path, tree in modules() for node in ast.walk(tree)
             if isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(node.func, "id", None)) == "Llama"]
    assert sites == ["llamacpp.py:" + sites[0].split(":")[1]] if sites else False, sites
