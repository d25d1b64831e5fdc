"""The run card: what a training run used and produced, as JSON (for tools) and markdown (for people)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _markdown(card: dict[str, Any]) -> str:
    base, data, result = card["base_model"], card["data"], card["result"]
    losses = result["train_loss"]
    lines = [
        "# reportx run card",
        "",
        "| | |",
        "|---|---|",
        f"| base model | `{base['source']}` ({base['kind']}, {base['architecture']}) |",
        f"| base sha256 | `{base['sha256']}` |",
        f"| backend | {card['backend']['name']}: {card['backend']['reason']}"
        + ("; output head's backward in bfloat16 (AMX)" if card["backend"].get("bf16_head_backward") else "") + " |",
        f"| device | {card['environment']['device']}, {card['environment']['threads']} threads |",
        f"| train data | `{data['train_file']}` ({data['train_examples']} examples, {data['skipped_too_long']} skipped as too long) |",
        f"| val data | `{data['val_file']}` ({data['eval_examples']} examples for eval loss) |",
        f"| seed | {data['seed']} |",
        f"| optimizer steps | {result['optimizer_steps']} ({result['epochs']:.2f} epochs) |",
        f"| wall time | {result['wall_seconds'] / 60:.1f} min |",
        f"| first / last train loss | {losses[0]['loss']:.4f} / {losses[-1]['loss']:.4f} |" if losses else "| train loss | - |",
        f"| final eval loss | {result['final_eval_loss']:.4f} |" if result["final_eval_loss"] is not None else "| final eval loss | - |",
    ]
    for name, value in card.get("metrics", {}).items():
        lines.append(f"| {name} | {value} |")
    lines += ["", "## Config", "", "```yaml"]
    lines += [f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in card["config"].items()]
    lines += ["```", ""]
    if result["eval_loss"]:
        lines += ["## Eval loss", "", "| step | loss |", "|---|---|"]
        lines += [f"| {e['step']} | {e['loss']:.4f} |" for e in result["eval_loss"]]
        lines.append("")
    return "\n".join(lines)


def write_run_card(run_dir: Path, card: dict[str, Any]) -> None:
    """Write ``run_card.json`` and ``run_card.md`` into ``run_dir``."""
    run_dir = Path(run_dir)
    (run_dir / "run_card.json").write_text(json.dumps(card, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (run_dir / "run_card.md").write_text(_markdown(card), encoding="utf-8")
