"""Per-field confidence: how sure the model was of each top-level value it wrote, from its own probabilities.

Every token the model chose carries its probability under the model's *whole* distribution, taken before the
constraint masks any token (``Generation.chosen``): a mask renormalises over the allowed tokens and would make
every choice look certain, while the unmasked probability of a token the constraint forced the model into (its
favourite was not allowed) is low, as it should be. A field's raw scores come from the tokens that overlap its
value's bytes in the answer (a quote, a number, ``null``, a blocker list):

* ``joint``: the product of their probabilities, the probability of that whole value against every other value
  the model could have written (``null`` included);
* ``minimum``: the least of them (the weakest step);
* ``first``: the first one (the choice between null, a quote and its first word).

A field whose tokens were all forced scores 1. Raw scores are not probabilities of being right; a
:class:`ConfidenceCalibration` fitted on the validation split (``reportx export RUN --calibrate``, written beside
the adapter) maps the kept score to one, per field.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from json.decoder import scanstring  # type: ignore[attr-defined]
from pathlib import Path
from typing import Any

from reportx.errors import ReportxError
from reportx.eval.calibration import Calibrator
from reportx.extract.engine import ChosenToken

#: The raw scores computed for every field, and the one records carry (see the module docstring).
SCORES = ("joint", "minimum", "first")
DEFAULT_SCORE = "joint"
#: The calibration file beside an adapter: ``adapter.gguf`` -> ``adapter.calibration.json``.
CALIBRATION_SUFFIX = ".calibration.json"
_FORMAT = "reportx-confidence"


def value_spans(answer: str) -> dict[str, tuple[int, int]]:
    """The byte range, in ``answer``'s UTF-8, of each top-level value of the JSON object it starts with
    (leading whitespace allowed); {} when it is no JSON object. Numbers may be written with digit groups
    ("12.300,50"), as the constrained decoder allows and the parser reads: a comma followed by a digit is part
    of the number, since a key never starts with one."""
    at = len(answer) - len(answer.lstrip())
    if not answer.startswith("{", at):
        return {}
    spans: dict[str, tuple[int, int]] = {}
    i = _skip(answer, at + 1)
    try:
        while i < len(answer) and answer[i] == '"':
            key, i = scanstring(answer, i + 1)
            i = _skip(answer, _skip(answer, i) + 1)  # past the ':'
            end = _value_end(answer, i)
            spans[key] = (len(answer[:i].encode("utf-8")), len(answer[:end].encode("utf-8")))
            i = _skip(answer, end)
            i = _skip(answer, i + 1) if answer.startswith(",", i) else i
    except (json.JSONDecodeError, IndexError):
        pass  # an answer cut short: the values read so far
    return spans


def _value_end(text: str, i: int) -> int:
    """Where the JSON value starting at ``i`` ends (IndexError / JSONDecodeError when it does not)."""
    if text[i] == '"':
        return scanstring(text, i + 1)[1]
    if text[i] in "[{":
        depth = 0
        while True:
            char = text[i]
            if char == '"':
                i = scanstring(text, i + 1)[1]
                continue
            depth += char in "[{"
            depth -= char in "]}"
            i += 1
            if depth == 0:
                return i
    j = i
    while j < len(text) and (text[j] not in ",}] \t\r\n" or (text[j] == "," and text[j + 1:j + 2].isdigit())):
        j += 1
    if j == i:
        raise IndexError(i)
    return j


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in " \t\r\n":
        i += 1
    return i


def field_scores(answer: str, chosen: Sequence[ChosenToken]) -> dict[str, dict[str, float]]:
    """Each top-level field's raw scores (``SCORES``) from the chosen tokens overlapping its value."""
    out: dict[str, dict[str, float]] = {}
    for key, (start, end) in value_spans(answer).items():
        probs = [t.probability for t in chosen if t.start < end and t.end > start]
        out[key] = {
            "joint": math.prod(probs) if probs else 1.0,
            "minimum": min(probs) if probs else 1.0,
            "first": probs[0] if probs else 1.0,
        }
    return out


