"""The transformer body's bound on extraction throughput: what evaluating each report's tokens costs, with no output
head, no decoding logic and no Python between steps, by tokens per sequence per decode and by processes at once.

Each report's tokens are its prompt after the shared prefix and its gold answer in the quote form (the answer a
perfect fine-tuned model writes: the token count of a real run, without running the model's choices). The
default model's body (split head, embeddings out, no logits), ``--slots`` sequences of one KV stream each (as
batched extraction has them), ``K`` tokens of every sequence per ``llama_decode``: K = 1 is how an answer's chosen
tokens are evaluated (one per sequence per step, 16-token micro-batches), K = 8 or more is how a prompt is. Then
``--processes`` single-threaded processes at once, each on its share, as ``--workers`` runs them. Prints markdown
tables.

    python bench/body_bound.py --n 200 --split test --widths 1 2 4 8 16 --processes 2
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

from reportx.llamacpp import describe_build


def reports(split: str, n: int) -> list[dict]:
    rows = [json.loads(line) for line in Path(f"data/{split}.jsonl").read_text(encoding="utf-8").splitlines()]
    return rows[:n]


def evaluate(engine, prefix: list[int], work: list[list[int]], slots: int, width: int, threads: int) -> float:
    """Seconds to evaluate each of ``work``'s token lists after ``prefix`` (evaluated once, copied into each
    sequence, not timed), ``slots`` at a time, ``width`` tokens per sequence per ``llama_decode``, no logits."""
    stream = -(-(len(prefix) + max(len(w) for w in work) + 8) // 256) * 256
    context = engine.sequences(slots + 1, (slots + 1) * stream, threads)
    context.decode([(slots, 0, prefix)], logits=False)
    start = time.perf_counter()
    for group in range(0, len(work), slots):
        runs = work[group:group + slots]
        for seq in range(len(runs)):
            context.remove(seq)
            context.copy(slots, seq)
        for step in range(0, max(len(w) for w in runs), width):
            context.decode([(seq, len(prefix) + step, w[step:step + width]) for seq, w in enumerate(runs)
                            if w[step:step + width]], logits=False)
    wall = time.perf_counter() - start
    context.close()
    return wall


def measure(rows: list[dict], width: int, slots: int) -> dict:
    """Evaluate ``rows``' tokens (prompt after the prefix, gold quote answer) in one thread."""
    from reportx.extract import Extractor
    from reportx.extract.config import ExtractConfig

    extractor = Extractor(config=ExtractConfig.make(threads=1))
    prefix = extractor.prompt_tokens(rows[0]["input"])[:len(extractor._prefix_tokens)]
    work = [extractor.prompt_tokens(r["input"])[len(prefix):] + extractor.engine.tokenize(r.get("quotes", r["output"]))
            for r in rows]
    wall = evaluate(extractor.engine, prefix, work, slots, width, threads=1)
    return {"wall": wall, "tokens": sum(len(w) for w in work), "reports": len(rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200, help="reports (default 200)")
    parser.add_argument("--split", default="test", help="data/SPLIT.jsonl (default test)")
    parser.add_argument("--slots", type=int, default=16, help="sequences in flight (default 16, as --batch)")
    parser.add_argument("--widths", type=int, nargs="+", default=[1, 2, 4, 8, 16],
                        help="tokens per sequence per decode, one process on the first --width-n reports")
    parser.add_argument("--width-n", type=int, default=32, help="reports for the widths table (default 32)")
    parser.add_argument("--processes", type=int, default=2, help="processes at once at width 8 (default 2)")
    parser.add_argument("--child", nargs=3, metavar=("START", "STOP", "WIDTH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    rows = reports(args.split, args.n)
    if args.child:
        start, stop, width = map(int, args.child)
        print(json.dumps(measure(rows[start:stop], width, args.slots)))
        return

    def spawn(start: int, stop: int, width: int) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, __file__, "--n", str(args.n), "--split", args.split, "--slots",
                                 str(args.slots), "--child", str(start), str(stop), str(width)],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)

    def result(proc: subprocess.Popen) -> dict:
        out, _ = proc.communicate()
        if proc.returncode != 0:
            raise SystemExit(f"a measuring process failed (exit {proc.returncode})")
        return json.loads(out.strip().splitlines()[-1])

    print(f"- llama.cpp: {describe_build()}; one thread per process; {args.slots} sequences in flight")
    print(f"- {args.split} split: prompt after the shared prefix + gold quote answer\n")
    print(f"One process, first {min(args.width_n, len(rows))} reports:\n")
    print("| tokens per sequence per decode | tokens a report | ms per token | reports/s |\n|---|---|---|---|")
    for width in args.widths:
        r = result(spawn(0, min(args.width_n, len(rows)), width))
        print(f"| {width} | {r['tokens'] / r['reports']:.0f} | {1000 * r['wall'] / r['tokens']:.2f} | "
              f"{r['reports'] / r['wall']:.2f} |")
    n = len(rows)
    shares = [(p * n // args.processes, (p + 1) * n // args.processes) for p in range(args.processes)]
    start = time.perf_counter()
    procs = [spawn(a, b, 8) for a, b in shares]
    done = [result(p) for p in procs]
    wall = time.perf_counter() - start
    print(f"\n{args.processes} processes at once, width 8, {n} reports:\n")
    print("| process | reports | ms per token | reports/s |\n|---|---|---|---|")
    for p, r in enumerate(done):
        print(f"| {p + 1} | {r['reports']} | {1000 * r['wall'] / r['tokens']:.2f} | {r['reports'] / r['wall']:.2f} |")
    total = sum(r["reports"] / r["wall"] for r in done)
    print(f"| all (sum of rates) | {n} | - | **{total:.2f}** |")
    print(f"\n(wall clock of the slowest, model loading included: {wall:.1f} s)")


if __name__ == "__main__":
    main()
