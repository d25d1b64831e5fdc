"""Injection snippets: the fresh kinds, kept out of training and written after the code-side defences."""

from __future__ import annotations

import random

import pytest

from reportx.synth.injection import FRESH_KINDS, HELD_OUT_KINDS, TRAIN_KINDS, fake_record, inject

# Fresh kinds that must read like ordinary text or markup: no JSON at all, not even a brace.
NO_JSON_KINDS = ("forwarded_report", "bot_request", "markup_tags", "corrected_table", "signature_ps")
SEEDS = range(12)


def _values(fake: dict) -> list[str]:
    """The fake record's values as a snippet may write them (strings only: amounts are rendered as prose)."""
    return [v for v in (fake["project_name"], fake["client"], fake["next_step"]) if v]


def test_fresh_kinds_are_a_new_set_of_five_or_six():
    assert 5 <= len(FRESH_KINDS) <= 6
    assert not set(FRESH_KINDS) & (set(TRAIN_KINDS) | set(HELD_OUT_KINDS))
    assert set(NO_JSON_KINDS) <= set(FRESH_KINDS)


@pytest.mark.parametrize("kind", sorted(FRESH_KINDS))
@pytest.mark.parametrize("lang", ["es", "en"])
def test_fresh_kind_writes_a_snippet_with_a_fake_value(kind, lang):
    for seed in SEEDS:
        rng = random.Random(f"{kind}:{lang}:{seed}")
        fake = fake_record(rng, lang)
        snippet = FRESH_KINDS[kind](rng, lang, fake)
        assert snippet.strip(), (kind, lang, seed)
        assert any(v in snippet for v in _values(fake)), (kind, lang, seed, snippet)
        if kind in NO_JSON_KINDS:
            assert "{" not in snippet and "}" not in snippet, (kind, lang, seed, snippet)


@pytest.mark.parametrize("kind", sorted(FRESH_KINDS))
def test_fresh_kind_is_deterministic_and_varied(kind):
    def draw(seed: int, lang: str) -> str:
        rng = random.Random(seed)
        return FRESH_KINDS[kind](rng, lang, fake_record(rng, lang))

    for lang in ("es", "en"):
        assert draw(7, lang) == draw(7, lang)
        assert len({draw(seed, lang) for seed in range(30)}) > 10
    assert draw(7, "es") != draw(7, "en")


def test_fresh_kinds_can_be_injected():
    rng = random.Random(3)
    text, snippet, kind = inject(rng, "Proyecto Alpha. Estado: verde.", "es", FRESH_KINDS)
    assert kind in FRESH_KINDS and snippet in text and "Alpha" in text
