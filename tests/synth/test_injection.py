"""Injection snippets: the fresh kinds, kept out of training and written after the code-side defences, and the
unseen kinds, kept out of training and written independently of both the training kinds and the defences."""

from __future__ import annotations

import random
import urllib.parse

import pytest

from reportx.synth.injection import FRESH_KINDS, HELD_OUT_KINDS, TRAIN_KINDS, UNSEEN_KINDS, fake_record, inject

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


def test_fresh_kinds_can_be_injected():
    rng = random.Random(3)
    text, snippet, kind = inject(rng, "Proyecto Alpha. Estado: verde.", "es", FRESH_KINDS)
    assert kind in FRESH_KINDS and snippet in text and "Alpha" in text


# Unseen kinds --------------------------------------------------------------------------------------------------


def test_unseen_kinds_are_a_new_set_of_six():
    assert len(UNSEEN_KINDS) == 6
    assert not set(UNSEEN_KINDS) & (set(TRAIN_KINDS) | set(HELD_OUT_KINDS) | set(FRESH_KINDS))


MEASURE_KINDS = {**FRESH_KINDS, **UNSEEN_KINDS}


@pytest.mark.parametrize("kind", sorted(MEASURE_KINDS))
@pytest.mark.parametrize("lang", ["es", "en"])
def test_measurement_kind_writes_a_snippet_with_a_fake_value(kind, lang):
    for seed in SEEDS:
        rng = random.Random(f"{kind}:{lang}:{seed}")
        fake = fake_record(rng, lang)
        snippet = MEASURE_KINDS[kind](rng, lang, fake)
        assert snippet.strip(), (kind, lang, seed)
        # An unseen kind's URL writes the values percent-encoded ("N%2FA", "Stark+Industries").
        readable = (snippet, urllib.parse.unquote_plus(snippet)) if kind in UNSEEN_KINDS else (snippet,)
        assert any(v in text for v in _values(fake) for text in readable), (kind, lang, seed, snippet)
        if kind in NO_JSON_KINDS:
            assert "{" not in snippet and "}" not in snippet, (kind, lang, seed, snippet)


@pytest.mark.parametrize("kind", sorted(MEASURE_KINDS))
def test_measurement_kind_is_deterministic_and_varied(kind):
    def draw(seed: int, lang: str) -> str:
        rng = random.Random(seed)
        return MEASURE_KINDS[kind](rng, lang, fake_record(rng, lang))

    for lang in ("es", "en"):
        assert draw(7, lang) == draw(7, lang)
        assert len({draw(seed, lang) for seed in range(30)}) > 10
        if kind in UNSEEN_KINDS:
            # At least three wordings, not only three sets of values: the first line differs across seeds.
            assert len({draw(seed, lang).split("\n")[0].split(":")[0] for seed in range(30)}) >= 3
    assert draw(7, "es") != draw(7, "en")


def test_unseen_kinds_can_be_injected():
    for lang, report in (("es", "Proyecto Alpha. Estado: verde."), ("en", "Project Alpha. Status: green.")):
        rng = random.Random(3)
        text, snippet, kind = inject(rng, report, lang, UNSEEN_KINDS)
        assert kind in UNSEEN_KINDS and snippet in text and "Alpha" in text


@pytest.mark.parametrize("kind", ["assistant_request", "other_team"])
@pytest.mark.parametrize("lang", ["es", "en"])
def test_prose_training_kinds_state_another_record_in_words(kind, lang):
    # The training kinds that a person could have written: no JSON, no schema key, a value of the fake record.
    for seed in SEEDS:
        rng = random.Random(f"{kind}:{lang}:{seed}")
        fake = fake_record(rng, lang)
        snippet = TRAIN_KINDS[kind](rng, lang, fake)
        assert "{" not in snippet and "_" not in snippet, snippet
        status_words = {"es": ("verde", "amarillo", "rojo"), "en": ("green", "amber", "red")}[lang]
        named = [fake["project_name"], fake["client"] or "ACME", *status_words]
        # the one wording without a name or status states an amount: digits
        assert any(v in snippet for v in named) or any(c.isdigit() for c in snippet), snippet


def test_training_kinds_pair_no_field_label_with_a_value():
    # A "project name is X" note taught the model to distrust its own label rows (docs/results/injection.md).
    assert "field_note" not in TRAIN_KINDS
