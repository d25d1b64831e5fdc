"""The llama.cpp adapter: weight repacking off while a model loads, llama-cpp-python left as it was; llama.cpp's
log captured for error messages."""

from __future__ import annotations

import os

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
    monkeypatch.setenv("REPORTX_LLAMA_REPACK", "0")
    llamacpp.load_llama("model.gguf", n_ctx=64)
    assert seen == {"use_extra_bufts": False, "kwargs": {"n_ctx": 64}}
    assert C.llama_model_default_params is original
    assert original().use_extra_bufts is True  # llama.cpp's own default, which the loader overrides


def test_repacking_stays_on_when_allowed(monkeypatch):
    from llama_cpp import llama_cpp as C

    seen = {}

    class FakeLlama:
        def __init__(self, model_path, **kwargs):
            seen["use_extra_bufts"] = C.llama_model_default_params().use_extra_bufts

    monkeypatch.setattr("llama_cpp.Llama", FakeLlama)
    monkeypatch.setenv("REPORTX_LLAMA_REPACK", "1")
    llamacpp.load_llama("model.gguf")
    assert seen == {"use_extra_bufts": True}


@pytest.mark.parametrize("value, amx, enabled", [("1", True, True), ("yes", True, True), ("0", False, False),
                                                 ("", True, False), ("", False, True)])
def test_repacking_is_off_only_for_an_amx_build_unless_set(monkeypatch, value, amx, enabled):
    monkeypatch.setenv("REPORTX_LLAMA_REPACK", value)
    monkeypatch.setattr(llamacpp, "build_has_amx", lambda: amx)
    assert llamacpp.repack_enabled() is enabled


def test_the_build_reports_whether_it_has_amx():
    assert isinstance(llamacpp.build_has_amx(), bool)


def test_captured_stderr_collects_what_the_c_library_writes_and_restores_fd_2():
    before = os.fstat(2)
    with llamacpp.captured_stderr() as log_tail:
        os.write(2, b"llama_model_load: first\n\nllama_model_load: second\nerror: third\n")
        assert os.fstat(2).st_ino != before.st_ino
        assert log_tail() == "llama_model_load: second | error: third"  # the last two non-blank lines
    after = os.fstat(2)
    assert (after.st_dev, after.st_ino) == (before.st_dev, before.st_ino)


def test_a_load_failure_keeps_llama_cpps_message_and_log(monkeypatch):
    def failing_llama(model_path, **kwargs):
        os.write(2, b"llama_model_load: error loading model\n")
        raise ValueError(f"Failed to load model from file: {model_path}")

    monkeypatch.setattr("llama_cpp.Llama", failing_llama)
    with pytest.raises(llamacpp.LoadError) as caught:
        llamacpp.LlamaModel.load("model.gguf", n_ctx=64)
    assert str(caught.value) == "Failed to load model from file: model.gguf"
    assert caught.value.log == "llama_model_load: error loading model"
