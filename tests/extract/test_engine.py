"""The extraction engine over the llama.cpp adapter (:class:`reportx.llamacpp.LlamaModel`), with the embedded
model: end-of-generation tokens, token bytes and text, the prefix cache. Marked ``model``; one model per session."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.model


def test_end_of_generation_is_llama_cpps_set(engine):
    eog = engine.model.end_of_generation()
    assert engine.eos in eog and all(engine.is_end(t) for t in eog)
    assert {engine.model.piece(t, special=True) for t in eog} >= {b"<eos>", b"<end_of_turn>"}
    assert all(engine.piece(t) == b"" for t in eog)  # control tokens write nothing into an answer
    assert not any(engine.is_end(t) for t in engine.tokenize('{"project_name": "Alpha"}'))


def test_tokens_round_trip_and_control_token_text(engine):
    text = 'Informe del proyecto "Alpha": 4.500 € de 5.000 €'
    tokens = engine.tokenize(text, bos=True)
    assert tokens[0] == engine.bos and engine.detokenize(tokens).decode("utf-8") == text
    assert engine.token_text(engine.bos) == "<bos>" and engine.token_text(engine.eos) == "<eos>"


def test_prime_reuses_the_cache_only_up_to_a_checkpoint(engine):
    prefix = engine.tokenize("Estado: Verde. Cliente: ACME Corp.", bos=True)
    tokens = prefix + engine.tokenize(" Presupuesto: 4500 euros.")
    engine.model.reset()  # a cold cache
    assert engine.prime(tokens, [len(prefix)]) == len(tokens) and engine.cached_tokens == tokens
    first = engine.logits().copy()
    assert first.shape == (engine.n_vocab,)
    assert engine.prime(tokens, [len(prefix)]) == len(tokens) - len(prefix)  # the prefix came from the cache
    assert np.array_equal(engine.logits(), first)
    other = tokens[:-2] + engine.tokenize(" dólares.")  # shares more than the prefix: still only the prefix is kept
    assert engine.prime(other, [len(prefix)]) == len(other) - len(prefix) and engine.cached_tokens == other
    assert engine.n_past == len(other) and engine.room() == engine.n_ctx - len(other) - 1
    assert engine.prime(tokens) == len(tokens)  # no checkpoint: nothing is reused


@pytest.fixture(scope="module")
def finetuned():
    """The bundled adapter's extractor (its prompts are where one-batch and cached-prefix rounding differ)."""
    from reportx.extract import Extractor

    from tests.extract.conftest import THREADS

    return Extractor(mode="finetuned", n_threads=THREADS, batch=1)  # one report at a time: the guarantee tested here


def test_a_prompt_gives_the_same_logits_whatever_the_cache_held(finetuned):
    """Bit for bit: cold, after another report and after itself. Without the checkpoint at the shared prefix,
    a cold one-batch prompt and a cached prefix plus the rest differ by more than 1 in some logits here."""
    engine = finetuned.engine
    cut = [len(finetuned._prefix_tokens)]
    report = finetuned.prompt_tokens("Proyecto Atenea, estado ámbar, 4.500 € gastados de 20.000 €.")
    neighbour = finetuned.prompt_tokens("Proyecto Atenea: verde, sin bloqueos. Cliente: Banco Sur.")
    engine.model.reset()
    engine.prime(report, cut)
    cold = engine.logits().copy()
    for before in (neighbour, report):
        engine.prime(before, cut)
        engine.prime(report, cut)
        assert np.array_equal(engine.logits(), cold)


def test_a_record_does_not_depend_on_the_report_before_it(finetuned, synthetic_reports):
    texts = [example.text for example in synthetic_reports[:4]]
    after_others = [r.raw_output for r in finetuned.extract_many(texts)]
    alone = []
    for text in texts:
        finetuned.engine.model.reset()
        alone.append(finetuned.extract(text).raw_output)
    assert after_others == alone
