"""The quality metrics of BRIEF section 5, per field and per report, for the built-in schema or any other.

Field kinds:
- exact fields (project_name, status, client, and any other string / enum field): equal after lower-casing and
  stripping accents, punctuation and extra whitespace;
- numbers (budget_used_eur and any other numeric field): |difference| < 0.5;
- text fields (key_milestone_completed, next_step): normalised indel similarity >= 0.7;
- lists of objects (blockers_today): the same multiset of normalised items; plus item precision / recall / F1
  with one-to-one matching.

Null handling: gold null and predicted null is correct; gold null and a predicted value is a *hallucination*;
gold value and predicted null is an *omission*. For lists, [] counts as null. The hallucination rate is
hallucinations over gold-null slots, the omission rate omissions over gold-value slots, both on schema-valid
predictions. A prediction that failed to parse or validate scores every field as wrong.

The indel similarity is computed here (a longest-common-subsequence table on strings of a few dozen characters)
rather than with a string-distance package: it is ten lines, exactly the brief's definition, and saves the
base install a compiled dependency.
"""

from __future__ import annotations

import random
import re
import statistics
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

TEXT_THRESHOLD = 0.7
NUMBER_TOLERANCE = 0.5

#: Fields scored by similarity in the built-in schema; other schemas name theirs (see ``field_kinds``).
BUILTIN_TEXT_FIELDS = ("key_milestone_completed", "next_step")


def normalise(text: Any) -> str:
    """Lower-case, strip accents and punctuation, collapse whitespace: "  ACME Corp. " -> "acme corp"."""
    decomposed = unicodedata.normalize("NFKD", str(text))
    no_marks = "".join(c for c in decomposed if not unicodedata.combining(c))
    no_punct = re.sub(r"[^\w\s]|_", " ", no_marks.lower())
    return " ".join(no_punct.split())


def indel_similarity(a: str, b: str) -> float:
    """1 - indel distance / total length, on normalised strings (1.0 for two empty strings)."""
    a, b = normalise(a), normalise(b)
    if not a and not b:
        return 1.0
    previous = [0] * (len(b) + 1)
    for ca in a:
        current = [0]
        for j, cb in enumerate(b, 1):
            current.append(previous[j - 1] + 1 if ca == cb else max(previous[j], current[j - 1]))
        previous = current
    lcs = previous[-1]
    return 2 * lcs / (len(a) + len(b))


def _is_null(value: Any) -> bool:
    return value is None or value == [] or value == ""


def _item_key(item: Any) -> Any:
    if isinstance(item, dict):
        return tuple(sorted((k, _value_key(v)) for k, v in item.items()))
    return _value_key(item)


