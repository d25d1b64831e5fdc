"""What the split output head (``reportx.extract.head``) leaves out: extraction with the whole head (``--full-head``),
and at every token the model chose, whether the split head would have had it among its candidates, and how much of
the model's probability lay on tokens that are not candidates (the mass a split head's confidence leaves out of its
normaliser).

A sequence's candidates here are those of its whole prompt, its answer's tokens so far and JSON's own
(``OutputHead.candidates``); the split head computes them per evaluated run (the shared prefix, the report, each
answer step), which can only leave out a token spanning two runs.

    python bench/split_head.py --n 100                  # val split, constrained and free decoding
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np


def measure(rows: list[dict], constrained: bool, threads: int) -> dict:
    from reportx.extract import Extractor
    from reportx.extract import engine as engine_module
    from reportx.extract.config import ExtractConfig
    from reportx.extract.constrain import decoder as decoder_module
    from reportx.extract.head import OutputHead
    from reportx.schema.quotes import answer_schema

    extractor = Extractor(config=ExtractConfig.make(threads=threads, batch=1, constrained=constrained,
                                                    full_head=True))
    engine = extractor.engine
    head = OutputHead(engine.model_path, [engine.piece(t) for t in range(engine.n_vocab)],
                      engine.model.end_of_generation())
    decoded = answer_schema(extractor.schema) if extractor.answer == "quotes" else extractor.schema.json_schema
    head.allow(json.dumps(decoded, ensure_ascii=False))  # as the Extractor does on a split head
    state: dict = {"ids": set()}
    chosen_outside, left_out = [], []
    original = engine_module.token_probability

    def probability(logits: np.ndarray, token: int) -> float:
        ids = state["ids"]
        chosen_outside.append(token not in ids)
        top = logits.max()
        weights = np.exp((logits - top).astype(np.float64))
        inside = np.fromiter(ids, dtype=np.int64, count=len(ids))
        left_out.append(1.0 - weights[inside].sum() / weights.sum())
        ids |= head.candidates([token])
        return original(logits, token)

    prompt_tokens = extractor.prompt_tokens

    def prompt(text: str) -> list[int]:
        tokens = prompt_tokens(text)
        state["ids"] = set(head._always) | head.candidates(tokens)
        return tokens

    extractor.prompt_tokens = prompt  # type: ignore[method-assign]
    engine_module.token_probability = decoder_module.token_probability = probability  # type: ignore[assignment]
    try:
        for row in rows:
            extractor.extract(row["input"])
    finally:
        engine_module.token_probability = decoder_module.token_probability = original  # type: ignore[assignment]
    mass = np.array(left_out)
    return {"steps": len(mass), "outside": int(sum(chosen_outside)), "quantiles": np.quantile(mass, [0.5, 0.9, 0.99, 1.0]).tolist(),
            "over_1pct": float((mass > 0.01).mean())}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="data/val.jsonl", help="labelled JSONL (default data/val.jsonl)")
    ap.add_argument("--n", type=int, default=100, help="reports (default 100)")
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    rows = [json.loads(line) for line in Path(args.data).read_text(encoding="utf-8").splitlines()[: args.n]]
    sys.path.insert(0, str(Path(__file__).parent))
    from extract_speed import cpu_model

    print(f"## What the split head leaves out ({len(rows)} reports of {args.data}; {cpu_model()})\n")
    print("| decoding | chosen tokens | chosen outside the candidates | left-out mass: median | p90 | p99 | max "
          "| steps with > 1% left out |")
    print("|---|---|---|---|---|---|---|---|")
    for constrained in (True, False):
        r = measure(rows, constrained, args.threads)
        q = r["quantiles"]
        print(f"| {'constrained' if constrained else 'free'} | {r['steps']} | {r['outside']} | {q[0]:.1e} | {q[1]:.1e} "
              f"| {q[2]:.1e} | {q[3]:.2f} | {100 * r['over_1pct']:.1f}% |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
