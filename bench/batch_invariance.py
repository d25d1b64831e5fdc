"""Batch invariance of the llama.cpp build and settings in use, and what they cost in speed.

Prints two markdown tables for the default model and the bundled adapter, one llama.cpp thread:
- the largest difference of any logit between a token decoded in one run with the tokens before it and the same
  token decoded in other batch shapes (the run split before its last token or its last 9, one token at a time, and
  beside other sequences' tokens in a multi-sequence batch): 0 everywhere means batch-invariant;
- milliseconds for a 128-token prompt, one token, and one step of 16 sequences x 1 token.

Run it once per build or setting to compare, e.g. ``REPORTX_LLAMA_REPACK=1 GGML_CPU_TILED_MM=1 python
bench/batch_invariance.py`` for llama.cpp's own defaults (see reportx.llamacpp).
"""

from __future__ import annotations

import glob
import time
from collections.abc import Callable

import numpy as np

from reportx.llamacpp import LlamaModel, SequenceBatch, describe_build
from reportx.models import bundled_adapter, default_base_model


def milliseconds(step: Callable[[], object], repeats: int) -> float:
    step()  # warm
    start = time.perf_counter()
    for _ in range(repeats):
        step()
    return (time.perf_counter() - start) / repeats * 1000


def main() -> None:
    model = LlamaModel.load(default_base_model(), bundled_adapter(), n_ctx=2048, n_threads=1, verbose=False)
    files = sorted(glob.glob("samples/reports/**/*.txt", recursive=True))
    texts = [model.tokenize(open(f, encoding="utf-8").read() * 6, bos=True)[:400] for f in files[:4]]
    text, prompt = texts[0], 101

    def logits_after(runs: list[list[int]]) -> np.ndarray:
        model.reset()
        for run in runs:
            model.decode(run)
        return model.logits().copy()

    reference = logits_after([text[:prompt]])

    def beside(streams: int) -> np.ndarray:
        batch = SequenceBatch(model, streams, streams * 512, 1)
        try:
            batch.decode([(s, 0, texts[s][:prompt - 1 + 7 * s]) for s in range(streams)], logits=False)
            rows = batch.decode([(0, prompt - 1, text[prompt - 1:prompt])]
                                + [(s, prompt - 1 + 7 * s, texts[s][200:200 + s]) for s in range(1, streams)])
        finally:
            batch.close()
        return rows[0]

    shapes = {
        "last token alone": lambda: logits_after([text[:prompt - 1], text[prompt - 1:prompt]]),
        "last 9 tokens as a run": lambda: logits_after([text[:prompt - 9], text[prompt - 9:prompt]]),
        "one token at a time": lambda: logits_after([[t] for t in text[:prompt]]),
        "beside 1 other sequence": lambda: beside(2),
        "beside 3 other sequences": lambda: beside(4),
    }
    print(f"## llama.cpp batch invariance\n\n- build: {describe_build()}\n")
    print("| the token's last decode | max abs logit difference from one run |\n|---|---|")
    for name, run in shapes.items():
        print(f"| {name} | {float(np.abs(run() - reference).max()):.3g} |")

    def prompt_128() -> None:
        model.reset()
        model.decode(text[:128])

    prompt_ms = milliseconds(prompt_128, 3)

    def one_token() -> None:
        model.keep(128)
        model.decode([text[128]])

    token_ms = milliseconds(one_token, 20)
    batch = SequenceBatch(model, 16, 16 * 256, 1)
    batch.decode([(s, 0, text[s:s + 100]) for s in range(16)], logits=False)

    def step() -> None:
        batch.decode([(s, 100, [text[200 + s]]) for s in range(16)])
        for s in range(16):
            batch.remove(s, 100)

    step_ms = milliseconds(step, 10)
    batch.close()
    print("\n| 128-token prompt | 1 token | 16 sequences x 1 token |\n|---|---|---|")
    print(f"| {prompt_ms:.0f} ms | {token_ms:.1f} ms | {step_ms:.0f} ms |")


if __name__ == "__main__":
    main()
