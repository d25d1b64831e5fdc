"""Presenting results: the markdown comparison table, the results JSON and the per-field accuracy chart."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}"


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def markdown_table(results: dict[str, dict[str, Any]]) -> str:
    """Systems side by side: headline metrics, then per-field accuracy."""
    head = (
        "| system | field acc % [95% CI] | schema-valid % | JSON parse % | all fields % | halluc. % | omission % "
        "| blocker F1 % | prompt tok | answer tok | p50 s | p95 s | reports/s |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    rows = []
    for name, s in results.items():
        low, high = s["field_accuracy_ci95"]
        rows.append(
            f"| {name} | **{_pct(s['field_accuracy'])}** [{_pct(low)}, {_pct(high)}] | {_pct(s['schema_valid_rate'])} "
            f"| {_pct(s['json_parse_rate'])} | {_pct(s['all_fields_correct_rate'])} | {_pct(s['hallucination_rate'])} "
            f"| {_pct(s['omission_rate'])} | {_pct(s['list_f1'])} | {_num(s.get('prompt_tokens_per_report'), 0)} "
            f"| {_num(s.get('completion_tokens_per_report'), 0)} | {_num(s.get('latency_p50_s'))} "
            f"| {_num(s.get('latency_p95_s'))} | {_num(s.get('reports_per_second'))} |"
        )
    fields = list(next(iter(results.values()))["per_field_accuracy"]) if results else []
    field_head = "| system | " + " | ".join(fields) + " |\n|---|" + "---|" * len(fields)
    field_rows = [
        f"| {name} | " + " | ".join(_pct(s["per_field_accuracy"][f]) for f in fields) + " |"
        for name, s in results.items()
    ]
    n = next(iter(results.values()))["reports"] if results else 0
    return "\n".join([f"{n} reports.", "", head, *rows, "", "Per-field accuracy (%):", "", field_head, *field_rows, "",
                      *confidence_table(results)])


def confidence_table(results: dict[str, dict[str, Any]]) -> list[str]:
    """Per system: ECE, AUROC and accuracy at 80 / 90 / 95% coverage of ``_meta.confidence`` (and of each raw
    score, for systems eval ran itself); no lines when no system carries confidences."""
    rows = []
    for name, s in results.items():
        variants = [("_meta.confidence", s.get("confidence"))]
        variants += [(f"raw {k}", v) for k, v in (s.get("confidence_raw") or {}).items()]
        for label, r in variants:
            if r:
                rows.append(f"| {name} | {label} | {_num(r['ece'], 3)} | {_num(r['auroc'], 3)} "
                            f"| {_pct(r['accuracy_at_80'])} | {_pct(r['accuracy_at_90'])} | {_pct(r['accuracy_at_95'])} |")
    if not rows:
        return []
    head = ("| system | confidence | ECE | AUROC | acc % at 80% | acc % at 90% | acc % at 95% |\n"
            "|---|---|---|---|---|---|---|")
    return ["Per-field confidence (ECE over 10 bins; accuracy answering only the most confident fields):", "",
            head, *rows, ""]


def write_results(path: Path, results: dict[str, dict[str, Any]], extra: dict[str, Any] | None = None) -> None:
    Path(path).write_text(
        json.dumps({**(extra or {}), "systems": results}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def write_chart(path: Path, results: dict[str, dict[str, Any]]) -> None:
    """A grouped bar chart of per-field accuracy per system (PNG, matplotlib with no display)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fields = list(next(iter(results.values()))["per_field_accuracy"])
    width = 0.8 / max(1, len(results))
    fig, ax = plt.subplots(figsize=(11, 4.5), dpi=110)
    for i, (name, summary) in enumerate(results.items()):
        xs = [j + i * width - 0.4 + width / 2 for j in range(len(fields))]
        label = f"{name} ({100 * summary['field_accuracy']:.1f}%)"
        ax.bar(xs, [100 * summary["per_field_accuracy"][f] for f in fields], width=width, label=label)
    ax.set_xticks(range(len(fields)))
    ax.set_xticklabels(fields, rotation=15, ha="right", fontsize=8)
    ax.set_ylabel("accuracy %")
    ax.set_ylim(0, 100)
    ax.set_title(f"Per-field accuracy, {next(iter(results.values()))['reports']} reports")
    ax.legend(fontsize=8, loc="lower left")
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
