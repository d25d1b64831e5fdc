"""The default finetuned model: the embedded base with the bundled adapter merged into its weights (Q8_0), made
once into the cache; the other option combinations resolve as before. Marked ``model``: it merges the real files
(about 10 s) into a temporary cache."""

from __future__ import annotations

import pytest

from reportx import models
from reportx.errors import ReportxError
from reportx.export.gguf_io import read_gguf_header
from reportx.extract.extractor import resolve_setup

pytestmark = pytest.mark.model


@pytest.fixture(scope="module")
def merged(tmp_path_factory, model_path):
    """The default merged model, made into a temporary cache from the already assembled base."""
    if models.bundled_adapter() is None:
        pytest.skip("no adapter is bundled")
    patch = pytest.MonkeyPatch()
    patch.setenv("REPORTX_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    patch.setattr(models, "default_base_model", lambda: model_path)
    try:
        yield models.default_merged_model()
    finally:
        patch.undo()


def test_the_bundled_adapter_is_merged_once_into_the_cache(merged, tmp_path_factory):
    assert merged is not None and merged.parent.name == "models"
    assert models.file_id(models.BUNDLED_ADAPTER).split("@")[1] in merged.name
    header = read_gguf_header(merged, keep=lambda key: key == models.ANSWER_KEY)
    blocks = {name: info.ggml_type for name, info in header.tensors.items() if name.endswith("_q.weight")}
    assert len(blocks) == 18 and set(blocks.values()) == {8}  # GGML type 8: Q8_0
    assert models.answer_format(merged) == models.answer_format(models.BUNDLED_ADAPTER) == "quotes"
    stamp = merged.stat().st_mtime_ns
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REPORTX_CACHE_DIR", str(merged.parent.parent))
        assert models.default_merged_model() == merged and merged.stat().st_mtime_ns == stamp
        assert models.is_default_merged_model(merged)
    assert not [p for p in merged.parent.iterdir() if p.name.endswith(".tmp")]


def test_finetuned_mode_by_default_loads_the_merged_model(merged, model_path, monkeypatch):
    monkeypatch.setenv("REPORTX_CACHE_DIR", str(merged.parent.parent))
    monkeypatch.setattr(models, "default_base_model", lambda: model_path)
    default = resolve_setup()
    assert (default.model_path, default.adapter_path, default.mode, default.merged) == (
        merged, None, "finetuned", True)
    # its answer format and calibration are the bundled adapter's
    assert default.fine_tune == models.BUNDLED_ADAPTER
    assert resolve_setup(mode="finetuned").model_path == merged


def test_the_other_combinations_resolve_as_before(merged, model_path, monkeypatch, tmp_path):
    monkeypatch.setenv("REPORTX_CACHE_DIR", str(merged.parent.parent))
    monkeypatch.setattr("reportx.extract.extractor.default_base_model", lambda: model_path)
    fewshot = resolve_setup(mode="fewshot")
    assert (fewshot.model_path, fewshot.adapter_path, fewshot.fine_tune) == (model_path, None, None)
    explicit = resolve_setup(adapter=models.BUNDLED_ADAPTER)  # the adapter applied at run time
    assert (explicit.model_path, explicit.adapter_path, explicit.merged) == (model_path, models.BUNDLED_ADAPTER, False)
    other_base = resolve_setup(model=tmp_path / "base.gguf")  # the bundled adapter on a base of the user's
    assert other_base.adapter_path == models.BUNDLED_ADAPTER and not other_base.merged
    own_merge = resolve_setup(model=tmp_path / "mine.gguf", merged=True)
    assert own_merge.adapter_path is None and own_merge.fine_tune == tmp_path / "mine.gguf"
    with pytest.raises(ReportxError, match="merged"):
        resolve_setup(model=merged, merged=True, adapter=models.BUNDLED_ADAPTER)


def test_without_a_bundled_adapter_the_default_is_few_shot(monkeypatch, model_path):
    monkeypatch.setattr(models, "bundled_adapter", lambda: None)
    monkeypatch.setattr("reportx.extract.extractor.bundled_adapter", lambda: None)
    monkeypatch.setattr("reportx.extract.extractor.default_base_model", lambda: model_path)
    assert models.default_merged_model() is None
    setup = resolve_setup()
    assert (setup.model_path, setup.mode) == (model_path, "fewshot") and setup.notices


def test_an_extractor_on_the_default_model_answers_quotes_with_the_bundled_calibration(merged, monkeypatch):
    from reportx.extract import Extractor

    monkeypatch.setenv("REPORTX_CACHE_DIR", str(merged.parent.parent))
    ex = Extractor(constrained=True, max_tokens=160, n_threads=1)
    assert ex.mode == "finetuned" and ex.answer == "quotes" and ex.calibration is not None
    result = ex.extract("Proyecto Tilo, cliente Fundación Roble. Estado: verde. Presupuesto usado: 4.500 €.")
    assert result.ok, result.error
    assert result.meta["model"] == models.file_id(merged) and result.meta["adapter"] is None
    assert result.record["project_name"] == "Tilo" and result.record["budget_used_eur"] == 4500


# The split output head (reportx.extract.head) ------------------------------------------------------------------

REPORT = ("Parte del proyecto Tilo para Fundación Roble: estado verde, 4.500 € gastados. Bloqueo: ticket "
          "SR-2201, 3 horas. Siguiente paso: pruebas de carga.")


@pytest.fixture(scope="module")
def engines(merged):
    from reportx.extract.engine import Engine

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REPORTX_CACHE_DIR", str(merged.parent.parent))  # the body is made beside the merged model
        split, full = Engine(merged, n_threads=1, split_head=True), Engine(merged, n_threads=1)
        yield split, full
    split.model.close()
    full.model.close()


def test_the_body_keeps_every_tensor_and_the_first_tokens(merged):
    from reportx.export.split import body_vocabulary

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("REPORTX_CACHE_DIR", str(merged.parent.parent))
        body = models.split_body(merged)
    whole, cut = read_gguf_header(merged), read_gguf_header(body)
    keep = body_vocabulary(whole)
    assert keep == 494  # Gemma: control tokens, then the 256 byte tokens
    assert len(cut.metadata["tokenizer.ggml.tokens"].value) == keep
    assert cut.tensors.keys() == whole.tensors.keys()
    assert cut.tensors["token_embd.weight"].shape == (640, keep)
    assert body.stat().st_size < merged.stat().st_size / 2


def test_split_logits_are_llama_cpp_s_for_the_candidates_and_minus_inf_elsewhere(engines):
    import numpy as np

    from reportx.extract import Extractor

    split, full = engines
    prompt = Extractor(engine=split, mode="finetuned").prompt_tokens(REPORT)
    split.prime(prompt)
    full.prime(prompt)
    ours, theirs = split.logits(), full.logits()
    candidates = np.isfinite(ours)
    assert 500 < candidates.sum() < 20_000
    assert np.abs(ours[candidates] - theirs[candidates]).max() < 1e-3  # llama.cpp's Q8_0 product, reproduced
    assert ours.argmax() == theirs.argmax()
    in_report, absent = split.tokenize(" Fundación"), split.tokenize(" banana")
    assert len(in_report) == len(absent) == 1
    assert candidates[in_report[0]] and not candidates[absent[0]]
    assert candidates[split.tokenize('":"')].all()  # JSON's own tokens, whatever the report


def test_split_head_extraction_gives_the_full_head_s_records(engines):
    from reportx.extract import Extractor

    split, full = engines
    texts = [REPORT, "Standup Atlas (client Northwind Ltd): amber. Spent 12.300 EUR. Blocked 2 days on INC-77."]
    for constrained in (True, False):
        ours = [Extractor(engine=split, mode="finetuned", constrained=constrained).extract(t) for t in texts]
        theirs = [Extractor(engine=full, mode="finetuned", constrained=constrained).extract(t) for t in texts]
        assert [r.record for r in ours] == [r.record for r in theirs]
        assert all(r.ok for r in ours)


def test_the_default_extractor_splits_the_head_unless_told_not_to(merged, monkeypatch):
    from reportx.extract import Extractor
    from reportx.llamacpp import SplitModel

    monkeypatch.setenv("REPORTX_CACHE_DIR", str(merged.parent.parent))
    from reportx.extract.config import ExtractConfig

    assert isinstance(Extractor(n_threads=1).engine.model, SplitModel)

    assert not isinstance(Extractor(config=ExtractConfig.make(full_head=True, threads=1)).engine.model, SplitModel)
    assert not isinstance(Extractor(config=ExtractConfig.make(adapter=str(models.BUNDLED_ADAPTER), threads=1))
                          .engine.model, SplitModel)
