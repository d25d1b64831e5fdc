"""Fitting an adapter's confidence calibration with the embedded model (``reportx export --calibrate``'s work)."""

from __future__ import annotations

import json
import shutil

import pytest

from reportx.extract.confidence import SCORES, calibration_path, load_calibration

pytestmark = pytest.mark.model


def val_reports(tmp_path, n: int):
    """The first ``n`` synthetic val reports, and a labelled JSONL of them in ``tmp_path``."""
    from reportx.synth import synthesize

    examples = [e for e in synthesize(n=200, seed=5) if e.split == "val"][:n]
    data = tmp_path / "val.jsonl"
    data.write_text("".join(json.dumps({"input": e.text, "output": e.gold}, ensure_ascii=False) + "\n"
                            for e in examples), encoding="utf-8")
    return examples, data


def test_calibrate_model_writes_a_calibration_extraction_then_applies(tmp_path):
    from reportx.eval.calibrate import calibrate_model
    from reportx.extract import Extractor
    from reportx.models import bundled_adapter

    adapter = tmp_path / "adapter.gguf"
    shutil.copy(bundled_adapter(), adapter)
    examples, data = val_reports(tmp_path, 4)
    report = calibrate_model(data, adapter=adapter, threads=1, quiet=True)
    assert report.path == calibration_path(adapter) and report.reports == 4
    assert set(report.raw) == set(SCORES) and report.calibration.score in SCORES
    calibration = load_calibration(adapter)
    assert calibration is not None and set(calibration.fields) == set(examples[0].gold)
    result = Extractor(adapter=adapter, mode="finetuned", constrained=True, n_threads=1).extract(examples[0].text)
    assert result.ok and all(0.0 <= p <= 1.0 for p in result.meta["confidence"].values())


def test_with_no_model_or_adapter_the_default_merged_model_is_calibrated_beside_the_bundled_adapter(
        tmp_path, monkeypatch):
    from reportx import models
    from reportx.eval.calibrate import calibrate_model

    bundled = tmp_path / "bundled" / "adapter.gguf"  # a copy: the package's calibration stays as it is
    bundled.parent.mkdir()
    shutil.copy(models.BUNDLED_ADAPTER, bundled)
    monkeypatch.setattr(models, "BUNDLED_ADAPTER", bundled)
    _, data = val_reports(tmp_path, 3)
    report = calibrate_model(data, adapter=None, threads=1, quiet=True)
    assert report.path == calibration_path(bundled) and report.reports == 3
    assert load_calibration(bundled) is not None
