"""The llama.cpp loader: weight repacking off while a model loads, llama-cpp-python left as it was."""

from __future__ import annotations

import pytest

from reportx import llamacpp


def test_repacking_is_off_during_load_and_restored_after(monkeypatch):
    from llama_cpp import llama_cpp as C

    original = C.llama_model_default_params
    seen = {}

    class FakeLlama:
        def __init__(self, model_path, **kwargs):
            seen["use_extra_bufts"] = C.llama_model_default_params().use_extra_bufts
            seen["kwargs"] = kwargs

    monkeypatch.setattr("llama_cpp.Llama", FakeLlama)
    monkeypatch.delenv("REPORTX_LLAMA_REPACK", raising=False)
    llamacpp.load_llama("model.gguf", n_ctx=64)
    assert seen == {"use_extra_bufts": False, "kwargs": {"n_ctx": 64}}
    assert C.llama_model_default_params is original
    assert original().use_extra_bufts is True  # llama.cpp's own default, which the loader overrides


@pytest.mark.parametrize("value, enabled", [("1", True), ("yes", True), ("", False), ("0", False)])
def test_repacking_can_be_turned_back_on(monkeypatch, value, enabled):
    monkeypatch.setenv("REPORTX_LLAMA_REPACK", value)
    assert llamacpp.repack_enabled() is enabled
