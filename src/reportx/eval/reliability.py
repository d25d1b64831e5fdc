"""How far a system's per-field confidence can be trusted: calibration error, ranking and selective accuracy.

Every field of every scored report is one (confidence, right?) pair. The confidence is the record's
``_meta.confidence`` (what users get: calibrated when the adapter ships a calibration), and, for systems
``reportx eval`` runs itself, each raw score of ``reportx.extract.confidence`` (``joint``, ``minimum``,
``first``), so the alternatives are compared on the same answers. A report without an answer (an error, an
invalid one) has every field wrong at confidence 0: a review queue would put it first.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from reportx.eval.calibration import accuracy_at_coverage, auroc, expected_calibration_error

if TYPE_CHECKING:
    from reportx.eval.score import ScoredReport

#: The coverages at which selective accuracy is reported (answering only the most confident fields).
COVERAGES = (0.8, 0.9, 0.95)


def confidence_pairs(scored: list[ScoredReport], score: str | None = None) -> tuple[list[float], list[bool]]:
    """(confidences, right) over every field of every report: ``_meta.confidence`` when ``score`` is None,
    else that raw score. Empty when no prediction carries it."""
    confidences: list[float] = []
    right: list[bool] = []
    carried = False
    for report in scored:
        values = _confidences(report, score)
        carried = carried or values is not None
        for key, field_score in report.score.fields.items():
            confidences.append(float((values or {}).get(key, 0.0)) if report.record is not None else 0.0)
            right.append(field_score.correct)
    return (confidences, right) if carried else ([], [])


def _confidences(report: ScoredReport, score: str | None) -> dict[str, float] | None:
    prediction = report.prediction
    if prediction is None:
        return None
    if score is None:
        value = prediction.meta.get("confidence")
        return value if isinstance(value, dict) else None
    if prediction.scores is None:
        return None
    return {k: v[score] for k, v in prediction.scores.items() if score in v}


def reliability(confidences: list[float], right: list[bool]) -> dict[str, Any]:
    """ECE (10 bins), AUROC of confidence for right vs wrong, and accuracy at each of ``COVERAGES``."""
    out: dict[str, Any] = {"fields": len(confidences), "ece": expected_calibration_error(confidences, right),
                           "auroc": auroc(confidences, right)}
    for coverage in COVERAGES:
        out[f"accuracy_at_{round(coverage * 100)}"] = accuracy_at_coverage(confidences, right, coverage)
    return out


def confidence_summary(scored: list[ScoredReport]) -> dict[str, Any]:
    """``{"confidence": ..., "confidence_raw": {score: ...}}`` for what the predictions carry ({} for none)."""
    from reportx.extract.confidence import SCORES

    out: dict[str, Any] = {}
    pairs = confidence_pairs(scored)
    if pairs[0]:
        out["confidence"] = reliability(*pairs)
    raw = {}
    for score in SCORES:
        pairs = confidence_pairs(scored, score)
        if pairs[0]:
            raw[score] = reliability(*pairs)
    if raw:
        out["confidence_raw"] = raw
    return out
