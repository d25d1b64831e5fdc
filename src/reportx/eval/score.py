"""Scoring predictions made by anything (reportx or another tool) against labelled data.

Predictions are JSONL. Each line is matched to its gold report by, in order of preference:
- the sha256 of the report text (``_meta.sha256`` in ``reportx extract`` output and error records);
- an ``id`` equal to the gold line's ``id``;
- else the line order (then both files must hold the same number of lines).

A line's prediction is its ``output`` / ``record`` / ``prediction`` field when it has one (a JSON object or a
string holding one), else the line itself without ``_meta``. Error records (``"error"`` set, as ``reportx
extract --errors`` writes them) and gold reports with no prediction score as invalid.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from reportx.errors import ReportxError
from reportx.eval.metrics import ReportScore, field_kinds, score_report, summarise
from reportx.eval.reliability import confidence_summary
from reportx.labelled import LabelledReport, iter_json_objects, read_labelled
from reportx.schema import RecordInvalid, ReportSchema, load_schema


def text_key(text: str) -> str:
    """The identity of a report's text, as extraction records it."""
    from reportx.extract.inputs import text_sha256

    return text_sha256(text)


@dataclass
class Prediction:
    """What a system answered for one report: the raw answer and its provenance (cost figures)."""

    answer: Any  # a dict, a JSON string, or None when the system gave no answer
    meta: dict[str, Any]
    error: str | None = None
    scores: dict[str, dict[str, float]] | None = None  # reportx's raw confidence scores per field, when run here


@dataclass
class ScoredReport:
    gold: LabelledReport
    prediction: Prediction | None
    record: dict[str, Any] | None  # the validated prediction
    score: ReportScore
    invalid_reason: str | None


def _prediction_from_line(item: dict[str, Any]) -> Prediction:
    meta = item.get("_meta") or {}
    if item.get("error"):
        return Prediction(answer=item.get("raw_output"), meta={**item, **meta}, error=str(item["error"]))
    for key in ("output", "record", "prediction"):
        if key in item:
            return Prediction(answer=item[key], meta=meta)
    return Prediction(answer={k: v for k, v in item.items() if k != "_meta"}, meta=meta)


def read_predictions(paths: list[Path]) -> list[dict[str, Any]]:
    """All JSON lines of the prediction files (records and error records together)."""
    return [item for path in paths for _, item in iter_json_objects(Path(path), "predictions")]


def align(gold: list[LabelledReport], items: list[dict[str, Any]]) -> list[Prediction | None]:
    """The prediction for each gold report (None where there is none)."""
    by_sha: dict[str, dict[str, Any]] = {}
    by_id: dict[str, dict[str, Any]] = {}
    for item in items:
        meta = item.get("_meta") or {}
        sha = meta.get("sha256") or item.get("sha256")
        if sha:
            by_sha[sha] = item
        if item.get("id") is not None:
            by_id[str(item["id"])] = item
    if by_sha or by_id:
        aligned: list[Prediction | None] = []
        for report in gold:
            line = by_sha.get(text_key(report.text)) or by_id.get(report.id)
            aligned.append(_prediction_from_line(line) if line is not None else None)
        return aligned
    if len(items) != len(gold):
        raise ReportxError(
            f"predictions carry no sha256 or id, and their count ({len(items)}) differs from the gold's ({len(gold)})"
        )
    return [_prediction_from_line(item) for item in items]


def score_prediction(
    schema: ReportSchema, kinds: dict[str, str], gold: LabelledReport, prediction: Prediction | None
) -> ScoredReport:
    """Parse and validate one prediction with the schema, then score it field by field."""
    if prediction is None:
        reason = "no prediction"
        return ScoredReport(gold, None, None, score_report(kinds, gold.gold, None, parsed=False, valid=False), reason)
    answer = prediction.answer
    parsed = isinstance(answer, dict)
    if isinstance(answer, str):
        try:
            parsed = isinstance(json.loads(answer), dict)
        except json.JSONDecodeError:
            parsed = False
    if prediction.error is not None or answer is None:
        reason = prediction.error or "no answer"
        return ScoredReport(gold, prediction, None, score_report(kinds, gold.gold, None, parsed=parsed, valid=False), reason)
    try:
        record = schema.validate(answer)
    except RecordInvalid as exc:
        return ScoredReport(gold, prediction, None, score_report(kinds, gold.gold, None, parsed=parsed, valid=False), str(exc))
    return ScoredReport(gold, prediction, record, score_report(kinds, gold.gold, record, parsed=True, valid=True), None)


def score_all(
    schema: ReportSchema, gold: list[LabelledReport], predictions: Sequence[Prediction | None], *, seed: int = 0
) -> tuple[dict[str, Any], list[ScoredReport]]:
    """Score aligned predictions; returns the summary of BRIEF section 5 and the per-report scores."""
    kinds = field_kinds(schema.json_schema)
    scored = [score_prediction(schema, kinds, g, p) for g, p in zip(gold, predictions, strict=True)]
    costs = [p.meta for p in predictions if p is not None and p.meta.get("seconds") is not None]
    summary = summarise(kinds, [s.score for s in scored], costs, seed=seed)
    summary["missing_predictions"] = sum(p is None for p in predictions)
    summary.update(confidence_summary(scored))
    return summary, scored


def score_files(
    gold_path: Path, prediction_paths: list[Path], schema_spec: str | None = None, *, limit: int | None = None,
    notes: list[str] | None = None,
) -> tuple[dict[str, Any], list[ScoredReport]]:
    """``reportx score``: read gold and predictions, align, score.

    A prediction file that does not exist is skipped with a note in ``notes`` (``reportx extract`` creates its
    errors file only when a report fails) as long as one of them exists. Raises ``ReportxError`` when no
    prediction matches any gold report: predictions of another data set would otherwise score 0% quietly.
    """
    schema = load_schema(schema_spec)
    gold = read_labelled(gold_path, schema, limit=limit)
    present = [Path(p) for p in prediction_paths if Path(p).exists()]
    if not present:
        raise ReportxError(f"prediction file not found: {prediction_paths[0]}")
    for path in prediction_paths:
        if not Path(path).exists() and notes is not None:
            notes.append(f"{path} does not exist (no report failed?): skipped")
    items = read_predictions(present)
    aligned = align(gold, items)
    matched = sum(p is not None for p in aligned)
    if gold and not matched:
        raise ReportxError(
            f"none of the {len(items)} predictions matches any of the {len(gold)} gold reports (by text sha256 or "
            "id): are they for another data set?"
        )
    return score_all(schema, gold, aligned)


def field_errors(scored: list[ScoredReport], system: str | None = None) -> list[dict[str, Any]]:
    """One row per wrong field (or invalid report), for error analysis: field, gold, predicted, text."""
    rows = []
    for s in scored:
        base = {"system": system, "id": s.gold.id} if system else {"id": s.gold.id}
        if s.record is None:
            rows.append({**base, "field": None, "gold": s.gold.gold, "predicted": None,
                         "error": s.invalid_reason, "text": s.gold.text})
            continue
        for key, f in s.score.fields.items():
            if not f.correct:
                rows.append({**base, "field": key, "gold": s.gold.gold.get(key), "predicted": s.record.get(key),
                             "null_error": f.null_error, "text": s.gold.text})
    return rows
