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


def test_a_model_loaded_to_run_marks_the_process_as_unfit_to_fork_workers(monkeypatch):
    monkeypatch.setattr(llamacpp, "_RAN", False)
    monkeypatch.setattr("llama_cpp.Llama", lambda model_path, **kwargs: object())
    llamacpp.load_llama("model.gguf", vocab_only=True)  # the tokenizer alone: no thread pool
    assert not llamacpp.ran_in_this_process()
    llamacpp.load_llama("model.gguf", n_ctx=64)
    assert llamacpp.ran_in_this_process()


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


@pytest.mark.parametrize("value, enabled", [("1", True), ("yes", True), ("0", False), ("", False)])
def test_repacking_is_off_unless_set(monkeypatch, value, enabled):
    monkeypatch.setenv("REPORTX_LLAMA_REPACK", value)
    assert llamacpp.repack_enabled() is enabled


def test_the_install_is_batch_invariant(monkeypatch):
    """make install builds llama-cpp-python with sgemm for every product (tools/build_llama_cpp.py); importing
    reportx.llamacpp turns the tiled kernel off. Either missing, batched extraction may round a near-tie the other
    way."""
    monkeypatch.delenv("REPORTX_LLAMA_REPACK", raising=False)
    assert os.environ.get(llamacpp.TILED_MM) == "0"
    assert llamacpp.batch_invariant(), f"llama.cpp: {llamacpp.describe_build()}: reinstall it with make install"
    monkeypatch.setenv("REPORTX_LLAMA_REPACK", "1")
    assert not llamacpp.batch_invariant()


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


@pytest.mark.model
def test_a_token_has_the_same_logits_in_any_batch():
    """Batch invariance (see the module doc) on the default model and the bundled adapter: the logits after a
    report's last token are the same bits whether it is decoded in one run with the tokens before it, alone, one
    token at a time, after a run of 8 (the tiled kernel's threshold), or beside other sequences' tokens."""
    import numpy as np

    from reportx.models import bundled_adapter, default_base_model

    model = llamacpp.LlamaModel.load(default_base_model(), bundled_adapter(), n_ctx=512, n_threads=1, verbose=False)
    text = model.tokenize("Proyecto Atenea: estado verde, 4.500 € gastados. Bloqueo ID: 9812, 2 horas.", bos=True)
    others = [model.tokenize("Weekly report: Orion is amber; blocked on TASK-42 for half a day. " * k, bos=True)
              for k in (1, 3)]

    def logits_after(runs: list[list[int]]) -> np.ndarray:
        model.reset()
        for run in runs:
            model.decode(run)
        return model.logits().copy()

    one_run = logits_after([text])
    assert np.array_equal(logits_after([text[:-1], text[-1:]]), one_run)
    assert np.array_equal(logits_after([text[:-9], text[-9:]]), one_run)
    assert np.array_equal(logits_after([[token] for token in text]), one_run)
    batch = llamacpp.SequenceBatch(model, 3, 3 * 256, 1)
    try:
        batch.decode([(0, 0, others[0]), (1, 0, text[:-1]), (2, 0, others[1][:5])], logits=False)
        rows = batch.decode([(0, len(others[0]), others[1][:2]), (1, len(text) - 1, text[-1:]),
                             (2, 5, others[1][5:14])], logits=[False, True, False])
    finally:
        batch.close()
    assert np.array_equal(rows[1], one_run)
    assert rows[0].size == rows[2].size == 0  # logits only for the runs that ask for them
    model.close()


def test_pips_own_build_is_not_taken_for_invariant(monkeypatch):
    """llamafile's sgemm from 2 tokens only (pip's build): one token takes another kernel."""
    import llama_cpp

    monkeypatch.setattr(llamacpp, "built_with_sgemm", lambda: True)
    monkeypatch.setattr(llama_cpp, "__version__", "0.3.36")
    assert not llamacpp.batch_invariant()
    assert "sgemm from 2 tokens" in llamacpp.describe_build() and "NOT batch-invariant" in llamacpp.describe_build()
    monkeypatch.setattr(llama_cpp, "__version__", "0.3.36+reportx.sgemm1")
    assert llamacpp.batch_invariant()