def _value_key(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return round(float(value), 2)
    if isinstance(value, str):
        try:
            return round(float(value), 2)  # "4500" and 4500.0 are the same figure
        except ValueError:
            return normalise(value)
    if isinstance(value, list):
        return tuple(sorted((_item_key(v) for v in value), key=repr))
    if isinstance(value, dict):
        return _item_key(value)
    return value


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def field_kinds(json_schema: dict[str, Any], text_fields: tuple[str, ...] = BUILTIN_TEXT_FIELDS) -> dict[str, str]:
    """Each top-level key's kind: "text", "number", "list" or "exact"."""
    kinds = {}
    for key, spec in json_schema.get("properties", {}).items():
        types = set()
        for option in spec.get("anyOf", [spec]):
            t = option.get("type")
            types.update(t if isinstance(t, list) else [t])
        if key in text_fields:
            kinds[key] = "text"
        elif types & {"number", "integer"}:
            kinds[key] = "number"
        elif "array" in types:
            kinds[key] = "list"
        else:
            kinds[key] = "exact"
    return kinds


@dataclass
class FieldScore:
    correct: bool
    gold_null: bool = False
    similarity: float | None = None  # text fields only
    null_error: str | None = None  # "hallucination" | "omission"
    matched: int = 0  # lists: one-to-one matched items
    gold_items: int = 0
    predicted_items: int = 0


def score_field(kind: str, gold: Any, predicted: Any) -> FieldScore:
    """Score one field of one report."""
    gold_null, pred_null = _is_null(gold), _is_null(predicted)
    null_error = "hallucination" if gold_null and not pred_null else "omission" if pred_null and not gold_null else None
    if kind == "list":
        gold_items = Counter(_item_key(i) for i in (gold or []))
        pred_items = Counter(_item_key(i) for i in (predicted or []))
        matched = sum((gold_items & pred_items).values())
        return FieldScore(
            correct=gold_items == pred_items,
            gold_null=gold_null,
            null_error=null_error,
            matched=matched,
            gold_items=sum(gold_items.values()),
            predicted_items=sum(pred_items.values()),
        )
    if gold_null or pred_null:
        similarity = (1.0 if gold_null and pred_null else 0.0) if kind == "text" else None
        return FieldScore(correct=gold_null and pred_null, gold_null=gold_null, similarity=similarity, null_error=null_error)
    if kind == "number":
        g, p = _as_number(gold), _as_number(predicted)
        return FieldScore(correct=g is not None and p is not None and abs(g - p) < NUMBER_TOLERANCE)
    if kind == "text":
        similarity = indel_similarity(str(gold), str(predicted))
        return FieldScore(correct=similarity >= TEXT_THRESHOLD, similarity=similarity)
    return FieldScore(correct=_value_key(gold) == _value_key(predicted))


@dataclass
class ReportScore:
    """One report: parsed / valid flags and each field's score (empty when the prediction was not valid)."""

    parsed: bool
    valid: bool
    fields: dict[str, FieldScore] = field(default_factory=dict)

    def field_accuracy(self, keys: list[str]) -> float:
        return sum(self.fields[k].correct for k in keys if k in self.fields) / len(keys)


def score_report(
    kinds: dict[str, str], gold: dict[str, Any], predicted: dict[str, Any] | None, *, parsed: bool, valid: bool
) -> ReportScore:
    """Score one prediction against its gold record; an invalid prediction scores every field wrong."""
    if not valid or predicted is None:
        # Every field wrong; the gold's list items count as missed, so an invalid answer lowers blocker recall.
        fields = {k: FieldScore(correct=False, gold_items=len(gold.get(k) or []) if kind == "list" else 0)
                  for k, kind in kinds.items()}
        return ReportScore(parsed=parsed, valid=False, fields=fields)
    return ReportScore(
        parsed=True, valid=True, fields={k: score_field(kind, gold.get(k), predicted.get(k)) for k, kind in kinds.items()}
    )


def bootstrap_interval(values: list[float], *, resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95% percentile bootstrap interval of the mean of ``values`` (resampling reports)."""
    if not values:
        return (0.0, 0.0)
    rng = random.Random(seed)
    n = len(values)
    means = sorted(sum(values[rng.randrange(n)] for _ in range(n)) / n for _ in range(resamples))
    return (means[int(0.025 * resamples)], means[int(0.975 * resamples) - 1])


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    return statistics.quantiles(ordered, n=100, method="inclusive")[int(q) - 1]


def summarise(
    kinds: dict[str, str], scores: list[ReportScore], costs: list[dict[str, Any]] | None = None, *, seed: int = 0
) -> dict[str, Any]:
    """Aggregate report scores into the metrics of BRIEF section 5."""
    keys = list(kinds)
    n = len(scores)
    if n == 0:
        raise ValueError("no reports to score")
    per_report = [s.field_accuracy(keys) for s in scores]
    valid = [s for s in scores if s.valid]
    per_field = {k: sum(s.fields[k].correct for s in scores) / n for k in keys}
    gold_null_slots = sum(1 for s in valid for k in keys if s.fields[k].gold_null)
    hallucinations = sum(1 for s in valid for k in keys if s.fields[k].null_error == "hallucination")
    gold_value_slots = sum(1 for s in valid for k in keys if not s.fields[k].gold_null)
    omissions = sum(1 for s in valid for k in keys if s.fields[k].null_error == "omission")
    text_sims = {k: [sim for s in valid if (sim := s.fields[k].similarity) is not None]
                 for k in keys if kinds[k] == "text"}
    list_keys = [k for k in keys if kinds[k] == "list"]
    matched = sum(s.fields[k].matched for s in scores for k in list_keys)
    gold_items = sum(s.fields[k].gold_items for s in scores for k in list_keys)
    pred_items = sum(s.fields[k].predicted_items for s in scores for k in list_keys)
    precision = matched / pred_items if pred_items else (1.0 if gold_items == 0 else 0.0)
    recall = matched / gold_items if gold_items else 1.0
    low, high = bootstrap_interval(per_report, seed=seed)
    summary: dict[str, Any] = {
        "reports": n,
        "field_accuracy": sum(per_report) / n,
        "field_accuracy_ci95": [low, high],
        "per_field_accuracy": per_field,
        "text_similarity_mean": {k: (sum(v) / len(v) if v else None) for k, v in text_sims.items()},
        "hallucination_rate": hallucinations / gold_null_slots if gold_null_slots else 0.0,
        "omission_rate": omissions / gold_value_slots if gold_value_slots else 0.0,
        "hallucinations": hallucinations,
        "omissions": omissions,
        "list_precision": precision,
        "list_recall": recall,
        "list_f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "json_parse_rate": sum(s.parsed for s in scores) / n,
        "schema_valid_rate": len(valid) / n,
        "all_fields_correct_rate": sum(1 for a in per_report if a == 1.0) / n,
    }
    summary.update(summarise_costs(costs or []))
    return summary


def summarise_costs(costs: list[dict[str, Any]]) -> dict[str, Any]:
    """Tokens per report, latency p50 / p95 and reports per second, from extraction provenance. Reports per second
    is n / the sum of latencies, right for reports extracted one at a time (``reportx eval`` replaces it with n /
    its measured wall time, as batched reports overlap)."""
    seconds = [c["seconds"] for c in costs if c.get("seconds") is not None]
    if not seconds:
        return {}
    prompt = [c.get("prompt_tokens") or 0 for c in costs]
    completion = [c.get("completion_tokens") or 0 for c in costs]
    return {
        "prompt_tokens_per_report": sum(prompt) / len(costs),
        "completion_tokens_per_report": sum(completion) / len(costs),
        "latency_p50_s": _percentile(seconds, 50),
        "latency_p95_s": _percentile(seconds, 95),
        "reports_per_second": len(seconds) / sum(seconds) if sum(seconds) else None,
    }
