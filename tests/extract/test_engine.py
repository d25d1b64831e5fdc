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


def test_prime_keeps_the_common_prefix_in_the_kv_cache(engine):
    tokens = engine.tokenize("Estado: Verde. Cliente: ACME Corp. Presupuesto: 4500 euros.", bos=True)
    engine.llm.reset()  # a cold cache
    assert engine.prime(tokens) == len(tokens) and engine.cached_tokens == tokens
    first = engine.logits().copy()
    assert first.shape == (engine.n_vocab,)
    assert engine.prime(tokens) == 1  # everything but the last token (whose logits are needed) is cached
    assert int(np.argmax(engine.logits())) == int(np.argmax(first))
    other = tokens[:-2] + engine.tokenize(" dólares.")
    assert engine.prime(other) == len(other) - len(tokens) + 2 and engine.cached_tokens == other
    assert engine.n_past == len(other) and engine.room() == engine.n_ctx - len(other) - 1
