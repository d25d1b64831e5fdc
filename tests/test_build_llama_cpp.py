"""tools/build_llama_cpp.py: the patch that makes llama.cpp take sgemm for one token too, on a source tree shaped
like llama-cpp-python's release, and its refusal of a release it was not written for."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[1] / "tools" / "build_llama_cpp.py"
spec = importlib.util.spec_from_file_location("build_llama_cpp", TOOL)
assert spec and spec.loader
build_llama_cpp = importlib.util.module_from_spec(spec)
spec.loader.exec_module(build_llama_cpp)

SGEMM = """bool llamafile_sgemm(...) {
    assert(params->ith < params->nth);

    // only enable sgemm for prompt processing
#if !defined(__MMA__)
    if (n < 2)
        return false;
#endif

    if (Ctype != GGML_TYPE_F32)
        return false;
"""


def release(tmp_path: Path, sgemm: str = SGEMM, version: str = '__version__ = "0.3.36"\n') -> Path:
    root = tmp_path / "llama_cpp_python-0.3.36"
    (root / build_llama_cpp.SGEMM).parent.mkdir(parents=True)
    (root / build_llama_cpp.SGEMM).write_text(sgemm, encoding="utf-8")
    (root / "llama_cpp").mkdir()
    (root / "llama_cpp" / "__init__.py").write_text("from .llama_cpp import *\n\n" + version, encoding="utf-8")
    return root


def test_the_patch_drops_the_one_token_check_and_labels_the_version(tmp_path):
    root = release(tmp_path)
    assert build_llama_cpp.patch_source(root) == "0.3.36+reportx.sgemm1"
    patched = (root / build_llama_cpp.SGEMM).read_text(encoding="utf-8")
    assert "#if defined(__MMA__)\n    if (n < 2)" in patched and "#if !defined(__MMA__)" not in patched
    assert patched.count("if (n < 2)") == 1 and "if (Ctype != GGML_TYPE_F32)" in patched
    init = (root / "llama_cpp" / "__init__.py").read_text(encoding="utf-8")
    assert '__version__ = "0.3.36+reportx.sgemm1"' in init and init.startswith("from .llama_cpp import *")
    from reportx.llamacpp import SGEMM_EVERYWHERE_LABEL

    assert "0.3.36+reportx.sgemm1".endswith(SGEMM_EVERYWHERE_LABEL)  # what batch_invariant() looks for


def test_a_release_the_patch_was_not_written_for_is_refused(tmp_path):
    root = release(tmp_path, sgemm=SGEMM.replace("n < 2", "n < 4"))
    with pytest.raises(build_llama_cpp.PatchError, match="one-token check not found once"):
        build_llama_cpp.patch_source(root)
    assert (root / build_llama_cpp.SGEMM).read_text(encoding="utf-8").count("n < 4") == 1  # left as it was


def test_a_patched_release_is_not_patched_twice(tmp_path):
    root = release(tmp_path)
    build_llama_cpp.patch_source(root)
    with pytest.raises(build_llama_cpp.PatchError):
        build_llama_cpp.patch_source(root)


def test_a_release_without_a_version_line_is_refused(tmp_path):
    root = release(tmp_path, version="VERSION = 3\n")
    with pytest.raises(build_llama_cpp.PatchError, match="__version__"):
        build_llama_cpp.patch_source(root)
    assert (root / build_llama_cpp.SGEMM).read_text(encoding="utf-8") == SGEMM  # nothing half-patched
