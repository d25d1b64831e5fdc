"""Per-field confidence (reportx.extract.confidence): value spans, raw scores from unmasked probabilities, and the
calibration file beside an adapter."""

from __future__ import annotations

import json
import math

import pytest
from tests.extract.byte_engine import ByteEngine
from tests.extract.test_constrain_quotes import RECORD_SCHEMA, REPORT, record_text

from reportx.errors import ReportxError
from reportx.eval.calibration import Calibrator, fit_isotonic
from reportx.extract.confidence import (
    ConfidenceCalibration,
    calibration_path,
    field_scores,
    fit_calibration,
    load_calibration,
    value_spans,
)
from reportx.extract.constrain import ConstrainedDecoder
from reportx.extract.engine import ChosenToken, token_probability


def test_value_spans_are_byte_ranges_of_each_top_level_value():
    answer = ' {"a": "Ñandú", "b": [{"x": 1}, {"x": null}],"c":null , "d": 4.5}'
    data = answer.encode()
    spans = value_spans(answer)
    assert [data[s:e].decode() for s, e in spans.values()] == ['"Ñandú"', '[{"x": 1}, {"x": null}]', "null", "4.5"]
    assert list(spans) == ["a", "b", "c", "d"]
    assert value_spans('{"a": "x", "b": [1, 2') == {"a": (6, 9)}  # cut short: what was read
    assert value_spans("not json") == {} and value_spans("[1]") == {}
    grouped = '{"a": 12.300,50, "b": 3,200,"c": [1, 2], "d": "x"}'  # digit groups, as the constrained decoder allows
    assert [grouped[s:e] for s, e in value_spans(grouped).values()] == ["12.300,50", "3,200", "[1, 2]", '"x"']


def test_field_scores_combine_the_tokens_over_each_value():
    answer = '{"a": "xy", "b": null}'
    chosen = [ChosenToken(6, 8, 0.5), ChosenToken(8, 10, 0.8), ChosenToken(17, 21, 0.9)]  # "x / y" / null
    scores = field_scores(answer, chosen)
    assert scores["a"] == {"joint": pytest.approx(0.4), "minimum": 0.5, "first": 0.5}
    assert scores["b"] == {"joint": 0.9, "minimum": 0.9, "first": 0.9}
    assert field_scores(answer, [])["a"] == {"joint": 1.0, "minimum": 1.0, "first": 1.0}  # all forced


def test_token_probability_is_the_softmax_of_the_raw_logits():
    import numpy as np

    logits = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    expected = math.exp(2.0) / sum(math.exp(v) for v in (1.0, 2.0, 3.0))
    assert token_probability(logits, 1) == pytest.approx(expected, rel=1e-6)


def test_a_token_the_mask_forces_on_the_model_has_a_low_confidence():
    # The model wants "Ñandù" (a misspelling); the quote constraint makes it write the report's "Ñandú". The
    # probability of the last letter is the model's, unmasked: low, while a masked softmax would say ~1.
    wants = record_text("Ñandù", "JIRA-482", "3,5 h")
    right = record_text("Ñandú", "JIRA-482", "3,5 h")
    engine = ByteEngine(wants, right, prompt=3)
    decoder = ConstrainedDecoder.for_schema(engine, RECORD_SCHEMA, max_tokens=200)  # type: ignore[arg-type]
    gen = decoder.generate([1, 2, 3], source=REPORT)
    assert gen.text.encode() == right
    scores = field_scores(gen.text, gen.chosen)
    assert scores["project_name"]["minimum"] < 0.2
    assert scores["blockers_today"]["minimum"] > 0.8  # every byte there was the model's favourite
    assert all(t.probability <= 1.0 for t in gen.chosen)


def test_the_free_decoder_records_every_chosen_token():
    wants = record_text("Ñandú", "JIRA-482", "3,5 h")
    engine = ByteEngine(wants, prompt=3)
    from reportx.extract.engine import Engine

    gen = Engine.generate_json(engine, [1, 2, 3], max_tokens=200)  # type: ignore[arg-type]  # the real loop
    assert gen.finished and len(gen.chosen) == len(gen.tokens)
    assert [(t.start, t.end) for t in gen.chosen][:3] == [(0, 1), (1, 2), (2, 3)]


def test_the_calibration_file_round_trips_and_applies_per_field(tmp_path):
    calibration = ConfidenceCalibration("minimum", {"a": fit_isotonic([0.1, 0.2, 0.8, 0.9], [False, False, True, True])})
    adapter = tmp_path / "adapter.gguf"
    adapter.write_bytes(b"")
    calibration.save(calibration_path(adapter))
    assert calibration_path(adapter).name == "adapter.calibration.json"
    loaded = load_calibration(adapter)
    assert loaded is not None and loaded.score == "minimum"
    applied = loaded.apply({"a": {"joint": 0.5, "minimum": 0.95, "first": 0.5}, "b": {"minimum": 0.3}})
    assert applied["a"] == pytest.approx(1.0) and applied["b"] == 0.3  # no calibrator for b: its raw score
    assert load_calibration(tmp_path / "none.gguf") is None


def test_a_broken_calibration_file_is_an_error_not_a_silent_fallback(tmp_path):
    adapter = tmp_path / "adapter.gguf"
    calibration_path(adapter).write_text(json.dumps({"format": "other"}), encoding="utf-8")
    with pytest.raises(ReportxError, match="calibration"):
        load_calibration(adapter)
    with pytest.raises(ValueError, match="score"):
        ConfidenceCalibration.from_json({"format": "reportx-confidence", "version": 1, "score": "mean", "fields": {}})


def test_fit_calibration_fits_one_map_per_field():
    scores = [{"a": {"joint": p, "minimum": p, "first": p}, "b": {"joint": 0.5, "minimum": 0.5, "first": 0.5}}
              for p in (0.1, 0.2, 0.3, 0.7, 0.8, 0.9)]
    right = [{"a": p > 0.5, "b": True} for p in (0.1, 0.2, 0.3, 0.7, 0.8, 0.9)]
    calibration = fit_calibration(scores, right, "joint")
    assert set(calibration.fields) == {"a", "b"} and isinstance(calibration.fields["a"], Calibrator)
    assert calibration.apply({"a": {"joint": 0.15}})["a"] == pytest.approx(0.0)
    assert calibration.apply({"a": {"joint": 0.85}})["a"] == pytest.approx(1.0)
    assert calibration.apply({"b": {"joint": 0.5}})["b"] == pytest.approx(1.0)


def test_fit_calibration_fits_platt_maps_on_request_and_refuses_other_methods():
    scores = [{"a": {"joint": p}} for p in (0.1, 0.2, 0.3, 0.7, 0.8, 0.9)]
    right = [{"a": p > 0.5} for p in (0.1, 0.2, 0.3, 0.7, 0.8, 0.9)]
    calibration = fit_calibration(scores, right, "joint", "platt")
    assert calibration.fields["a"].method == "platt"
    low, high = calibration.apply({"a": {"joint": 0.15}})["a"], calibration.apply({"a": {"joint": 0.85}})["a"]
    assert 0.0 < low < 0.5 < high < 1.0  # a sigmoid: never a certainty from six examples
    with pytest.raises(ValueError, match="method must be one of isotonic, platt"):
        fit_calibration(scores, right, "joint", "beta")
