"""What one ``llama_decode`` costs by shape: sequences x tokens each, and how many rows of logits (the output head).

The cost model behind batched extraction's scheduling (docs/extraction-speed.md): a fixed cost per call, a cost per
token through the transformer body, and a cost per row of logits. Default model and bundled adapter, a batch
context of 16 sequences each holding 200 tokens of a sample report; every shape is decoded at position 200 and
removed again, 8 times after a warm-up. Prints a markdown table.

    python bench/decode_cost.py [--threads 2]
"""

from __future__ import annotations

import argparse
import glob
import time

from reportx.llamacpp import LlamaModel, SequenceBatch, describe_build
from reportx.models import bundled_adapter, default_base_model

#: (sequences, tokens each, rows of logits)
SHAPES = [(1, 1, 0), (1, 1, 1), (1, 8, 0), (1, 8, 1), (1, 64, 0), (1, 64, 1), (2, 1, 2), (16, 1, 0), (16, 1, 16),
          (16, 4, 0), (16, 4, 16)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="llama.cpp threads (default 2)")
    parser.add_argument("--repeats", type=int, default=8)
    parser.add_argument("--model", help="a merged GGUF to price instead of the default model + bundled adapter")
    args = parser.parse_args()
    model = LlamaModel.load(args.model or default_base_model(), None if args.model else bundled_adapter(),
                            n_ctx=2048, n_threads=args.threads, verbose=False)
    sample = sorted(glob.glob("samples/reports/**/*.txt", recursive=True))[0]
    text = model.tokenize(open(sample, encoding="utf-8").read() * 8)[:600]
    batch = SequenceBatch(model, 16, 16 * 512, args.threads)
    batch.decode([(s, 0, text[s:s + 200]) for s in range(16)], logits=False)

    def milliseconds(sequences: int, tokens: int, rows: int) -> float:
        def decode() -> None:
            batch.decode([(s, 200, text[300:300 + tokens]) for s in range(sequences)],
                         logits=[s < rows for s in range(sequences)])
            for s in range(sequences):
                batch.remove(s, 200)

        decode()
        start = time.perf_counter()
        for _ in range(args.repeats):
            decode()
        return (time.perf_counter() - start) / args.repeats * 1000

    print(f"- llama.cpp: {describe_build()}; {args.threads} threads; model: {args.model or 'default + bundled adapter'}\n")
    print("| sequences x tokens | rows of logits | ms per decode | ms per token |\n|---|---|---|---|")
    for sequences, tokens, rows in SHAPES:
        ms = milliseconds(sequences, tokens, rows)
        print(f"| {sequences} x {tokens} | {rows} | {ms:.1f} | {ms / (sequences * tokens):.2f} |")
    batch.close()


if __name__ == "__main__":
    main()
