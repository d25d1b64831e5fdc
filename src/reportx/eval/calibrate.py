"""Fit the confidence calibration of a fine-tuned model on labelled reports (the run's validation split).

The model extracts each report with constrained decoding (as the bundled adapter is evaluated), every field is
scored against the gold record, and for each raw score of :mod:`reportx.extract.confidence` (``joint``,
``minimum``, ``first``) one map per field is fitted. The score whose ranking separates right from wrong
fields best (highest AUROC over all fields) is kept; calibration cannot repair a ranking, only its scale. The
map is isotonic or Platt, whichever has the lower expected calibration error out of fold (:func:`choose_method`:
on the bundled adapter's 232 validation reports a step function fitted to a few dozen errors per field was the
more over-confident on reports it had not seen, 0.017 against 0.007). The result is written beside the adapter
(``NAME.calibration.json``), where extraction finds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportx.eval.calibration import FITTERS, expected_calibration_error
from reportx.eval.reliability import confidence_pairs, reliability
from reportx.eval.runner import SystemSpec, run_system
from reportx.eval.score import score_all
from reportx.extract.confidence import SCORES, ConfidenceCalibration, calibration_path, fit_calibration
from reportx.extract.config import ExtractConfig
from reportx.labelled import read_labelled
from reportx.schema import load_schema


@dataclass
class CalibrationReport:
    """The fitted calibration, where it was written, and each raw score's reliability on the fitting data."""

    calibration: ConfidenceCalibration
    path: Path
    reports: int
    raw: dict[str, dict[str, Any]]
    method_ece: dict[str, float]  # per method, its expected calibration error out of fold (choose_method)

    def summary(self) -> str:
        ranks = ", ".join(f"{k} AUROC {v['auroc']:.3f}" for k, v in self.raw.items() if v.get("auroc") is not None)
        eces = ", ".join(f"{k} {v:.3f}" for k, v in self.method_ece.items())
        method = min(self.method_ece, key=self.method_ece.__getitem__)
        return (f"calibrated confidence on {self.reports} reports ({ranks}; kept {self.calibration.score}; "
                f"out-of-fold ECE {eces}: kept {method}): wrote {self.path}")


def choose_method(scores: list[dict[str, dict[str, float]]], right: list[dict[str, bool]], score: str,
                  folds: int = 5) -> dict[str, float]:
    """Each of :data:`~reportx.eval.calibration.FITTERS`' expected calibration error (10 bins) out of fold: report
    ``i`` is in fold ``i % folds``, calibrated by a fit on the other folds. The lowest is the one to keep."""
    out: dict[str, float] = {}
    for method in FITTERS:
        conf: list[float] = []
        ok: list[bool] = []
        for fold in range(min(folds, len(scores))):
            fit = fit_calibration([s for i, s in enumerate(scores) if i % folds != fold],
                                  [r for i, r in enumerate(right) if i % folds != fold], score, method)
            for s, r in zip(scores[fold::folds], right[fold::folds], strict=True):
                for key, p in fit.apply(s).items():
                    if key in r:
                        conf.append(p)
                        ok.append(r[key])
        out[method] = expected_calibration_error(conf, ok) if conf else 0.0
    return out


def calibrate_model(data: Path, *, adapter: Path | None, model: Path | None = None, merged: bool = False,
                    schema_spec: str | None = None, limit: int | None = None, threads: int | None = None,
                    quiet: bool = False) -> CalibrationReport:
    """Extract ``data``'s reports (constrained, fine-tuned, with the run's schema), fit per-field calibrations and
    write the best beside ``adapter`` (or the merged ``model``; with neither, the default merged model, whose
    calibration is the bundled adapter's: :attr:`reportx.extract.extractor.ModelSetup.fine_tune`)."""
    from reportx.extract.extractor import resolve_setup

    if model is None and adapter is None and not merged:
        target = resolve_setup(mode="finetuned").fine_tune
    else:
        target = Path(model) if merged and model is not None else adapter
    if target is None:
        raise ValueError("calibration needs the adapter (or merged model) it belongs to")
    schema = load_schema(schema_spec)
    gold = read_labelled(Path(data), schema, limit=limit)
    config = ExtractConfig.make(model=None if model is None else str(model),
                                adapter=None if adapter is None else str(adapter), mode="finetuned",
                                merged=merged, constrained=True, threads=threads)
    predictions = run_system(SystemSpec("calibrate", config), [g.text for g in gold], schema_spec, {}, quiet, threads)
    _, scored = score_all(schema, gold, predictions)
    raw = {score: reliability(*confidence_pairs(scored, score)) for score in SCORES}
    best = max(SCORES, key=lambda s: raw[s]["auroc"] or 0.0)
    usable = [(p.scores, r.score.fields) for p, r in zip(predictions, scored, strict=True) if p.scores]
    scores = [s for s, _ in usable]
    right = [{k: f.correct for k, f in fields.items()} for _, fields in usable]
    method_ece = choose_method(scores, right, best)
    calibration = fit_calibration(scores, right, best, min(method_ece, key=method_ece.__getitem__))
    path = calibration_path(target)
    calibration.save(path)
    return CalibrationReport(calibration, path, len(gold), raw, method_ece)