@dataclass(frozen=True)
class ConfidenceCalibration:
    """One calibrator per field for one raw score, fitted on labelled reports: raw score -> P(field right)."""

    score: str
    fields: dict[str, Calibrator]

    def apply(self, scores: dict[str, dict[str, float]]) -> dict[str, float]:
        """Calibrated confidence per field (a field without a calibrator keeps its raw score)."""
        out = {}
        for key, raw in scores.items():
            calibrator = self.fields.get(key)
            out[key] = round(calibrator.apply(raw[self.score]) if calibrator else raw[self.score], 4)
        return out

    def to_json(self) -> dict[str, Any]:
        return {"format": _FORMAT, "version": 1, "score": self.score,
                "fields": {k: c.to_json() for k, c in self.fields.items()}}

    @classmethod
    def from_json(cls, data: Any) -> ConfidenceCalibration:
        if not isinstance(data, dict) or data.get("format") != _FORMAT or data.get("version") != 1:
            raise ValueError(f"not a reportx confidence calibration (format {_FORMAT!r}, version 1)")
        score = data.get("score")
        if score not in SCORES or not isinstance(data.get("fields"), dict):
            raise ValueError(f"calibration score must be one of {', '.join(SCORES)}, with a 'fields' object")
        return cls(score, {str(k): Calibrator.from_json(v) for k, v in data["fields"].items()})

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_json(), indent=1) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> ConfidenceCalibration:
        try:
            return cls.from_json(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError, ValueError) as exc:
            raise ValueError(f"{path}: {exc}") from None


def field_confidence(scores: dict[str, dict[str, float]],
                     calibration: ConfidenceCalibration | None) -> dict[str, float]:
    """What records carry as ``_meta.confidence``: the calibrated probability per field, or without a calibration
    the raw ``DEFAULT_SCORE``."""
    if calibration is not None:
        return calibration.apply(scores)
    return {key: round(raw[DEFAULT_SCORE], 4) for key, raw in scores.items()}


def calibration_path(adapter: Path) -> Path:
    """Where an adapter's calibration lives: beside it, ``NAME.calibration.json`` for ``NAME.gguf``."""
    return adapter.with_name(adapter.stem + CALIBRATION_SUFFIX)


def load_calibration(model_file: Path | None) -> ConfidenceCalibration | None:
    """The calibration beside an adapter (or merged model) file, or None when there is none. A file that is
    there but unreadable is an error (ReportxError): a silent fallback would hand out uncalibrated numbers."""
    if model_file is None:
        return None
    path = calibration_path(Path(model_file))
    if not path.is_file():
        return None
    try:
        return ConfidenceCalibration.load(path)
    except ValueError as exc:
        raise ReportxError(str(exc)) from None


def fit_calibration(scores: list[dict[str, dict[str, float]]], right: list[dict[str, bool]],
                    score: str = DEFAULT_SCORE, method: str = "isotonic") -> ConfidenceCalibration:
    """Fit one calibrator per field on labelled reports: their raw scores and which fields were right.
    ``method``: one of :data:`reportx.eval.calibration.FITTERS`, isotonic regression (a step function) or Platt
    scaling (a sigmoid of the score's logit)."""
    from reportx.eval.calibration import FITTERS

    if method not in FITTERS:
        raise ValueError(f"calibration method must be one of {', '.join(FITTERS)}, got {method!r}")
    fitter = FITTERS[method]
    fields: dict[str, Calibrator] = {}
    keys = sorted({k for s in scores for k in s})
    for key in keys:
        pairs = [(s[key][score], r[key]) for s, r in zip(scores, right, strict=True) if key in s and key in r]
        if pairs:
            fields[key] = fitter([p for p, _ in pairs], [ok for _, ok in pairs])
    return ConfidenceCalibration(score, fields)
